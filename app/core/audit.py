"""Append-only audit log: one call wherever something worth answering for happens."""
from __future__ import annotations

import json
import logging
import re

from flask import has_request_context, request
from flask_login import current_user

from ..extensions import db
from ..models import AuditEvent

log = logging.getLogger("cbt.audit")

# Which detail fields go on the log line too (the audit table keeps them all): identifiers,
# counts and codes. The log goes to whoever runs the servers, and personal data (names,
# dates of birth, staff numbers, user names typed at sign-in, e-mail addresses, the changes
# made to a staff record, free text) is for the committee and the secretariat only (see
# the spec's register rule), so those stay in the table, which their pages read.
LOGGED_DETAIL = frozenset({
    "path", "method", "needs", "position", "base_seq", "seq", "scope", "by", "via",
    "format", "rows", "level", "fiscal_year", "source", "regraded", "questions", "digest",
    "roles", "added", "removed", "deemed", "created", "updated", "unchanged", "until"})
# A `reason` is logged when it is a code ("deadline", "not_on_form"), not free text.
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


# Attributes every LogRecord has: passing one as `extra` makes logging raise, so such a
# detail ("created": rows an import created) is logged under a prefixed name.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _log_fields(detail: dict) -> dict:
    fields = {(f"n_{k}" if k in _RECORD_ATTRS else k): v for k, v in detail.items()
              if k in LOGGED_DETAIL or k.endswith("_id") or k.endswith("_ids")}
    reason = detail.get("reason")
    if isinstance(reason, str) and _CODE.fullmatch(reason):
        fields["reason"] = reason
    return fields


def record(event: str, user_id: int | None = None, *, _level: int = logging.INFO,
           **detail) -> None:
    """Add an audit row to the current transaction (the request handler commits)."""
    ip = None
    if has_request_context():
        ip = request.remote_addr
        if user_id is None and current_user.is_authenticated:
            user_id = current_user.id
    db.session.add(AuditEvent(user_id=user_id, event=event, ip=ip,
                              detail_json=json.dumps(detail, ensure_ascii=False, default=str)))
    if log.isEnabledFor(_level):
        fields = _log_fields(detail)
        if _level >= logging.WARNING:
            fields.setdefault("reason", event)     # every refusal line says why
        log.log(_level, event, extra={**fields, "event": event, "user_id": user_id,
                                      "remote_addr": ip})


def record_now(event: str, user_id: int | None = None, **detail) -> None:
    """For refusals: the request rolls back, yet the refusal itself must stay on record.
    Logged as a warning, with its reason (the refusal's code, else the event)."""
    db.session.rollback()
    record(event, user_id, _level=logging.WARNING, **detail)
    db.session.commit()
