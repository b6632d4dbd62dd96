"""What a volunteer group asks of the police and what the police give back: requests
(要望, circular 2(1)) with the division's answer, and commendations (賞揚, 3(1)) of a
member or of a whole group."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .people import User
from .volunteers import Member, VolunteerGroup, _in

# 感謝状, 表彰状 and the like: what the awarding officer gave.
COMMENDATION_KINDS = {"thanks": "感謝状", "award": "表彰状", "letter": "賞詞", "other": "その他"}


class VolunteerRequest(db.Model):
    """A request from a group to the police (要望) and the division's answer."""
    __tablename__ = "volunteer_requests"
    __table_args__ = (
        # An answer names who gave it and when.
        CheckConstraint("answer IS NULL OR (answered_by IS NOT NULL AND answered_at IS NOT NULL)",
                        name="answer"),
        Index("ix_volunteer_requests_group_filed", "group_id", "filed_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("volunteer_groups.id"))
    subject: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    filed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    answer: Mapped[Optional[str]] = mapped_column(Text)
    answered_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[Optional[datetime]]
    group: Mapped[VolunteerGroup] = relationship()
    filer: Mapped[User] = relationship(foreign_keys=[filed_by])
    answerer: Mapped[Optional[User]] = relationship(foreign_keys=[answered_by])

    @property
    def answered(self) -> bool:
        return self.answer is not None


class Commendation(db.Model):
    """A commendation (賞揚) of a member, or of the group itself when no member is named."""
    __tablename__ = "volunteer_commendations"
    __table_args__ = (CheckConstraint(_in("kind", COMMENDATION_KINDS), name="kind"),
                      Index("ix_volunteer_commendations_group", "group_id", "awarded_on"))
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("volunteer_groups.id"))
    member_id: Mapped[Optional[int]] = mapped_column(ForeignKey("volunteer_members.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    awarded_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    awarded_by: Mapped[str] = mapped_column(String(64))      # 警察本部長, 署長... as written
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    group: Mapped[VolunteerGroup] = relationship()
    member: Mapped[Optional[Member]] = relationship()
    recorder: Mapped[User] = relationship()

    @property
    def kind_name(self) -> str:
        return COMMENDATION_KINDS.get(self.kind, self.kind)
