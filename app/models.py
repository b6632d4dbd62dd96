"""Database models. Rules the data must keep are constraints here, not only Python."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Optional

from flask_login import UserMixin
from sqlalchemy import (CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint,
                        func, select)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db

ROLES = ("candidate", "author", "committee", "vice_chair", "chair", "head", "secretariat")
ROLE_NAMES = {
    "candidate": "受検者", "author": "問題作成者", "committee": "委員", "vice_chair": "副委員長",
    "chair": "委員長", "head": "所属の長", "secretariat": "庶務",
}


def session_id(user_id: int, epoch: int) -> str:
    """The user as a sign-in session names them: the id and the session epoch."""
    return f"{user_id}:{epoch}"


def parse_session_id(value) -> tuple[int, int] | None:
    """(user id, epoch) from a session's user id; None for anything else (both fit a 32-bit
    column). A bare id (a session from before epochs) reads as epoch 0, which the user's
    next sign-out ends."""
    if not isinstance(value, str):
        return None
    uid, colon, epoch = value.partition(":")
    if not (uid.isascii() and uid.isdigit() and len(uid) <= 9):
        return None
    if not colon:
        return int(uid), 0
    if not (epoch.isascii() and epoch.isdigit() and len(epoch) <= 9):
        return None
    return int(uid), int(epoch)


def utcnow() -> datetime:
    """Naive UTC: the one form every database stores the same way."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Named in every sign-in session (its cookie holds "id:epoch"); raising it ends every
    # session of the user on every server at once: sign-out, a new password, deactivation.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    roles: Mapped[list["UserRole"]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    def set_password(self, password: str) -> None:
        # Werkzeug's default is scrypt: a memory-hard, modern scheme.
        self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def end_sessions(self) -> None:
        """Sign the user out everywhere (the caller commits)."""
        self.session_epoch = (self.session_epoch or 0) + 1

    def get_id(self) -> str:  # Flask-Login: what the session cookie names
        return session_id(self.id, self.session_epoch or 0)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def role_set(self) -> set[str]:
        return {r.role for r in self.roles}

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_set & set(roles))


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),
                      CheckConstraint("role IN (%s)" % ", ".join(f"'{r}'" for r in ROLES), name="role"))
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))


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


class Registration(db.Model):
    """Who may sit a session (受検者の登録)."""
    __tablename__ = "registrations"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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
    session: Mapped[ExamSession] = relationship()
    user: Mapped[User] = relationship()
    bank_version: Mapped[BankVersion] = relationship()

    @property
    def form(self) -> list[dict]:
        return json.loads(self.form_json)

    @property
    def finished(self) -> bool:
        return self.submitted_at is not None


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


class AuditEvent(db.Model):
    """Append-only record of what happened and who did it (監査記録)."""
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    event: Mapped[str] = mapped_column(String(64), index=True)
    detail_json: Mapped[str] = mapped_column(Text, default="{}")
    ip: Mapped[Optional[str]] = mapped_column(String(64))


class Readiness(db.Model):
    """The row /readyz writes: a server is ready only while the database takes writes."""
    __tablename__ = "readiness"
    id: Mapped[int] = mapped_column(primary_key=True)
    checked_at: Mapped[datetime]


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


class LoginFailure(db.Model):
    """One failed sign-in (ログイン失敗): the sign-in limits are counted from these rows, so
    every app server sees the same counts (app/auth/throttle.py). A successful sign-in
    deletes its user name's rows; rows older than the limits' horizon are pruned."""
    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_username_at", "username", "at"),
                      Index("ix_login_failures_ip_at", "ip", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
