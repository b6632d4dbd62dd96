"""The exam room's pages through HTTP: the proctor's room page (the table, and the forms
that work without a script), their landing page, the session's room settings and
proctors, accommodations, and the room's record on the committee's review pages."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from app.extensions import db
from app.models import AuditEvent, ExamSession, Proctor, Registration, SessionDetail, User
from scoring.timing import SIGNAL_LEAD_SECONDS
from tests.conftest import Client
from tests.test_room import act, attempt_of, beginner, enter, read_state, running, settings, signed_in

ROOM_KEY = "0123456789abcdef" * 4


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def intermediate(app) -> int:
    with app.app_context():
        return db.session.scalar(select(ExamSession.id).where(ExamSession.level == "intermediate"))


def registration(app, sid: int, uid: int) -> Registration:
    with app.app_context():
        reg = db.session.scalar(select(Registration).where(Registration.session_id == sid,
                                                           Registration.user_id == uid))
        db.session.expunge(reg)
        return reg


def detail(app, sid: int) -> SessionDetail:
    with app.app_context():
        d = db.session.get(SessionDetail, sid)
        db.session.expunge(d)
        return d


def audited(app, event: str) -> list[dict]:
    with app.app_context():
        return [json.loads(e.detail_json) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id))]


def row_of(page: str, uid: int) -> str:
    """The candidate's row of the room table."""
    m = re.search(rf'<tr id="seat-{uid}".*?</tr>', page, re.S)
    assert m, f"no row for user {uid}"
    return m.group(0)


def text(resp) -> str:
    return resp.get_data(as_text=True)


def follow(client: Client, resp) -> str:
    assert resp.status_code in (302, 303), text(resp)
    return text(client.get(resp.location))


def flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash (?:info|error)" role="status">(.*?)</p>', page, re.S)


@pytest.fixture
def sitting(app):
    """candidate1 answering the beginner session; proctor1 signed in."""
    sid = beginner(app)
    candidate = signed_in(app, "candidate1")
    attempt_id = running(app, candidate, sid)
    return sid, user_id(app, "candidate1"), candidate, attempt_id, signed_in(app, "proctor1")


# ---- the room page ---------------------------------------------------------------------------

def test_the_room_page_shows_every_candidate_and_no_inline_code(app, sitting):
    sid, uid, _candidate, _attempt_id, proctor = sitting
    other = user_id(app, "candidate2")
    with app.app_context():
        reg = db.session.scalar(select(Registration).where(Registration.session_id == sid,
                                                           Registration.user_id == uid))
        reg.extra_minutes, reg.accommodation_reason = 10, "弱視のため（診断書あり）"
        db.session.commit()
    page = text(proctor.get(f"/room/{sid}"))
    mine = row_of(page, uid)
    assert "解答中" in mine and "1 / 40" in mine and "0 / 40" in mine
    assert re.search(r'class="seat-left num">(59|60):\d\d<', mine)        # time left, mm:ss
    assert "延長あり +10分" in mine and "弱視" not in page                   # never the reason
    assert "未入室" in row_of(page, other) and "延長あり" not in row_of(page, other)
    # Only the forms its state allows, each asking for a reason.
    assert f"/seats/{uid}/pause" in mine and 'name="reason"' in mine
    assert re.search(rf'<form[^>]*action="/room/{sid}/seats/{uid}/resume"', mine) is None
    assert re.search(rf'<form[^>]*action="/room/{sid}/seats/{other}/pause"', row_of(page, other)) is None
    # CSP: scripts and styles from files only (the JSON block is data, never run).
    assert "/static/room.js" in page and "/static/room.css" in page
    scripts = re.findall(r"<script([^>]*)>", page)
    assert all("src=" in s or 'type="application/json"' in s for s in scripts), scripts
    assert not re.search(r"\sstyle=|<style|\son[a-z]+=", page)


def test_actions_work_as_plain_forms_and_come_back_with_a_message(app, sitting):
    sid, uid, candidate, attempt_id, proctor = sitting
    proctor.get(f"/room/{sid}")
    refused = follow(proctor, proctor.post_form(f"/room/{sid}/seats/{uid}/pause", {"reason": " "}))
    assert any("理由を入力してください" in f for f in flashes(refused))
    assert attempt_of(app, attempt_id).paused_at is None
    page = follow(proctor, proctor.post_form(f"/room/{sid}/seats/{uid}/pause", {"reason": "体調不良の申し出"}))
    assert "一時中断しました。" in flashes(page)
    mine = row_of(page, uid)
    assert "一時中断" in mine and "体調不良の申し出" in mine
    assert re.search(rf'<form[^>]*action="/room/{sid}/seats/{uid}/resume"', mine)   # now offered
    state = read_state(candidate, attempt_id)                   # and the candidate's page feels it
    assert state["phase"] == "paused" and state["pause_reason"] == "体調不良の申し出"
    bad = follow(proctor, proctor.post_form(f"/room/{sid}/seats/{uid}/time", {"minutes": "abc", "reason": "r"}))
    assert any("時間は1〜240分" in f for f in flashes(bad))
    page = follow(proctor, proctor.post_form(f"/room/{sid}/seats/{uid}/time", {"minutes": "5", "reason": "機器の不具合"}))
    assert "時間を追加しました。" in flashes(page)
    page = follow(proctor, proctor.post_form(f"/room/{sid}/seats/{uid}/terminate",
                                             {"reason": "カンニングペーパーの所持", "confirm": "on"}))
    assert "受検を中止しました。" in flashes(page) and "受検中止" in row_of(page, uid)
    assert attempt_of(app, attempt_id).submitted_by == "terminated"


def test_the_state_for_the_script_says_which_resume_ends_a_pause(app, sitting):
    sid, uid, _candidate, _attempt_id, proctor = sitting

    def seat():
        state = proctor.get(f"/room/{sid}/state").json
        assert re.fullmatch(r"\d\d:\d\d:\d\d", state["updated_at"])
        return next(s for s in state["seats"] if s["user_id"] == uid)

    assert seat()["pause_scope"] is None
    act(proctor, f"/room/{sid}/seats/{uid}/pause", reason="体調")
    assert seat()["pause_scope"] == "candidate"
    act(proctor, f"/room/{sid}/seats/{uid}/resume", reason="回復")
    act(proctor, f"/room/{sid}/pause", reason="火災報知器")
    assert seat()["pause_scope"] == "room" and seat()["state"] == "paused"
    refused = act(proctor, f"/room/{sid}/seats/{uid}/resume", reason="x")
    assert refused.status_code == 409 and "個別に一時中断" in refused.json["message"]


def test_the_signal_shows_its_countdown_then_started(app):
    sid = beginner(app)
    settings(app, sid, start_mode="signal")
    candidate = signed_in(app, "candidate1")
    enter(candidate, sid)
    proctor = signed_in(app, "proctor1")
    page = text(proctor.get(f"/room/{sid}"))
    assert re.search(r'<form method="post" id="signal-form"[^>]*action="/room/\d+/signal" >', page)
    assert 'name="confirm"' in page and re.search(r'id="signal-status"[^>]*hidden', page)
    assert act(proctor, f"/room/{sid}/signal").json["ok"]
    state = proctor.get(f"/room/{sid}/state").json
    assert 0 < state["signal_in_ms"] <= SIGNAL_LEAD_SECONDS * 1000 and state["signal_at_jst"]
    page = text(proctor.get(f"/room/{sid}"))
    assert re.search(r'id="signal-form"[^>]*hidden', page)
    assert re.search(r'id="signal-status" class="signal-status" >開始まで あと\d秒', page)
    with app.app_context():              # the moment passes
        d = db.session.get(SessionDetail, sid)
        d.signal_at -= timedelta(seconds=SIGNAL_LEAD_SECONDS + 1)
        db.session.commit()
    assert proctor.get(f"/room/{sid}/state").json["signal_in_ms"] == 0
    assert "開始済み（" in text(proctor.get(f"/room/{sid}"))


def test_filters_work_without_the_script(app, sitting):
    sid, uid, _candidate, _attempt_id, proctor = sitting
    other = user_id(app, "candidate2")
    page = text(proctor.get(f"/room/{sid}?state=answering"))
    assert " hidden>" not in row_of(page, uid).split("\n")[0]
    assert row_of(page, other).split("\n")[0].rstrip().endswith("hidden>")
    page = text(proctor.get(f"/room/{sid}?affiliation=存在しない所属"))
    assert row_of(page, uid).split("\n")[0].rstrip().endswith("hidden>")


def test_time_is_not_given_before_the_start_and_reasons_follow_the_character_rule(app):
    sid = beginner(app)
    uid = user_id(app, "candidate1")
    candidate = signed_in(app, "candidate1")
    enter(candidate, sid)                                          # in the lobby
    proctor = signed_in(app, "proctor1")
    for action, body in (("time", {"minutes": 5}), ("move", {"lost_minutes": 3})):
        refused = act(proctor, f"/room/{sid}/seats/{uid}/{action}", reason="r", **body)
        assert refused.status_code == 409 and "開始前" in refused.json["message"], action
    for bad, says in (("a\u202eb", "制御文字"), ("あ" * 2001, "2000文字"), (123, "理由を入力"),
                      (["x"], "理由を入力")):
        refused = act(proctor, f"/room/{sid}/seats/{uid}/note", reason=bad)
        assert refused.status_code == 409 and says in refused.json["message"], bad
    assert act(proctor, f"/room/{sid}/seats/{uid}/note", reason="一行目\r\n二行目").json["ok"]


# ---- where proctors land, and links -----------------------------------------------------------

def test_proctors_land_on_the_sessions_they_proctor(app):
    sid, other = beginner(app), intermediate(app)
    with app.app_context():
        db.session.execute(delete(Proctor).where(Proctor.session_id == other))
        db.session.commit()
        titles = {s.id: s.title for s in db.session.scalars(select(ExamSession))}
    proctor = signed_in(app, "proctor1")
    assert proctor.get("/").location.endswith("/room/")
    page = text(proctor.get("/room/"))
    assert f'href="/room/{sid}"' in page and titles[sid] in page
    assert f'href="/room/{other}"' not in page
    chair = text(signed_in(app, "vicechair").get("/room/"))
    assert f'href="/room/{sid}"' in chair and f'href="/room/{other}"' in chair
