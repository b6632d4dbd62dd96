"""What the engine keeps about itself: the audit log and the readiness row."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import utcnow


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
