"""The exam room (試験会場): who proctors a session, and the room's log of what the proctors
did (pauses, time given, moves, terminations, irregularity notes)."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import utcnow

ROOM_ACTIONS = ("signal", "pause", "resume", "add_time", "move", "terminate", "note",
                "access_code")


class Proctor(db.Model):
    """A proctor (試験監督者) assigned to a session by the vice-chair or chair."""
    __tablename__ = "proctors"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoomEvent(db.Model):
    """One proctor action, for one candidate (user_id) or the whole room (none), with the
    reason given. Append-only; the candidate's events are shown on their review sheet."""
    __tablename__ = "room_events"
    __table_args__ = (CheckConstraint("action IN (%s)" % ", ".join(f"'{a}'" for a in ROOM_ACTIONS),
                                      name="action"),
                      Index("ix_room_events_session_id_at", "session_id", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))       # the candidate
    attempt_id: Mapped[Optional[int]] = mapped_column(ForeignKey("attempts.id"))
    action: Mapped[str] = mapped_column(String(16))
    seconds: Mapped[Optional[int]]                  # time given or taken by the action
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
