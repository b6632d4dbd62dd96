"""Public awareness quizzes (広報啓発, circular 2(2)): an event a volunteer or a liaison runs
for an audience, the anonymous participants who open it by its code, and their answers.

A participant is a random token and nothing else: no name, no address, no device data. The
questions are a snapshot taken when the event was created, so a later edit of the source
never changes a running event or its counts."""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Optional

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .volunteers import Activity, VolunteerGroup

EVENT_STATUSES = {"open": "実施中", "closed": "終了"}


class AwarenessEvent(db.Model):
    """A quiz run for an audience (啓発クイズの実施): open while `status` is open; closing it
    records the group's awareness activity (`activity_id`)."""
    __tablename__ = "awareness_events"
    __table_args__ = (CheckConstraint("status IN ('open', 'closed')", name="status"),
                      CheckConstraint("minutes > 0", name="minutes"),
                      Index("ix_awareness_events_group_status", "group_id", "status"))
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("volunteer_groups.id"))
    # What participants type or the QR code carries; unique for good, so an old printed code
    # never opens a later event.
    code: Mapped[str] = mapped_column(String(16), unique=True)
    title: Mapped[str] = mapped_column(String(128))
    source_ref: Mapped[str] = mapped_column(String(64))          # e.g. bank:support_scam
    questions_json: Mapped[str] = mapped_column(Text)            # the snapshot
    held_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(128), default="", server_default="")
    audience: Mapped[str] = mapped_column(String(128), default="", server_default="")
    minutes: Mapped[int]                                         # length, for the activity
    status: Mapped[str] = mapped_column(String(8), default="open", server_default="open")
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[Optional[datetime]]
    activity_id: Mapped[Optional[int]] = mapped_column(ForeignKey("volunteer_activities.id"))
    group: Mapped[VolunteerGroup] = relationship()
    activity: Mapped[Optional[Activity]] = relationship()

    @property
    def questions(self) -> list[dict]:
        return json.loads(self.questions_json)

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def status_name(self) -> str:
        return EVENT_STATUSES.get(self.status, self.status)


class AwarenessParticipant(db.Model):
    """One person answering (匿名): counted once however often they reload."""
    __tablename__ = "awareness_participants"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("awareness_events.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[Optional[datetime]]


class AwarenessAnswer(db.Model):
    """A participant's answer to one question of the event; the first one counts."""
    __tablename__ = "awareness_answers"
    __table_args__ = (UniqueConstraint("participant_id", "position"),
                      CheckConstraint("position >= 0", name="position"),
                      CheckConstraint("choice >= 0", name="choice"))
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("awareness_participants.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("awareness_events.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]          # index into the event's questions
    choice: Mapped[int]            # index into that question's choices
    correct: Mapped[bool]
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
