"""The exam room through HTTP: the lobby, the start (the candidate's own and the proctor's
signal), pauses, time given, a move, a termination, notes, accommodations, access control,
and the pulse every page asks for."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.db.writegate import write_gate
from app.exam.sealed import unseal
from app.exam.sweeper import finalize_expired
from app.extensions import db
from app.models import (Attempt, AuditEvent, ExamSession, Registration, RoomEvent, SessionDetail,
                        User, utcnow)
from scoring.timing import SIGNAL_LEAD_SECONDS
from tests.conftest import Client


def beginner(app) -> int:
    with app.app_context():
        return db.session.scalar(select(ExamSession.id).where(ExamSession.level == "beginner"))


def settings(app, session_id: int, **values) -> None:
    with app.app_context():
        detail = db.session.get(SessionDetail, session_id)
        if detail is None:
            detail = SessionDetail(session_id=session_id, format="cbt")
            db.session.add(detail)
        for k, v in values.items():
            setattr(detail, k, v)
        db.session.commit()


def enter(client: Client, session_id: int, code: str | None = None):
    client.get("/exam/")
    data = {"access_code": code} if code is not None else {}
    return client.post_form(f"/exam/sessions/{session_id}/start", data)


def page_state(client: Client, attempt_id: int) -> tuple[str, dict]:
    page = client.get(f"/exam/attempts/{attempt_id}").get_data(as_text=True)
    return page, json.loads(re.search(r'id="exam-state">(.*?)</script>', page, re.S).group(1))


def read_state(client: Client, attempt_id: int) -> dict:
    return client.get(f"/exam/attempts/{attempt_id}/state",
                      headers={"Accept": "application/json"}).json


def save(client: Client, app, attempt_id: int, seq: int, client_id: str | None = None):
    with app.app_context():
        qid = db.session.get(Attempt, attempt_id).form[0]["id"]
    return client.post_json(f"/exam/attempts/{attempt_id}/answers", {
        "base_seq": seq, "client_id": client_id or uuid.uuid4().hex, "position": 1,
        "question_id": qid, "response": None, "flagged": True})


def attempt_of(app, attempt_id: int) -> Attempt:
    with app.app_context():
        a = db.session.get(Attempt, attempt_id)
        db.session.expunge(a)
        return a


def signed_in(app, username: str) -> Client:
    c = Client(app)
    assert c.login(username).status_code == 302
    return c


def act(proctor: Client, url: str, **body):
    return proctor.http.post(url, json=body, headers={"X-CSRFToken": proctor.csrf,
                                                      "Accept": "application/json"})


@pytest.fixture
def room(app):
    sid = beginner(app)
    candidate = signed_in(app, "candidate1")
    proctor = signed_in(app, "proctor1")
    proctor.get(f"/room/{sid}")
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == "candidate1"))
    return sid, candidate, proctor, uid


def running(app, candidate: Client, sid: int) -> int:
    resp = enter(candidate, sid)
    attempt_id = int(re.search(r"/attempts/(\d+)", resp.location).group(1))
    candidate.get(resp.location)
    candidate.begin(attempt_id)
    return attempt_id


def test_the_lobby_draws_the_form_and_waits_with_the_questions_sealed(app, room):
    sid, candidate, _proctor, _uid = room
    resp = enter(candidate, sid)
    attempt_id = int(re.search(r"/attempts/(\d+)", resp.location).group(1))
    page, state = page_state(candidate, attempt_id)
    assert state["phase"] == "lobby" and state["key"] is None
    shown = [f'data-qid="{item["id"]}"' for item in attempt_of(app, attempt_id).form]
    assert not any(q in page for q in shown)                  # no question before the start
    sealed = json.loads(re.search(r'id="sealed-questions">(.*?)</script>', page, re.S).group(1))
    assert save(candidate, app, attempt_id, 0).json["error"] == "not_started"
    began = candidate.begin(attempt_id)
    assert began["phase"] == "running" and began["remaining_ms"] > 0
    opened = unseal(sealed, began["key"])                     # what the page does at the start
    assert all(q in opened for q in shown)
    assert save(candidate, app, attempt_id, 0).status_code == 200


def test_a_room_on_the_signal_starts_everyone_at_one_moment(app, room):
    sid, candidate, proctor, _uid = room
    settings(app, sid, start_mode="signal")
    other = signed_in(app, "candidate2")
    waiting = []
    for c in (candidate, other):
        resp = enter(c, sid)
        waiting.append(int(re.search(r"/attempts/(\d+)", resp.location).group(1)))
        c.get(resp.location)
    refused = candidate.http.post(f"/exam/attempts/{waiting[0]}/begin", json={},
                                  headers={"X-CSRFToken": candidate.csrf})
    assert refused.status_code == 409 and refused.json["error"] == "wait_signal"
    v = candidate.get(f"/exam/attempts/{waiting[0]}/pulse").json["v"]
    signalled = act(proctor, f"/room/{sid}/signal")
    assert signalled.status_code == 200, signalled.get_data(as_text=True)
    assert 0 < signalled.json["starts_in_ms"] <= SIGNAL_LEAD_SECONDS * 1000
    # Every page learns it from the pulse, then its state: the same start for both, a few
    # seconds ahead, the key already there.
    assert candidate.get(f"/exam/attempts/{waiting[0]}/pulse").json["v"] > v
    states = [read_state(c, a) for c, a in zip((candidate, other), waiting)]
    assert all(s["phase"] == "running" and s["starts_in_ms"] > 0 and s["key"] for s in states)
    starts = {attempt_of(app, a).started_at for a in waiting}
    assert len(starts) == 1
    assert save(candidate, app, waiting[0], 0).json["error"] == "not_started"   # not yet
    assert act(proctor, f"/room/{sid}/signal").json["error"] == "room_refused"   # once only
    with app.app_context():                                   # the moment comes
        db.session.execute(update(Attempt).where(Attempt.id.in_(waiting))
                           .values(started_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert save(candidate, app, waiting[0], 0).status_code == 200


def test_extra_time_counts_from_the_start_and_the_proctor_sees_it_without_the_reason(app, room):
    sid, candidate, proctor, uid = room
    with app.app_context():
        reg = db.session.scalar(select(Registration).where(Registration.session_id == sid,
                                                           Registration.user_id == uid))
        reg.extra_minutes, reg.extra_percent = 10, 50
        reg.accommodation_reason = "弱視のため（医師の診断書あり）"
        session = db.session.get(ExamSession, sid)
        duration = session.duration_minutes
        db.session.commit()
    attempt_id = running(app, candidate, sid)
    a = attempt_of(app, attempt_id)
    extra = 10 * 60 + duration * 60 // 2
    assert abs((a.deadline - a.started_at).total_seconds() - (duration * 60 + extra)) < 2
    seat = next(s for s in proctor.get(f"/room/{sid}/state").json["seats"] if s["user_id"] == uid)
    assert seat["extra_seconds"] == extra
    assert "弱視" not in proctor.get(f"/room/{sid}").get_data(as_text=True)
    assert "弱視" not in json.dumps(proctor.get(f"/room/{sid}/state").json, ensure_ascii=False)


def test_a_pause_stops_the_clock_refuses_saves_and_gives_the_time_back(app, room):
    sid, candidate, proctor, uid = room
    attempt_id = running(app, candidate, sid)
    v = candidate.get(f"/exam/attempts/{attempt_id}/pulse").json["v"]
    assert act(proctor, f"/room/{sid}/seats/{uid}/pause").status_code == 409    # a reason, always
    assert act(proctor, f"/room/{sid}/seats/{uid}/pause", reason="体調不良の申し出").status_code == 200
    assert candidate.get(f"/exam/attempts/{attempt_id}/pulse").json["v"] > v
    state = read_state(candidate, attempt_id)
    assert state["phase"] == "paused" and state["pause_reason"] == "体調不良の申し出"
    refused = save(candidate, app, attempt_id, 0)
    assert refused.status_code == 409 and refused.json["error"] == "paused"
    assert "体調不良" in refused.json["message"]
    before = attempt_of(app, attempt_id)
    with app.app_context():                   # ten minutes pass while paused
        db.session.execute(update(Attempt).where(Attempt.id == attempt_id)
                           .values(paused_at=before.paused_at - timedelta(minutes=10)))
        db.session.commit()
        assert finalize_expired(before.deadline + timedelta(minutes=1)) == 0   # the clock stands
    assert act(proctor, f"/room/{sid}/seats/{uid}/resume", reason="回復").status_code == 200
    after = attempt_of(app, attempt_id)
    given = (after.deadline - before.deadline).total_seconds()
    assert 600 <= given < 605
    assert after.paused_at is None and save(candidate, app, attempt_id, 0).status_code == 200
    with app.app_context():
        events = [(e.action, e.reason) for e in db.session.scalars(
            select(RoomEvent).where(RoomEvent.session_id == sid).order_by(RoomEvent.id))]
        assert events == [("pause", "体調不良の申し出"), ("resume", "回復")]
        audited = {e.event for e in db.session.scalars(select(AuditEvent))}
        assert {"room_pause", "room_resume"} <= audited


def test_the_whole_room_pauses_and_resumes_and_nobody_starts_meanwhile(app, room):
    sid, candidate, proctor, _uid = room
    attempt_id = running(app, candidate, sid)
    late = signed_in(app, "candidate2")
    assert act(proctor, f"/room/{sid}/pause", reason="火災報知器").json["ok"]
    assert read_state(candidate, attempt_id)["phase"] == "paused"
    resp = enter(late, sid)
    late_id = int(re.search(r"/attempts/(\d+)", resp.location).group(1))
    late.get(resp.location)
    refused = late.http.post(f"/exam/attempts/{late_id}/begin", json={},
                             headers={"X-CSRFToken": late.csrf})
    assert refused.status_code == 409 and refused.json["error"] == "room_paused"
    assert act(proctor, f"/room/{sid}/resume", reason="誤報").json["ok"]
    assert read_state(candidate, attempt_id)["phase"] == "running"
    assert late.begin(late_id)["phase"] == "running"


def test_time_given_to_one_and_to_the_room(app, room):
    sid, candidate, proctor, uid = room
    attempt_id = running(app, candidate, sid)
    before = attempt_of(app, attempt_id).deadline
    assert act(proctor, f"/room/{sid}/seats/{uid}/time", minutes=5, reason="機器の不具合").json["ok"]
    assert act(proctor, f"/room/{sid}/time", minutes=3, reason="放送の中断").json["ok"]
    assert attempt_of(app, attempt_id).deadline - before == timedelta(minutes=8)
    for bad in (0, -1, 241, "x", None):
        assert act(proctor, f"/room/{sid}/seats/{uid}/time", minutes=bad, reason="r").status_code == 409


def test_a_saves_reply_carries_the_rooms_number(app, room):
    """The page hears a proctor's action in a save's reply as in a pulse (and skips a pulse)."""
    from app.exam.lobby import forget_room
    sid, candidate, proctor, uid = room
    attempt_id = running(app, candidate, sid)
    first = save(candidate, app, attempt_id, 0).json
    assert first["v"] == candidate.get(f"/exam/attempts/{attempt_id}/pulse").json["v"]
    assert act(proctor, f"/room/{sid}/seats/{uid}/time", minutes=5, reason="機器の不具合").json["ok"]
    with app.app_context():
        forget_room(sid)          # as the room's cache is after a second
    second = save(candidate, app, attempt_id, first["seq"]).json
    assert second["ok"] and second["v"] == first["v"] + 1


def test_a_move_pauses_gives_the_lost_time_back_and_signs_the_failed_pc_out(app, room):
    sid, candidate, proctor, uid = room
    attempt_id = running(app, candidate, sid)
    before = attempt_of(app, attempt_id)
    assert act(proctor, f"/room/{sid}/seats/{uid}/move", lost_minutes=4,
               reason="端末が再起動を繰り返す").json["ok"]
    after = attempt_of(app, attempt_id)
    assert after.deadline - before.deadline == timedelta(minutes=4) and after.paused_at is not None
    assert read_state(candidate, attempt_id) is None or \
        candidate.get(f"/exam/attempts/{attempt_id}/state",
                      headers={"Accept": "application/json"}).status_code == 401   # old PC out
    new_pc = signed_in(app, "candidate1")
    assert new_pc.get(f"/exam/attempts/{attempt_id}/state",
                      headers={"Accept": "application/json"}).json["phase"] == "paused"
    assert act(proctor, f"/room/{sid}/seats/{uid}/resume", reason="別端末に着席").json["ok"]
    assert read_state(new_pc, attempt_id)["phase"] == "running"


def test_termination_submits_and_is_on_record(app, room):
    sid, candidate, proctor, uid = room
    attempt_id = running(app, candidate, sid)
    assert act(proctor, f"/room/{sid}/seats/{uid}/note", reason="私語あり（注意済み）").json["ok"]
    assert act(proctor, f"/room/{sid}/seats/{uid}/terminate", reason="カンニングペーパーの所持").json["ok"]
    a = attempt_of(app, attempt_id)
    assert a.submitted_by == "terminated" and a.correct is not None
    assert read_state(candidate, attempt_id)["phase"] == "finished"
    assert save(candidate, app, attempt_id, a.last_seq).json["error"] == "finished"
    seat = next(s for s in proctor.get(f"/room/{sid}/state").json["seats"] if s["user_id"] == uid)
    assert seat["state"] == "terminated"
    with app.app_context():
        assert [e.action for e in db.session.scalars(select(RoomEvent).where(
            RoomEvent.user_id == uid).order_by(RoomEvent.id))] == ["note", "terminate"]


def test_only_the_sessions_proctors_the_vice_chair_and_the_chair_run_the_room(app, room):
    sid, candidate, proctor, uid = room
    with app.app_context():
        other = db.session.scalar(select(ExamSession.id).where(ExamSession.level == "intermediate"))
        from app.models import Proctor
        db.session.execute(Proctor.__table__.delete().where(Proctor.session_id == other))
        db.session.commit()
    assert proctor.get(f"/room/{other}").status_code == 403           # not assigned there
    assert act(proctor, f"/room/{other}/pause", reason="x").status_code == 403
    assert proctor.get(f"/room/{sid}").status_code == 200
    chair = signed_in(app, "chair")
    assert chair.get(f"/room/{other}").status_code == 200
    committee = signed_in(app, "committee1")
    assert committee.get(f"/room/{sid}").status_code == 403
    assert candidate.get(f"/room/{sid}/state", headers={"Accept": "application/json"}).status_code == 403


def test_the_access_code_is_asked_once(app, room):
    sid, candidate, proctor, _uid = room
    code = act(proctor, f"/room/{sid}/code").json["message"]
    code = re.search(r"(\d{6})", code).group(1)
    resp = enter(candidate, sid)
    assert resp.status_code == 303                            # back to the list, with why
    assert "入室コード" in candidate.get("/exam/").get_data(as_text=True)
    assert enter(candidate, sid, "000000" if code != "000000" else "111111").status_code == 303
    fullwidth = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    resp = enter(candidate, sid, fullwidth[:3] + " " + fullwidth[3:])
    assert resp.status_code == 302 and "/attempts/" in resp.location
    act(proctor, f"/room/{sid}/code")                          # a new code: those in stay in
    assert enter(candidate, sid).status_code == 302
    with app.app_context():
        refused = [json.loads(e.detail_json)["reason"] for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "start_refused"))]
    assert refused == ["code_missing", "code_mismatch"]


def test_allowed_networks_and_safe_exam_browser(app, room):
    sid, candidate, _proctor, _uid = room
    attempt_id = running(app, candidate, sid)
    settings(app, sid, allowed_networks="10.20.0.0/16\n")
    from app.exam.lobby import forget_room
    with app.app_context():
        forget_room(sid)
    refused = candidate.get(f"/exam/attempts/{attempt_id}/state", headers={"Accept": "application/json"})
    assert refused.status_code == 403 and refused.json["error"] == "network"
    assert save(candidate, app, attempt_id, 0).status_code == 403
    inside = {"REMOTE_ADDR": "10.20.3.4"}
    assert candidate.http.get(f"/exam/attempts/{attempt_id}/state", environ_base=inside,
                              headers={"Accept": "application/json"}).status_code == 200
    key = hashlib.sha256(b"seb").hexdigest()
    settings(app, sid, allowed_networks=None, seb_config_keys=key + "\n")
    with app.app_context():
        forget_room(sid)
    url = f"http://localhost/exam/attempts/{attempt_id}/state"
    assert candidate.get(url, headers={"Accept": "application/json"}).json["error"] == "seb_missing"
    good = hashlib.sha256((url + key).encode()).hexdigest()
    assert candidate.get(url, headers={"Accept": "application/json",
                                       "X-SafeExamBrowser-ConfigKeyHash": good}).status_code == 200
    bad = candidate.get(url, headers={"Accept": "application/json",
                                      "X-SafeExamBrowser-ConfigKeyHash": "0" * 64})
    assert bad.json["error"] == "seb_mismatch"
    with app.app_context():
        reasons = [json.loads(e.detail_json)["reason"] for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "access_refused"))]
    assert reasons.count("network") == 2 and {"seb_missing", "seb_mismatch"} <= set(reasons)


def test_the_sweeper_and_the_page_agree_on_a_moved_deadline(app, room):
    """Across servers the deadline is the database's: a second app on the same database
    sees the time given at once, and the sweeper does not submit before it."""
    sid, candidate, proctor, uid = room
    attempt_id = running(app, candidate, sid)
    old = attempt_of(app, attempt_id).deadline
    act(proctor, f"/room/{sid}/seats/{uid}/time", minutes=30, reason="延長")
    with app.app_context(), write_gate():
        assert finalize_expired(old + timedelta(minutes=1)) == 0
        assert finalize_expired(old + timedelta(minutes=31)) == 1
    assert attempt_of(app, attempt_id).submitted_by == "deadline"


def test_the_pulse_is_the_owners_only(app, room):
    sid, candidate, _proctor, _uid = room
    attempt_id = running(app, candidate, sid)
    assert candidate.get(f"/exam/attempts/{attempt_id}/pulse").json["ok"] is True
    other = signed_in(app, "candidate2")
    assert other.get(f"/exam/attempts/{attempt_id}/pulse",
                     headers={"Accept": "application/json"}).status_code == 404
    anonymous = Client(app)
    assert anonymous.get(f"/exam/attempts/{attempt_id}/pulse",
                         headers={"Accept": "application/json"}).status_code == 401


def test_sealed_questions_open_only_with_their_attempts_key(app, room):
    sid, candidate, _proctor, _uid = room
    resp = enter(candidate, sid)
    attempt_id = int(re.search(r"/attempts/(\d+)", resp.location).group(1))
    page, _state = page_state(candidate, attempt_id)
    sealed = json.loads(re.search(r'id="sealed-questions">(.*?)</script>', page, re.S).group(1))
    wrong = base64.b64encode(bytes(32)).decode()
    with pytest.raises(Exception):
        unseal(sealed, wrong)
