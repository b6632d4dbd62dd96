"""The audit log as the committee and the secretariat read it: filters, pages, export."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select

from scoring.jpdate import JST

from ..core.audit import EVENT_NAMES  # noqa: F401  (the people pages' context reads it here)
from ..extensions import db
from ..models import AuditEvent, User


@dataclass
class AuditFilter:
    event: str = ""
    username: str = ""
    since: date | None = None                  # Japan dates, both ends included
    until: date | None = None


def _utc_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=JST).astimezone(timezone.utc).replace(tzinfo=None)


def audit_query(f: AuditFilter):
    """Newest first, as (event, user) pairs; an unknown user name matches nothing."""
    query = select(AuditEvent, User).outerjoin(User, User.id == AuditEvent.user_id)
    if f.event:
        query = query.where(AuditEvent.event == f.event)
    if f.username:
        query = query.where(User.username == f.username)
    if f.since:
        query = query.where(AuditEvent.at >= _utc_start(f.since))
    if f.until:
        query = query.where(AuditEvent.at < _utc_start(f.until + timedelta(days=1)))
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def audit_page(f: AuditFilter, page: int, per_page: int = 100):
    query = audit_query(f)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.execute(query.offset((page - 1) * per_page).limit(per_page)).all()
    return rows, total


def audit_events() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.event).distinct().order_by(AuditEvent.event)))
