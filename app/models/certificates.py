"""Certificates issued to volunteers (3(3): universities may grant credit for the work): a
completion certificate (修了証) for a completed course and an activity certificate
(活動証明書) over a period. What a certificate states is a snapshot taken at issue, signed
as an Open Badges 3.0 credential (VC-JWT); it never changes afterwards, it can only be
revoked, with a reason."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .people import User
from .volunteers import CourseCompletion, Member

CERTIFICATE_KINDS = {"completion": "修了証", "activity": "活動証明書"}


class Certificate(db.Model):
    """A certificate and its signed credential. `public_id` is the unguessable name in the
    verification URL (128 random bits); the numeric id never leaves the database."""
    __tablename__ = "volunteer_certificates"
    __table_args__ = (
        CheckConstraint("kind IN ('completion', 'activity')", name="kind"),
        CheckConstraint("kind <> 'completion' OR completion_id IS NOT NULL", name="completion"),
        CheckConstraint("kind <> 'activity' OR (period_from IS NOT NULL AND period_to IS NOT NULL"
                        " AND period_from <= period_to)", name="period"),
        # A revocation carries its date, who revoked and why, all three or none.
        CheckConstraint("(revoked_at IS NULL AND revoked_by IS NULL AND revoke_reason IS NULL) OR "
                        "(revoked_at IS NOT NULL AND revoked_by IS NOT NULL AND revoke_reason IS NOT NULL)",
                        name="revocation"),
        # One current completion certificate per completed course, even when two liaisons
        # issue at once; a revoked one may be issued again.
        Index("uq_volunteer_certificates_current_completion", "completion_id", unique=True,
              sqlite_where=text("revoked_at IS NULL"), postgresql_where=text("revoked_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[int] = mapped_column(ForeignKey("volunteer_members.id"), index=True)
    completion_id: Mapped[Optional[int]] = mapped_column(ForeignKey("volunteer_completions.id"))
    period_from: Mapped[Optional[date]] = mapped_column(Date)
    period_to: Mapped[Optional[date]] = mapped_column(Date)
    statement_json: Mapped[str] = mapped_column(Text)       # what it states, as issued
    credential_jwt: Mapped[str] = mapped_column(Text)       # the signed OpenBadgeCredential
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[Optional[datetime]]
    revoked_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[Optional[str]] = mapped_column(Text)
    member: Mapped[Member] = relationship()
    completion: Mapped[Optional[CourseCompletion]] = relationship()
    issuer: Mapped[User] = relationship(foreign_keys=[issued_by])

    @property
    def kind_name(self) -> str:
        return CERTIFICATE_KINDS.get(self.kind, self.kind)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None
