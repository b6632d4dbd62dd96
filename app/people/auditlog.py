"""The audit log as the committee and the secretariat read it: filters, pages, export."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select

from scoring.jpdate import JST

from ..extensions import db
from ..models import AuditEvent, User

EVENT_NAMES = {
    "login": "ログイン", "logout": "ログアウト", "login_failed": "ログイン失敗",
    "login_locked": "ログイン制限", "forbidden": "権限のない操作",
    "affiliation_created": "所属の登録", "affiliation_updated": "所属の変更",
    "affiliation_import": "所属の一括登録", "staff_created": "職員の登録",
    "staff_updated": "職員情報の変更", "staff_import": "職員の一括登録",
    "user_created": "アカウントの作成", "user_linked": "アカウントの紐付け",
    "password_reset": "パスワードの再発行", "user_roles_changed": "役割の変更",
    "audit_exported": "監査記録の出力",
}


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
