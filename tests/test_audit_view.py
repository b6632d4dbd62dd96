"""The audit log viewer: filters, paging, newest first, CSV export; and no way to change it."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, User
from tests.conftest import Client


def add_events(app, rows):
    """rows: (event, username or None, naive UTC time, detail). Returns their ids in order."""
    with app.app_context():
        users = {u.username: u.id for u in db.session.scalars(select(User))}
        made = [AuditEvent(event=e, user_id=users[u] if u else None, at=at,
                           detail_json=json.dumps(d, ensure_ascii=False)) for e, u, at, d in rows]
        db.session.add_all(made)
        db.session.commit()
        return [m.id for m in made]


def shown_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr class="audit-row" data-id="(\d+)">', page)]


def viewer(app, username="committee1"):
    c = Client(app)
    assert c.login(username).status_code == 302
    return c


SAMPLE = [
    # 2025-03-31 23:30 JST and 2025-04-01 00:30 JST: either side of a Japan-time midnight.
    ("staff_import", "secretariat1", datetime(2025, 3, 31, 14, 30), {"created": 3}),
    ("staff_import", "secretariat1", datetime(2025, 3, 31, 15, 30), {"created": 1}),
    ("user_roles_changed", "chair", datetime(2025, 4, 2, 1, 0), {"username": "candidate3", "added": ["author"]}),
    ("forbidden", "candidate1", datetime(2025, 4, 3, 1, 0), {"path": "/admin/staff"}),
]


def test_newest_first_and_filters(app):
    a, b, c_, d = add_events(app, SAMPLE)
    c = viewer(app)
    page = c.get("/admin/audit?since=2025-03-01&until=2025-04-30").get_data(as_text=True)
    assert shown_ids(page) == [d, c_, b, a]
    assert shown_ids(c.get("/admin/audit?event=staff_import&until=2025-12-31").get_data(as_text=True)) == [b, a]
    assert shown_ids(c.get("/admin/audit?user=chair&until=2025-12-31").get_data(as_text=True)) == [c_]
    assert shown_ids(c.get("/admin/audit?user=nobody").get_data(as_text=True)) == []
    # Dates are Japan dates: 00:30 JST on 1 April belongs to 1 April, not 31 March.
    assert shown_ids(c.get("/admin/audit?since=2025-04-01&until=2025-04-02").get_data(as_text=True)) == [c_, b]
    assert shown_ids(c.get("/admin/audit?until=2025-03-31").get_data(as_text=True)) == [a]
    # Japanese-era dates are accepted too.
    assert shown_ids(c.get("/admin/audit?since=R7.4.3&until=令和7年4月3日").get_data(as_text=True)) == [d]
    shown = c.get("/admin/audit?event=user_roles_changed").get_data(as_text=True)
    assert "役割の変更" in shown and "candidate3" in shown and '[&#34;author&#34;]' in shown


def test_bad_dates_are_explained(app):
    page = viewer(app).get("/admin/audit?since=平成32年1月1日&until=2025-13-01").get_data(as_text=True)
    assert "開始日: 「平成32年1月1日」は平成の期間外の日付です" in page
    assert "終了日:" in page and shown_ids(page) == []
    page = viewer(app).get("/admin/audit?since=2025-05-01&until=2025-04-01").get_data(as_text=True)
    assert "開始日が終了日より後になっています" in page


def test_paging(app):
    ids = add_events(app, [("test_event", None, datetime(2024, 6, 1, 0, n // 60, n % 60), {"n": n})
                           for n in range(130)])
    c = viewer(app, "secretariat1")
    first = shown_ids(c.get("/admin/audit?event=test_event").get_data(as_text=True))
    second_page = c.get("/admin/audit?event=test_event&page=2").get_data(as_text=True)
    second = shown_ids(second_page)
    assert first == ids[::-1][:100] and second == ids[::-1][100:]
    assert "2 / 2 ページ（全130件）" in second_page
    assert "event=test_event" in second_page           # the pager keeps the filter


def test_csv_export_follows_the_filters_and_is_itself_recorded(app):
    add_events(app, SAMPLE)
    c = viewer(app, "vicechair")
    resp = c.get("/admin/audit/export.csv?event=staff_import&until=2025-12-31")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    body = resp.get_data()
    assert body.startswith("\ufeff".encode())                      # Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:4] == ["日時（日本時間）", "イベント", "内容", "ユーザーID"]
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [
        ("2025-04-01 00:30:00", "staff_import", "secretariat1"),
        ("2025-03-31 23:30:00", "staff_import", "secretariat1")]
    assert json.loads(rows[1][6]) == {"created": 1}
    with app.app_context():
        ev = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "audit_exported"))
        assert json.loads(ev.detail_json)["rows"] == 2
        assert db.session.get(User, ev.user_id).username == "vicechair"


def test_the_log_cannot_be_changed_from_the_web(app):
    """Append-only: no route anywhere edits or deletes audit rows."""
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule or "audit" in rule.endpoint:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
    add_events(app, SAMPLE)
    c = viewer(app, "secretariat1")
    c.get("/admin/audit")
    with app.app_context():
        before = db.session.scalar(select(func.count(AuditEvent.id)))
    for url in ("/admin/audit", "/admin/audit/export.csv"):
        assert c.post_form(url, {"event": "x"}).status_code == 405
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id))) == before


def test_only_the_committee_and_secretariat_read_the_log(app):
    for username in ("candidate1", "author1", "head1"):
        c = viewer(app, username)
        assert c.get("/admin/audit").status_code == 403
        assert c.get("/admin/audit/export.csv").status_code == 403
    for username in ("committee1", "vicechair", "chair", "secretariat1"):
        assert viewer(app, username).get("/admin/audit").status_code == 200
