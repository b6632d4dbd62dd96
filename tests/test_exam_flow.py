"""Sitting the exam through HTTP: saves, refusals, resume, submit, deadline, scoring."""
from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from app.banks.versions import snapshot
from app.exam.sweeper import finalize_expired
from app.extensions import db
from app.models import AnswerStep, Attempt, AuditEvent, latest_steps, utcnow
from tests.choicetools import posted_for
from tests.conftest import Client


def cid():
    return uuid.uuid4().hex


def key_for(app, state, position):
    """The keyed (right) response for the question at a position, from the stored version."""
    with app.app_context():
        attempt = db.session.get(Attempt, state["attempt"])
        _bp, questions = snapshot(attempt.bank_version)
        q = questions[attempt.form[position - 1]["id"]]
        if q.type == "multiple":
            return q.id, list(q.answer)
        if q.type == "text":
            return q.id, q.answer[0]
        return q.id, q.answer


def wrong_for(app, state, position):
    with app.app_context():
        attempt = db.session.get(Attempt, state["attempt"])
        _bp, questions = snapshot(attempt.bank_version)
        q = questions[attempt.form[position - 1]["id"]]
        if q.type == "single":
            return q.id, next(c.key for c in q.choices if c.key != q.answer)
        if q.type == "multiple":
            return q.id, [next(c.key for c in q.choices if c.key not in q.answer)]
        if q.type == "true_false":
            return q.id, not q.answer
        return q.id, "まちがい"


def save(client, state, position, qid, response, flagged=False, base=None):
    """Save `response` (in the bank's keys) as the page does: choices by shown position."""
    body = {"base_seq": state["seq"] if base is None else base, "client_id": cid(),
            "position": position, "question_id": qid, "flagged": flagged,
            "response": posted_for(client.app, state["attempt"], position, response)}
    resp = client.post_json(state["urls"]["save"], body)
    if resp.status_code == 200:
        state["seq"] = resp.json["seq"]
    return resp


def steps_count(app, attempt_id):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AnswerStep)
                                 .where(AnswerStep.attempt_id == attempt_id))


def audit_events(app, event):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == event)))


def test_whole_exam_scored_by_the_seventy_percent_rule(app, candidate):
    state = candidate.start()
    assert state["count"] == 40
    # 28 right, 12 wrong: exactly 70%, a pass (27/40 would fail).
    for pos in range(1, 41):
        qid, resp = key_for(app, state, pos) if pos <= 28 else wrong_for(app, state, pos)
        assert save(candidate, state, pos, qid, resp).status_code == 200
    page = candidate.get(state["urls"]["confirm"])
    assert "未解答の問題はありません" in page.get_data(as_text=True)
    resp = candidate.post_form(f"/exam/attempts/{state['attempt']}/submit")
    assert resp.status_code == 302 and resp.location.endswith("/done")
    with app.app_context():
        a = db.session.get(Attempt, state["attempt"])
        assert (a.correct, a.total, a.passed, a.submitted_by) == (28, 40, True, "candidate")
        by_area = json.loads(a.score_json)["by_area"]
        assert set(by_area) == {"incidents", "networks", "infosec", "response"}
        assert sum(total for _right, total in by_area.values()) == 40


def test_twenty_seven_of_forty_fails(app, candidate):
    state = candidate.start()
    for pos in range(1, 28):
        qid, resp = key_for(app, state, pos)
        assert save(candidate, state, pos, qid, resp).status_code == 200
    candidate.post_form(f"/exam/attempts/{state['attempt']}/submit")
    with app.app_context():
        a = db.session.get(Attempt, state["attempt"])
        assert (a.correct, a.total, a.passed) == (27, 40, False)


def test_latest_answer_counts_and_history_is_kept(app, candidate):
    state = candidate.start()
    qid, right = key_for(app, state, 1)
    _, wrong = wrong_for(app, state, 1)
    for resp in (wrong, right, wrong, right):
        assert save(candidate, state, 1, qid, resp).status_code == 200
    with app.app_context():
        assert latest_steps(state["attempt"])[1].response == right
    assert steps_count(app, state["attempt"]) == 4          # append-only
    assert state["seq"] == 4


def test_resume_after_closing_the_browser(app, candidate):
    state = candidate.start()
    qid, resp = key_for(app, state, 5)
    save(candidate, state, 5, qid, resp, flagged=True)
    # A new browser: new cookies, sign in again.
    again = Client(app)
    again.login("candidate1")
    resumed = again.start()
    assert resumed["attempt"] == state["attempt"]
    assert resumed["position"] == 5
    assert resumed["answers"]["5"] == {"response": posted_for(app, state["attempt"], 5, resp),
                                       "flagged": True}
    assert resumed["seq"] == state["seq"]
    assert resumed["remaining_ms"] <= state["remaining_ms"]


def test_stale_tab_is_refused_and_changes_nothing(app, candidate):
    state = candidate.start()
    qid, right = key_for(app, state, 1)
    _, wrong = wrong_for(app, state, 1)
    old_tab = dict(state)
    assert save(candidate, state, 1, qid, right).status_code == 200
    resp = save(candidate, old_tab, 1, qid, wrong)
    assert resp.status_code == 409 and resp.json["error"] == "stale"
    with app.app_context():
        assert latest_steps(state["attempt"])[1].response == right
    assert steps_count(app, state["attempt"]) == 1
    assert audit_events(app, "answer_refused")


def test_a_retried_save_is_stored_once(app, candidate):
    state = candidate.start()
    qid, resp = key_for(app, state, 1)
    body = {"base_seq": 0, "client_id": cid(), "position": 1, "question_id": qid,
            "response": posted_for(app, state["attempt"], 1, resp), "flagged": False}
    first = candidate.post_json(state["urls"]["save"], body)
    again = candidate.post_json(state["urls"]["save"], body)   # the response was lost; resend
    assert first.status_code == again.status_code == 200
    assert first.json["seq"] == again.json["seq"] == 1 and again.json["duplicate"] is True
    assert steps_count(app, state["attempt"]) == 1


@pytest.mark.parametrize("change", [
    {"position": 41}, {"position": 0}, {"position": "1"}, {"question_id": "NOT-ON-FORM"},
])
def test_question_not_on_the_form_is_refused(app, candidate, change):
    state = candidate.start()
    qid, resp = key_for(app, state, 1)
    body = {"base_seq": 0, "client_id": cid(), "position": 1, "question_id": qid,
            "response": posted_for(app, state["attempt"], 1, resp), "flagged": False, **change}
    r = candidate.post_json(state["urls"]["save"], body)
    assert r.status_code in (400, 404)
    assert steps_count(app, state["attempt"]) == 0


@pytest.mark.parametrize("response", ["zz", ["a", "a"], 12, {"x": 1}, "x" * 500])
def test_malformed_answers_are_refused_with_a_japanese_message(app, candidate, response):
    state = candidate.start()
    # Any text is a valid answer to a text question: use the first question of another type.
    with app.app_context():
        attempt = db.session.get(Attempt, state["attempt"])
        _bp, questions = snapshot(attempt.bank_version)
        pos = next(i for i, item in enumerate(attempt.form, start=1)
                   if questions[item["id"]].type != "text")
    qid, _ = key_for(app, state, pos)
    r = save(candidate, state, pos, qid, response)
    assert r.status_code == 400
    assert r.json["ok"] is False and any("\u3040" <= ch <= "\u30ff" for ch in r.json["message"])
    assert steps_count(app, state["attempt"]) == 0


def test_not_json_and_missing_csrf_are_refused(app, candidate):
    state = candidate.start()
    r = candidate.http.post(state["urls"]["save"], data="garbage",
                            headers={"X-CSRFToken": candidate.csrf, "Content-Type": "text/plain"})
    assert r.status_code == 400
    qid, resp = key_for(app, state, 1)
    resp = posted_for(app, state["attempt"], 1, resp)
    r = candidate.post_json(state["urls"]["save"], {"base_seq": 0, "client_id": cid(), "position": 1,
                                                    "question_id": qid, "response": resp}, csrf=False)
    assert r.status_code == 400 and r.json["error"] == "csrf"
    assert steps_count(app, state["attempt"]) == 0


def test_malformed_form_post_gets_a_japanese_page_not_a_trace(app, candidate):
    r = candidate.http.post("/exam/sessions/1/start", data={"csrf_token": "forged"})
    text = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "画面の有効期限が切れたか、不正な送信です" in text
    assert "Traceback" not in text
    r = candidate.get("/exam/attempts/notanumber")
    assert r.status_code == 404 and "ページが見つかりません" in r.get_data(as_text=True)


def test_another_candidates_attempt_is_not_found(app, candidate):
    state = candidate.start()
    other = Client(app)
    other.login("candidate2")
    other.start()
    for url in (state["urls"]["confirm"], f"/exam/attempts/{state['attempt']}"):
        assert other.get(url).status_code == 404
    qid, resp = key_for(app, state, 1)
    resp = posted_for(app, state["attempt"], 1, resp)
    r = other.post_json(state["urls"]["save"], {"base_seq": 0, "client_id": cid(), "position": 1,
                                                "question_id": qid, "response": resp, "flagged": False})
    assert r.status_code == 404
    assert steps_count(app, state["attempt"]) == 0
    assert audit_events(app, "attempt_access_refused")


def test_unregistered_candidate_cannot_start(app):
    c = Client(app)
    c.login("candidate2")                # registered for beginner only
    from app.models import ExamSession
    with app.app_context():
        sid = db.session.scalar(select(ExamSession.id).where(ExamSession.level == "intermediate"))
    c.get("/exam/")
    r = c.post_form(f"/exam/sessions/{sid}/start")
    assert r.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0


def test_finished_attempt_refuses_answers_and_double_submit_is_harmless(app, candidate):
    state = candidate.start()
    qid, resp = key_for(app, state, 1)
    save(candidate, state, 1, qid, resp)
    url = f"/exam/attempts/{state['attempt']}/submit"
    assert candidate.post_form(url).status_code == 302
    with app.app_context():
        first = db.session.get(Attempt, state["attempt"]).submitted_at
    assert candidate.post_form(url).status_code == 302
    with app.app_context():
        a = db.session.get(Attempt, state["attempt"])
        assert a.submitted_at == first and a.correct == 1
        assert len([e for e in audit_events(app, "attempt_submitted")]) == 1
    r = save(candidate, state, 1, qid, resp)
    assert r.status_code == 409 and r.json["error"] == "finished"
    assert steps_count(app, state["attempt"]) == 1


def move_deadline(app, attempt_id, seconds_from_now):
    with app.app_context():
        a = db.session.get(Attempt, attempt_id)
        a.deadline = utcnow() + timedelta(seconds=seconds_from_now)
        db.session.commit()


def test_answers_after_the_deadline_are_refused_and_logged(app, candidate):
    state = candidate.start()
    qid, resp = key_for(app, state, 1)
    save(candidate, state, 1, qid, resp)
    move_deadline(app, state["attempt"], -1)
    r = save(candidate, state, 2, *key_for(app, state, 2))
    assert r.status_code == 409 and r.json["error"] == "deadline"
    assert steps_count(app, state["attempt"]) == 1
    refused = audit_events(app, "answer_refused")
    assert any('"deadline"' in e.detail_json for e in refused)
    with app.app_context():
        a = db.session.get(Attempt, state["attempt"])
        assert a.submitted_by == "deadline" and a.correct == 1


def test_the_server_submits_at_the_deadline_with_no_browser(app, candidate):
    state = candidate.start()
    for pos in (1, 2, 3):
        save(candidate, state, pos, *key_for(app, state, pos))
    move_deadline(app, state["attempt"], -5)
    with app.app_context():
        assert finalize_expired(utcnow()) == 1
        assert finalize_expired(utcnow()) == 0          # once only
        a = db.session.get(Attempt, state["attempt"])
        assert (a.submitted_by, a.correct, a.total, a.passed) == ("deadline", 3, 40, False)
        assert a.submitted_at <= a.deadline + timedelta(seconds=1)


def test_a_bank_edited_during_a_session_changes_nothing_for_sitting_candidates(app, candidate, tmp_path):
    import shutil

    from app.banks.versions import import_banks
    from tests.conftest import BANKS
    state = candidate.start()
    with app.app_context():
        before = db.session.get(Attempt, state["attempt"]).form
    copy = tmp_path / "banks"
    shutil.copytree(BANKS, copy)
    target = copy / "incidents" / "law_procedure.yaml"
    target.write_text(target.read_text(encoding="utf-8").replace("stem: |\n", "stem: |\n      【改訂】\n", 1),
                      encoding="utf-8")
    with app.app_context():
        new = import_banks(str(copy))
        db.session.commit()
        a = db.session.get(Attempt, state["attempt"])
        assert new.id != a.bank_version_id
        assert a.form == before
    page = candidate.get(f"/exam/attempts/{state['attempt']}").get_data(as_text=True)
    assert "【改訂】" not in page


def test_keys_and_explanations_never_reach_the_exam_page(app, candidate):
    state = candidate.start()
    page = candidate.get(f"/exam/attempts/{state['attempt']}").get_data(as_text=True)
    with app.app_context():
        a = db.session.get(Attempt, state["attempt"])
        _bp, questions = snapshot(a.bank_version)
        for item in a.form:
            q = questions[item["id"]]
            first_line = q.explanation.strip().splitlines()[0]
            assert first_line not in page, q.id
    # The page state carries only the candidate's own answers, nothing keyed (its "key" is
    # the one that opens the questions sent sealed to the lobby, 32 random-looking bytes).
    assert set(state) == {"attempt", "seq", "position", "remaining_ms", "count", "answers", "urls",
                          "ok", "finished", "phase", "starts_in_ms", "pause_scope",
                          "pause_reason", "v", "key"}
    assert len(base64.b64decode(state["key"])) == 32
    assert all(set(v) == {"response", "flagged"} for v in state["answers"].values())


def test_pages_need_the_candidate_role(app):
    c = Client(app)
    assert c.get("/exam/").status_code == 302            # to the login page
    c.login("committee1")
    assert c.get("/exam/").status_code == 403
    assert audit_events(app, "forbidden")


def test_login_failure_is_refused_in_japanese(app):
    c = Client(app)
    r = c.login("candidate1", "wrong")
    assert r.status_code == 401
    assert "ユーザーIDまたはパスワードが正しくありません" in r.get_data(as_text=True)
    assert audit_events(app, "login_failed")


def test_resume_returns_to_the_question_on_screen(app, candidate):
    state = candidate.start()
    assert candidate.post_json(state["urls"]["position"], {"position": 17}).status_code == 200
    for bad in (0, 41, "3", None):
        assert candidate.post_json(state["urls"]["position"], {"position": bad}).status_code == 400
    again = Client(app)
    again.login("candidate1")
    assert again.start()["position"] == 17


def _sections(html):
    import re
    return re.findall(r'<section class="question"[^>]*>(.*?)<label class="flag">', html, re.S)


def _direct(app, attempt_id, answers):
    """Each question of the attempt rendered straight from shared_question.html."""
    from flask import render_template
    with app.test_request_context():
        attempt = db.session.get(Attempt, attempt_id)
        _bp, questions = snapshot(attempt.bank_version)
        out = []
        for pos, item in enumerate(attempt.form, start=1):
            q = questions[item["id"]]
            by_key = {c.key: c for c in q.choices}
            it = {"position": pos, "q": q, "choices": [by_key[k] for k in item["choice_order"]],
                  "response": answers.get(pos)}
            out.append(render_template("shared_question.html", it=it, q=q, total=len(attempt.form)))
        return out


def test_exam_page_questions_are_exactly_the_shared_template(app, candidate):
    """The page reuses rendered questions (app/exam/fragments.py); what it shows must
    be what the shared template renders for that position, choice order and answer, on the
    first view, after answers, and for a second candidate given the same question."""
    state = candidate.start()
    url = f"/exam/attempts/{state['attempt']}"
    first = _sections(candidate.get(url).get_data(as_text=True))
    assert len(first) == state["count"] > 9
    assert [s.strip() for s in first] == [s.strip() for s in _direct(app, state["attempt"], {})]
    answers = {}
    for pos in (1, 10, state["count"]):
        qid, response = key_for(app, state, pos)
        assert save(candidate, state, pos, qid, response).status_code == 200
        answers[pos] = response
    again = _sections(candidate.get(url).get_data(as_text=True))
    assert again != first
    assert [s.strip() for s in again] == [s.strip() for s in _direct(app, state["attempt"], answers)]
    assert "\x00" not in candidate.get(url).get_data(as_text=True)


def test_deactivating_a_user_ends_their_open_session(app, candidate):
    """Every request reads the user afresh (app/auth/routes.py: Principal; the usual save in
    its own claim statement): a deactivated account is signed out at once, its next save
    refused as unauthorized and stored nowhere."""
    from app.models import User
    state = candidate.start()
    qid, response = key_for(app, state, 1)
    assert save(candidate, state, 1, qid, response).status_code == 200
    with app.app_context():
        db.session.scalar(select(User).where(User.username == "candidate1")).active = False
        db.session.commit()
    assert save(candidate, state, 2, *key_for(app, state, 2)).status_code == 401
    assert steps_count(app, state["attempt"]) == 1
    page = candidate.get(f"/exam/attempts/{state['attempt']}")
    assert page.status_code == 302 and "/login" in page.location


def test_a_save_after_the_candidate_role_is_withdrawn_is_refused(app, candidate):
    """The usual save checks the role in its claim statement, not through role_required:
    a user who is no longer a candidate gets 403 (logged) and nothing is stored."""
    from app.models import User, UserRole
    state = candidate.start()
    assert save(candidate, state, 1, *key_for(app, state, 1)).status_code == 200
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == "candidate1"))
        db.session.execute(delete(UserRole).where(UserRole.user_id == uid,
                                                  UserRole.role == "candidate"))
        db.session.add(UserRole(user_id=uid, role="author"))     # still signed in, another role
        db.session.commit()
    r = save(candidate, state, 2, *key_for(app, state, 2))
    assert r.status_code == 403
    assert steps_count(app, state["attempt"]) == 1
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.id).where(
            AuditEvent.event == "forbidden", AuditEvent.user_id == uid)) is not None
