"""Volunteers' training (専門性向上, circular 3(2)): attempts at the quiz modules of a course
and their answers. A course completed is a CourseCompletion (app/models/volunteers.py)."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .volunteers import Member


class TrainingAttempt(db.Model):
    """One attempt at a module: the questions drawn for it, in order, and once every one
    is answered, its score. A liaison's try of a module has no member and never counts
    toward a completion."""
    __tablename__ = "training_attempts"
    __table_args__ = (
        Index("ix_training_attempts_user_module", "user_id", "course_key", "module_key"),
        CheckConstraint("total > 0", name="total"),
        CheckConstraint("correct IS NULL OR (correct >= 0 AND correct <= total)", name="correct"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    member_id: Mapped[Optional[int]] = mapped_column(ForeignKey("volunteer_members.id"), index=True)
    course_key: Mapped[str] = mapped_column(String(64))
    module_key: Mapped[str] = mapped_column(String(64))
    bank_hash: Mapped[str] = mapped_column(String(64))
    question_ids_json: Mapped[str] = mapped_column(Text)
    # The choice order of each question comes from this secret, which never leaves the server.
    order_seed: Mapped[str] = mapped_column(String(64))
    total: Mapped[int]
    correct: Mapped[Optional[int]]
    passed: Mapped[Optional[bool]]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[Optional[datetime]]
    member: Mapped[Optional[Member]] = relationship()
    answers: Mapped[list["TrainingAnswer"]] = relationship(
        back_populates="attempt", order_by="TrainingAnswer.position", cascade="all, delete-orphan")

    @property
    def question_ids(self) -> list[str]:
        return json.loads(self.question_ids_json)

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


class TrainingAnswer(db.Model):
    """The answer to one question of an attempt; one per position, so a double submit
    cannot count twice."""
    __tablename__ = "training_answers"
    __table_args__ = (UniqueConstraint("attempt_id", "position"),
                      CheckConstraint("position >= 1", name="position"))
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("training_attempts.id", ondelete="CASCADE"))
    position: Mapped[int]
    question_id: Mapped[str] = mapped_column(String(64))
    response_json: Mapped[Optional[str]] = mapped_column(Text)
    correct: Mapped[bool]
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempt: Mapped[TrainingAttempt] = relationship(back_populates="answers")
