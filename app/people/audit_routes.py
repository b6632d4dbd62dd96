"""The audit log, read only (there is no route that edits or deletes it): filters, pages and a
CSV export, for the committee and the secretariat."""
from __future__ import annotations

import json

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from scoring.jpdate import DateParseError, parse_date, to_jst

from ..auth.routes import role_required
from ..core import audit
from ..core.exports import csv_response
from ..extensions import db
from . import bp
from .auditlog import AuditFilter, audit_events, audit_page, audit_query
from .routes import page_number, pager
from .rules import AUDIT_ROLES

AUDIT_PER_PAGE = 100


def _audit_filter() -> tuple[AuditFilter, list[str]]:
    errors = []
    f = AuditFilter(event=request.args.get("event", "").strip(),
                           username=request.args.get("user", "").strip())
    for name, label in (("since", "開始日"), ("until", "終了日")):
        text = request.args.get(name, "").strip()
        if text:
            try:
                setattr(f, name, parse_date(text))
            except DateParseError as exc:
                errors.append(f"{label}: {exc}")
    if f.since and f.until and f.since > f.until:
        errors.append("開始日が終了日より後になっています。")
    return f, errors


def _detail(event) -> dict:
    """The detail as text per key (Japanese kept readable, not \\u-escaped)."""
    try:
        detail = json.loads(event.detail_json or "{}")
    except ValueError:
        return {"raw": event.detail_json}
    if not isinstance(detail, dict):
        return {"raw": event.detail_json}
    return {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in detail.items()}


@bp.get("/audit")
@role_required(*AUDIT_ROLES)
def audit_log():
    f, errors = _audit_filter()
    page = page_number()
    rows, total = ([], 0) if errors else audit_page(f, page, AUDIT_PER_PAGE)
    return render_template("admin/audit.html", rows=[(e, u, _detail(e)) for e, u in rows], f=f,
                           errors=errors, events=audit_events(), args=request.args,
                           pager=pager(total, page, AUDIT_PER_PAGE))


@bp.get("/audit/export.csv")
@role_required(*AUDIT_ROLES)
def audit_export():
    f, errors = _audit_filter()
    if errors:
        for e in errors:
            flash(e, "error")
        return redirect(url_for("admin.audit_log", **request.args))
    rows = db.session.execute(audit_query(f)).all()
    out = [[to_jst(e.at).strftime("%Y-%m-%d %H:%M:%S"), e.event, audit.event_name(e.event),
            u.username if u else "", u.display_name if u else "", e.ip or "", e.detail_json]
           for e, u in rows]
    # Reading the log out of the system is itself worth answering for.
    audit.record("audit_exported", current_user.id, rows=len(out), filter_event=f.event or None,
                 username=f.username or None, since=f.since, until=f.until)
    db.session.commit()
    return csv_response("audit-log.csv", ["日時（日本時間）", "イベント", "内容", "ユーザーID", "氏名",
                                          "IPアドレス", "詳細"], out)
