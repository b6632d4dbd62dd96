"""Invitations that give a volunteer group's member their sign-in account (招待).

There is no open sign-up: the liaison of the member's division issues a link; the link
is single use and expires. Only the SHA-256 of its token is stored, so a copy of the
database does not open anyone's invitation."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .volunteers import Member


class VolunteerInvitation(db.Model):
    __tablename__ = "volunteer_invitations"
    __table_args__ = (
        # A used invitation names the account it made; it is used or revoked, never both.
        CheckConstraint("used_at IS NULL OR user_id IS NOT NULL", name="used"),
        CheckConstraint("used_at IS NULL OR revoked_at IS NULL", name="used_or_revoked"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("volunteer_members.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[Optional[datetime]]
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))     # the account made
    revoked_at: Mapped[Optional[datetime]]
    revoked_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    emailed_at: Mapped[Optional[datetime]]
    email_error: Mapped[Optional[str]] = mapped_column(Text)
    member: Mapped[Member] = relationship()

    def state(self, now: datetime) -> str:
        """used, revoked, expired or open."""
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "open"
