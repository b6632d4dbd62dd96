"""Append-only audit log: one call wherever something worth answering for happens."""
from __future__ import annotations

import json
import logging

from flask import has_request_context, request
from flask_login import current_user

from .extensions import db
from .models import AuditEvent

log = logging.getLogger("cbt.audit")


def record(event: str, user_id: int | None = None, **detail) -> None:
    """Add an audit row to the current transaction (the request handler commits)."""
    ip = None
    if has_request_context():
        ip = request.remote_addr
        if user_id is None and current_user.is_authenticated:
            user_id = current_user.id
    db.session.add(AuditEvent(user_id=user_id, event=event, ip=ip,
                              detail_json=json.dumps(detail, ensure_ascii=False, default=str)))
    log.info("%s user=%s ip=%s %s", event, user_id, ip, json.dumps(detail, ensure_ascii=False,
                                                                   default=str))


def record_now(event: str, user_id: int | None = None, **detail) -> None:
    """For refusals: the request rolls back, yet the refusal itself must stay on record."""
    db.session.rollback()
    record(event, user_id, **detail)
    db.session.commit()
