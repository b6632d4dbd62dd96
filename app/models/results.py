"""What the committee decides on scored sheets: written scores, corrections of a
session's questions, and certifications (第2-2)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .people import User


class WrittenScore(db.Model):
    """The written part of a session (筆記試験): entered or imported."""
    __tablename__ = "written_scores"
    __table_args__ = (UniqueConstraint("session_id", "staff_id"),
                      CheckConstraint("score >= 0 AND score <= max_score AND max_score > 0", name="range"))
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    score: Mapped[int]
    max_score: Mapped[int]
    entered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)


class Correction(db.Model):
    """A committee correction for one session: a voided question or a corrected key.
    Append-only: the record of who changed what and why stays."""
    __tablename__ = "corrections"
    __table_args__ = (CheckConstraint("action IN ('void', 'rekey')", name="action"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    answer_json: Mapped[Optional[str]] = mapped_column(Text)    # the corrected key (rekey)
    reason: Mapped[str] = mapped_column(Text)
    made_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    made_at: Mapped[datetime] = mapped_column(default=utcnow)
    sheets_regraded: Mapped[int] = mapped_column(default=0)


PROCEDURES = {"meeting": "会議", "written": "書面"}


class CommitteeDecision(db.Model):
    """The committee's decision certifying sheets of one session (委員会の決定, 第2-2): the
    date of the meeting or of the written procedure (書面による審議), the members who took
    part, and the certifications it made; recorded by the vice-chair or the chair."""
    __tablename__ = "committee_decisions"
    __table_args__ = (CheckConstraint("procedure IN (%s)" % ", ".join(f"'{p}'" for p in PROCEDURES),
                                      name="procedure"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id", ondelete="CASCADE"), index=True)
    procedure: Mapped[str] = mapped_column(String(16))
    held_on: Mapped[date] = mapped_column(Date)                   # Japan date
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    members: Mapped[list["DecisionMember"]] = relationship(cascade="all, delete-orphan",
                                                           lazy="selectin", order_by="DecisionMember.id")
    recorder: Mapped[User] = relationship(lazy="joined")


class DecisionMember(db.Model):
    """A committee member (chair, vice-chair or member) who took part in a decision."""
    __tablename__ = "decision_members"
    __table_args__ = (UniqueConstraint("decision_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("committee_decisions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(32))       # the post or role held that day
    user: Mapped[User] = relationship(lazy="joined")


class Certification(db.Model):
    """The certification of one result (第2-2): only then is a pass a pass and the result
    shown to the candidate. It names the CBT sheet, or, for someone with no sheet (a
    written-only session; a session with both parts sat on paper only), the written score:
    exactly one of the two. It belongs to the committee's decision that made it; one made
    before decisions were recorded has none (the vice-chair's or chair's alone)."""
    __tablename__ = "certifications"
    __table_args__ = (CheckConstraint("(attempt_id IS NULL) <> (written_score_id IS NULL)",
                                      name="origin"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[Optional[int]] = mapped_column(ForeignKey("attempts.id"), unique=True)
    written_score_id: Mapped[Optional[int]] = mapped_column(ForeignKey("written_scores.id"), unique=True)
    passed: Mapped[bool]
    certified_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    certified_at: Mapped[datetime] = mapped_column(default=utcnow)
    decision_id: Mapped[Optional[int]] = mapped_column(ForeignKey("committee_decisions.id"), index=True)
    decision: Mapped[Optional[CommitteeDecision]] = relationship(lazy="joined")
