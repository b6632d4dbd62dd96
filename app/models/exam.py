"""The exam: bank versions, sessions (検定の実施回) with their format, who may sit them,
attempts with their append-only answer steps, and practice answers."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Optional

from sqlalchemy import (CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func,
                        select)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .people import Staff, User

SESSION_FORMATS = {"cbt": "電子計算機による試験", "written": "筆記試験", "both": "筆記試験及び電子計算機による試験"}


class BankVersion(db.Model):
    """A content-addressed snapshot of the blueprint and every question (問題バージョン).

    Attempts and sessions point here, so an edited bank changes nothing for them."""
    __tablename__ = "bank_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(512))
    question_count: Mapped[int]
    payload: Mapped[str] = mapped_column(Text)      # JSON: {"blueprint": ..., "questions": [...]}

    @property
    def short(self) -> str:
        return self.digest[:12]


class ExamSession(db.Model):
    """A scheduled sitting of one level (検定の実施回)."""
    __tablename__ = "exam_sessions"
    __table_args__ = (CheckConstraint("closes_at > opens_at", name="window"),
                      CheckConstraint("duration_minutes > 0", name="duration"),
                      CheckConstraint("question_count > 0", name="question_count"))
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(32))
    fiscal_year: Mapped[int]
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    duration_minutes: Mapped[int]
    question_count: Mapped[int]
    bank_version_id: Mapped[int] = mapped_column(ForeignKey("bank_versions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    bank_version: Mapped[BankVersion] = relationship()

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now < self.closes_at


class SessionDetail(db.Model):
    """What the committee sets on a session beyond the exam core: the format (第3-5-(3))
    and the written part's maximum score; how the room starts and who may enter it; and
    the room's state (the start signal, a pause of the whole room).

    `control_seq` counts the proctors' actions in the room: every candidate's page asks
    for it every few seconds and reads its own state again when it changes."""
    __tablename__ = "session_details"
    __table_args__ = (CheckConstraint("format IN ('cbt', 'written', 'both')", name="format"),
                      CheckConstraint("written_max IS NULL OR written_max > 0", name="written_max"),
                      CheckConstraint("start_mode IN ('self', 'signal')", name="start_mode"))
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id", ondelete="CASCADE"),
                                            primary_key=True)
    format: Mapped[str] = mapped_column(String(16), default="cbt")
    written_max: Mapped[Optional[int]]
    notes: Mapped[Optional[str]] = mapped_column(Text)
    start_mode: Mapped[str] = mapped_column(String(8), default="self", server_default="self")
    access_code: Mapped[Optional[str]] = mapped_column(String(32))
    allowed_networks: Mapped[Optional[str]] = mapped_column(Text)     # CIDR ranges, one a line
    seb_config_keys: Mapped[Optional[str]] = mapped_column(Text)      # SEB Config Keys, one a line
    signal_at: Mapped[Optional[datetime]]          # the room's start (signal mode)
    room_paused_at: Mapped[Optional[datetime]]
    room_pause_reason: Mapped[Optional[str]] = mapped_column(Text)
    control_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    # The committee's choice: after certification, candidates see each question with their
    # answer, the key and the explanation (off by default: exam questions are reused).
    show_review: Mapped[bool] = mapped_column(default=False, server_default=sa_false())


class Registration(db.Model):
    """Who may sit a session (受検者の登録)."""
    __tablename__ = "registrations"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Accommodation (合理的配慮): extra time set before the sitting; the reason is for the
    # committee only (a proctor sees that there is extra time, not why).
    extra_minutes: Mapped[int] = mapped_column(default=0, server_default="0")
    extra_percent: Mapped[int] = mapped_column(default=0, server_default="0")
    accommodation_reason: Mapped[Optional[str]] = mapped_column(Text)
    accommodation_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    accommodation_at: Mapped[Optional[datetime]]
    access_granted_at: Mapped[Optional[datetime]]   # the room's access code, entered once


class Admission(db.Model):
    """The chair's admission of a non-staff candidate, with the reason (第3-2 ただし書)."""
    __tablename__ = "admissions"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    admitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    admitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[Optional[datetime]]
    staff: Mapped[Staff] = relationship()


class Attempt(db.Model):
    """One candidate's sitting of one session: the drawn form and, once done, the score."""
    __tablename__ = "attempts"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),
                      CheckConstraint("last_seq >= 0", name="last_seq"),
                      Index("ix_attempts_open_deadline", "submitted_at", "deadline"))
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    bank_version_id: Mapped[int] = mapped_column(ForeignKey("bank_versions.id"))
    level: Mapped[str] = mapped_column(String(32))
    seed: Mapped[int] = mapped_column(db.BigInteger)
    form_json: Mapped[str] = mapped_column(Text)     # [FormItem.to_dict(), ...] in shown order
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline: Mapped[datetime]
    last_seq: Mapped[int] = mapped_column(default=0)
    last_position: Mapped[int] = mapped_column(default=1)
    submitted_at: Mapped[Optional[datetime]]
    submitted_by: Mapped[Optional[str]] = mapped_column(String(16))   # candidate | deadline
    correct: Mapped[Optional[int]]
    total: Mapped[Optional[int]]
    passed: Mapped[Optional[bool]]
    score_json: Mapped[Optional[str]] = mapped_column(Text)
    # The clock stands still while paused_at is set: in the lobby before the start
    # (scope "lobby"), or paused by a proctor ("candidate", "room"). No answer is stored
    # and the deadline does not pass while paused; resuming moves the deadline on.
    paused_at: Mapped[Optional[datetime]]
    pause_scope: Mapped[Optional[str]] = mapped_column(String(16))
    pause_reason: Mapped[Optional[str]] = mapped_column(Text)
    session: Mapped[ExamSession] = relationship()
    user: Mapped[User] = relationship()
    bank_version: Mapped[BankVersion] = relationship()

    @property
    def form(self) -> list[dict]:
        return json.loads(self.form_json)

    @property
    def finished(self) -> bool:
        return self.submitted_at is not None

    @property
    def phase(self) -> str:
        """finished, lobby (entered, clock not started), paused (by a proctor) or running
        (which includes the few seconds before a start on the signal)."""
        if self.finished:
            return "finished"
        if self.pause_scope == "lobby":
            return "lobby"
        return "paused" if self.paused_at is not None else "running"


class AnswerStep(db.Model):
    """Append-only: every save is a new row; the current answer is the latest step."""
    __tablename__ = "answer_steps"
    __table_args__ = (UniqueConstraint("attempt_id", "seq"),
                      UniqueConstraint("attempt_id", "client_id"),
                      CheckConstraint("seq > 0", name="seq"),
                      CheckConstraint("position > 0", name="position"))
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    seq: Mapped[int]
    position: Mapped[int]
    question_id: Mapped[str] = mapped_column(String(64))
    response_json: Mapped[Optional[str]] = mapped_column(Text)   # null: cleared/unanswered
    flagged: Mapped[bool] = mapped_column(default=False)
    client_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def response(self):
        return None if self.response_json is None else json.loads(self.response_json)


def latest_steps(attempt_id: int) -> dict[int, AnswerStep]:
    """The current state of each position: its step with the highest sequence number."""
    newest = (select(AnswerStep.position, func.max(AnswerStep.seq).label("seq"))
              .where(AnswerStep.attempt_id == attempt_id)
              .group_by(AnswerStep.position).subquery())
    rows = db.session.scalars(
        select(AnswerStep).join(newest, (AnswerStep.position == newest.c.position)
                                & (AnswerStep.seq == newest.c.seq))
        .where(AnswerStep.attempt_id == attempt_id))
    return {s.position: s for s in rows}


class PracticeAnswer(db.Model):
    """One practice-mode answer (事前学習). Never part of an exam score."""
    __tablename__ = "practice_answers"
    __table_args__ = (Index("ix_practice_answers_user_topic", "user_id", "topic"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    bank_version_id: Mapped[int] = mapped_column(ForeignKey("bank_versions.id"))
    question_id: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(32))
    topic: Mapped[str] = mapped_column(String(64))
    response_json: Mapped[Optional[str]] = mapped_column(Text)
    correct: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
