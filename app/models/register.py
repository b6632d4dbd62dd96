"""The register (別表第3): passes from every source, the notices to affiliation heads
(第3-8), periodic training (第3-10) and the heads' invitations to sit (第3-11)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scoring.eligibility import LEVEL_NAMES, PREREQUISITE  # noqa: F401  (re-exported)

from ..extensions import db
from .base import utcnow
from .exam import ExamSession
from .people import Affiliation, Staff

LEVELS = ("beginner", "intermediate", "advanced")

# Where a pass comes from (the register shows it, 別表第3 and 第3-7, 第4).
PASS_SOURCES = {
    "exam": "本県の検定",
    "npa": "警察庁の検定",
    "imperial_guard": "皇宮警察本部の検定",
    "other_prefecture": "他都道府県警察の検定",
    "designation": "生活安全部長の指定",
    "former_exam": "旧検定（令和元年生戦発甲第126号）",
    "deemed": "上位級の特例合格による",
}


class PassRecord(db.Model):
    """合格者 (別表第3): one person's pass of one level, from whatever source."""
    __tablename__ = "pass_records"
    __table_args__ = (UniqueConstraint("staff_id", "level"),
                      CheckConstraint("level IN ('beginner', 'intermediate', 'advanced')", name="level"),
                      CheckConstraint("source IN (%s)" % ", ".join(f"'{s}'" for s in PASS_SOURCES),
                                      name="source"),
                      Index("ix_pass_records_level_year", "level", "fiscal_year"))
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    level: Mapped[str] = mapped_column(String(16))
    fiscal_year: Mapped[int]                                      # 合格年度
    source: Mapped[str] = mapped_column(String(32))
    source_detail: Mapped[Optional[str]] = mapped_column(String(128))   # e.g. the prefecture
    evidence: Mapped[Optional[str]] = mapped_column(Text)
    affiliation_at_pass_id: Mapped[Optional[int]] = mapped_column(ForeignKey("affiliations.id"))
    post_at_pass: Mapped[Optional[str]] = mapped_column(String(64))
    # A pass by this prefecture's exam (source "exam") names the parts it was earned on.
    attempt_id: Mapped[Optional[int]] = mapped_column(ForeignKey("attempts.id"))
    written_score_id: Mapped[Optional[int]] = mapped_column(ForeignKey("written_scores.id"))
    implied_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("pass_records.id"))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    staff: Mapped[Staff] = relationship()
    affiliation_at_pass: Mapped[Optional[Affiliation]] = relationship()


class Notice(db.Model):
    """合格者の通知 (第3-8) to the passer's affiliation head, in the system and by e-mail."""
    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    pass_record_id: Mapped[int] = mapped_column(ForeignKey("pass_records.id"))
    affiliation_id: Mapped[Optional[int]] = mapped_column(ForeignKey("affiliations.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    emailed_at: Mapped[Optional[datetime]]
    email_error: Mapped[Optional[str]] = mapped_column(Text)
    read_at: Mapped[Optional[datetime]]
    pass_record: Mapped[PassRecord] = relationship()


class TrainingRecord(db.Model):
    """Attendance of the periodic course (定期講習, 第3-10) by an intermediate passer."""
    __tablename__ = "training_records"
    __table_args__ = (UniqueConstraint("staff_id", "attended_on", "course"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    attended_on: Mapped[date] = mapped_column(Date)
    fiscal_year: Mapped[int]
    course: Mapped[str] = mapped_column(String(128), default="定期講習")
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    staff: Mapped[Staff] = relationship()


class Invitation(db.Model):
    """受検の奨励 (第3-11): an affiliation head asks one of their staff to sit a session. It
    does not register them (the vice-chair or chair does, app/sessions); the staff member
    reads it on their home page, and by e-mail when SMTP is configured."""
    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("session_id", "staff_id"),
                      Index("ix_invitations_staff_id", "staff_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    affiliation_id: Mapped[Optional[int]] = mapped_column(ForeignKey("affiliations.id"))  # the head's, then
    invited_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)
    message: Mapped[Optional[str]] = mapped_column(Text)          # the head's own words
    emailed_at: Mapped[Optional[datetime]]
    email_error: Mapped[Optional[str]] = mapped_column(Text)
    seen_at: Mapped[Optional[datetime]]                           # first shown on the staff member's home
    session: Mapped[ExamSession] = relationship()
    staff: Mapped[Staff] = relationship()
