"""Cyber crime prevention volunteers (サイバー防犯ボランティア, the circular of seed 000):
groups and the police division in charge of each (担当所属), their members, the
activities a group records and who took part, and the training courses members complete.

Personal data of members (name, contact, school or employer) is visible to the group's
leader, the division in charge (its liaison officers), the committee and the secretariat
only (app/volunteers/access.py). No date of birth and no staff number is kept: a member
under 18 is marked as such, and takes part only once a guardian's consent is on record."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .people import Affiliation, User

GROUP_KINDS = {"university": "大学", "high_school": "高校", "citizens": "市民", "company": "企業"}
# 教育活動, 広報啓発活動, サイバーパトロール (circular 1).
ACTIVITY_KINDS = {"education": "教育活動", "awareness": "広報啓発活動", "patrol": "サイバーパトロール"}


def _in(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class VolunteerGroup(db.Model):
    """A volunteer group (団体) and the police division in charge of it (担当所属): the
    division's officers with the liaison role are its liaisons."""
    __tablename__ = "volunteer_groups"
    __table_args__ = (CheckConstraint(_in("kind", GROUP_KINDS), name="kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    division_id: Mapped[int] = mapped_column(ForeignKey("affiliations.id"), index=True)
    purpose: Mapped[str] = mapped_column(Text, default="", server_default="")   # 活動目的
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    division: Mapped[Affiliation] = relationship()
    members: Mapped[list["Member"]] = relationship(back_populates="group", order_by="Member.id")

    @property
    def kind_name(self) -> str:
        return GROUP_KINDS.get(self.kind, self.kind)


class Member(db.Model):
    """A member of a group (参加者): what the police need to know and no more."""
    __tablename__ = "volunteer_members"
    __table_args__ = (
        # A consent on record names the guardian who gave it.
        CheckConstraint("guardian_consent_on IS NULL OR guardian_name IS NOT NULL", name="consent"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("volunteer_groups.id"), index=True)
    # The member's sign-in account, once they accepted the liaison's invitation.
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    name_kana: Mapped[str] = mapped_column(String(128), default="", server_default="")
    email: Mapped[Optional[str]] = mapped_column(String(254))
    phone: Mapped[Optional[str]] = mapped_column(String(32))
    organisation: Mapped[str] = mapped_column(String(128), default="", server_default="")  # 学校・勤務先
    strengths: Mapped[str] = mapped_column(Text, default="", server_default="")            # 得意分野
    joined_on: Mapped[date] = mapped_column(Date)
    is_leader: Mapped[bool] = mapped_column(default=False)       # 団体の代表者
    minor: Mapped[bool] = mapped_column(default=False)           # 18歳未満
    guardian_name: Mapped[Optional[str]] = mapped_column(String(64))
    guardian_consent_on: Mapped[Optional[date]] = mapped_column(Date)
    consent_recorded_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    # Consent to being named on the public honours page (賞揚の公表).
    publish_consent: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    left_on: Mapped[Optional[date]] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    group: Mapped[VolunteerGroup] = relationship(back_populates="members")
    user: Mapped[Optional[User]] = relationship(foreign_keys=[user_id],
                                                backref=db.backref("volunteer", uselist=False))

    @property
    def may_take_part(self) -> bool:
        """An active member, and, under 18, with a guardian's consent on record."""
        return self.active and (not self.minor or self.guardian_consent_on is not None)


class Activity(db.Model):
    """An activity the group carried out (活動実績), as the group or its liaison records it."""
    __tablename__ = "volunteer_activities"
    __table_args__ = (CheckConstraint(_in("kind", ACTIVITY_KINDS), name="kind"),
                      CheckConstraint("minutes > 0", name="minutes"),
                      CheckConstraint("participants >= 0", name="participants"),
                      Index("ix_volunteer_activities_group_held", "group_id", "held_on"))
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("volunteer_groups.id"))
    kind: Mapped[str] = mapped_column(String(16))
    held_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(128), default="", server_default="")
    audience: Mapped[str] = mapped_column(String(128), default="", server_default="")  # 対象
    participants: Mapped[int] = mapped_column(default=0)       # people reached (参加者数)
    minutes: Mapped[int]                                       # length of the activity
    summary: Mapped[str] = mapped_column(Text, default="", server_default="")
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # 好事例: marked by a liaison, shown to every group.
    good_practice: Mapped[bool] = mapped_column(default=False)
    good_practice_note: Mapped[Optional[str]] = mapped_column(Text)
    good_practice_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    good_practice_at: Mapped[Optional[datetime]]
    group: Mapped[VolunteerGroup] = relationship()
    members: Mapped[list["ActivityMember"]] = relationship(back_populates="activity",
                                                           cascade="all, delete-orphan")

    @property
    def kind_name(self) -> str:
        return ACTIVITY_KINDS.get(self.kind, self.kind)


class ActivityMember(db.Model):
    """A member's part in an activity and its time: what an activity certificate counts."""
    __tablename__ = "volunteer_activity_members"
    __table_args__ = (UniqueConstraint("activity_id", "member_id"),
                      CheckConstraint("minutes > 0", name="minutes"))
    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("volunteer_activities.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("volunteer_members.id"), index=True)
    minutes: Mapped[int]
    activity: Mapped[Activity] = relationship(back_populates="members")
    member: Mapped[Member] = relationship()


class CourseCompletion(db.Model):
    """A training course completed by a member (専門性向上, 3(2)): the date, the score of the
    passing attempt and the hours the course credits, as minutes."""
    __tablename__ = "volunteer_completions"
    __table_args__ = (UniqueConstraint("member_id", "course_key"),
                      CheckConstraint("minutes >= 0", name="minutes"),
                      CheckConstraint("score >= 0 AND score <= total", name="score"))
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("volunteer_members.id"), index=True)
    course_key: Mapped[str] = mapped_column(String(64))
    course_title: Mapped[str] = mapped_column(String(128))
    completed_at: Mapped[datetime] = mapped_column(default=utcnow)
    score: Mapped[int]
    total: Mapped[int]
    minutes: Mapped[int]
    bank_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    member: Mapped[Member] = relationship()
