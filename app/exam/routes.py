"""Candidate (受検者): the open sessions, sitting the exam, and submitting it."""
from __future__ import annotations

import json

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from scoring.choice_positions import to_positions
from scoring.timing import extra_seconds, remaining_ms

from ..auth.routes import role_required, session_user
from ..channel.links import connect_origin, events_url
from ..core import audit
from ..core.errors import error_response
from ..core.logs import ENVIRON_USER_ID
from ..core.security import CONTENT_SECURITY_POLICY
from ..db.writegate import write_gate
from ..extensions import db
from ..models import Attempt, ExamSession, Registration, SessionDetail, latest_steps, utcnow
from ..register import invitations as invitation_ops
from ..review.sheets import certified_result, sheet_items, wrong_only
from ..sessions.registrations import registration_of
from . import bp
from .attempts import (Refused, attempt_questions, close_if_expired, open_attempt,
                       open_sessions_for, paused_refusal, record_answer, remember_position,
                       submit_attempt)
from .forms import StartForm, SubmitAttemptForm
from .fragments import question_html
from .lobby import access_code_refusal, attempt_state, room
from .saving import prepare_save, store_save
from .sealed import seal


def _own_attempt(attempt_id: int) -> Attempt:
    """The candidate's own attempt; anyone else's is 'not found', and the try is logged."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id:
        audit.record_now("attempt_access_refused", current_user.id, attempt_id=attempt_id,
                         path=request.path)
        abort(404)
    return attempt


def _current(attempt_id: int):
    """The candidate's own attempt as of now: past its deadline it is submitted first, so
    every page sees the state the server enforces."""
    attempt = _own_attempt(attempt_id)
    now = utcnow()
    if not attempt.finished and attempt.paused_at is None and now >= attempt.deadline:
        with write_gate():
            if close_if_expired(attempt, now):
                db.session.commit()
    return attempt, now


def _script_json(data) -> str:
    """JSON safe inside <script>: a typed answer like '</script>' cannot end the element."""
    return (json.dumps(data, ensure_ascii=False)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _remaining_ms(attempt: Attempt, now) -> int:
    return remaining_ms(attempt.deadline, now, attempt.paused_at)


@bp.get("/")
@role_required("candidate")
def home():
    now = utcnow()
    sessions = open_sessions_for(current_user, now)
    attempts = {a.session_id: a for a in db.session.scalars(
        select(Attempt).where(Attempt.user_id == current_user.id))}
    for a in attempts.values():
        close_if_expired(a, now)
    invitations = invitation_ops.invitations_of(current_user, now)     # 第3-11; marks them seen
    db.session.commit()
    past = [a for a in attempts.values() if a.finished]
    registrations = {r.session_id: r for r in db.session.scalars(
        select(Registration).where(Registration.user_id == current_user.id))}
    # The access code is asked of those who have not entered yet (once per sitting).
    needs_code = {s.id for s in sessions if s.id not in attempts and room(s.id).access_code
                  and not (s.id in registrations and registrations[s.id].access_granted_at)}
    extras = {s.id: extra_seconds(s.duration_minutes, r.extra_minutes, r.extra_percent)
              for s in sessions if (r := registrations.get(s.id)) is not None}
    return render_template("candidate/home.html", sessions=sessions, attempts=attempts, now=now,
                           past=sorted(past, key=lambda a: a.started_at, reverse=True),
                           start_form=StartForm(), needs_code=needs_code, extras=extras,
                           invitations=invitations, level_requirements=invitation_ops.current_levels())


@bp.post("/sessions/<int:session_id>/start")
@role_required("candidate")
def start(session_id: int):
    """Into the lobby: the form is drawn now and the clock waits for the start (the
    candidate's own 開始 after reading the rules, or the proctor's signal). A room with an
    access code asks for it here, once."""
    form = StartForm()
    if not form.validate_on_submit():
        abort(400)
    session = db.session.get(ExamSession, session_id)
    if session is None:
        abort(404)
    now = utcnow()
    with write_gate():
        registration = registration_of(session.id, current_user.id)
        refusal = access_code_refusal(session.id, registration, form.access_code.data)
        if refusal is not None:
            audit.record_now("start_refused", current_user.id, session_id=session_id,
                             reason=refusal.code)
            flash(refusal.message, "error")
            return redirect(url_for(".home")), 303
        try:
            attempt = open_attempt(session, current_user, now)
        except Refused as exc:
            audit.record_now("start_refused", current_user.id, session_id=session_id,
                             reason=exc.code)
            return error_response(exc.status, exc.message, exc.code)
        if registration is not None and registration.access_granted_at is None \
                and room(session.id).access_code:
            registration.access_granted_at = now
        close_if_expired(attempt, now)
        attempt_id, finished = attempt.id, attempt.finished   # the commit expires `attempt`
        db.session.commit()
    return redirect(url_for(".done" if finished else ".sit", attempt_id=attempt_id))


@bp.get("/attempts/<int:attempt_id>")
@role_required("candidate")
def sit(attempt_id: int):
    attempt, now = _current(attempt_id)
    if attempt.finished:
        return redirect(url_for(".done", attempt_id=attempt.id))
    steps = latest_steps(attempt.id)
    items, answers = [], {}
    for position, (item, q) in enumerate(attempt_questions(attempt), start=1):
        by_key = {c.key: c for c in q.choices}
        step = steps.get(position)
        response = step.response if step else None
        flagged = step.flagged if step else False
        items.append({"position": position, "q": q,
                      "choices": [by_key[k] for k in item["choice_order"]],
                      "response": response, "flagged": flagged})
        # The page holds and posts the shown positions of choices, never the bank's keys.
        answers[str(position)] = {"response": to_positions(q.type, item["choice_order"], response),
                                  "flagged": flagged}
    total = len(items)
    questions = [question_html(attempt.bank_version_id, it, total) for it in items]
    state = dict(attempt_state(attempt, now), attempt=attempt.id, position=attempt.last_position,
                 count=total, answers=answers,
                 urls={"save": url_for(".save", attempt_id=attempt.id),
                       "state": url_for(".state", attempt_id=attempt.id),
                       "pulse": url_for(".pulse", attempt_id=attempt.id),
                       "begin": url_for(".begin", attempt_id=attempt.id),
                       "position": url_for(".position", attempt_id=attempt.id),
                       "confirm": url_for(".confirm", attempt_id=attempt.id),
                       "done": url_for(".done", attempt_id=attempt.id),
                       "events": events_url(attempt.id)})
    waiting = state["phase"] == "lobby" or state["starts_in_ms"]
    sealed = None
    if waiting:
        # Sent ahead and sealed: the page opens them with the key the start brings.
        sealed = seal(render_template("candidate/_questions.html", items=items,
                                      questions=questions), attempt)
        questions = None
    session = attempt.session
    registration = registration_of(session.id, attempt.user_id)
    extra = extra_seconds(session.duration_minutes, registration.extra_minutes,
                          registration.extra_percent) if registration else 0
    # Read afresh, not from the per-second cache: a candidate entering just after the signal
    # starts on their own, and must not be told to wait for a signal already given.
    detail = db.session.get(SessionDetail, session.id) if waiting else None
    page = render_template("candidate/sit.html", attempt=attempt, items=items,
                           questions=questions, sealed_json=_script_json(sealed) if sealed else None,
                           state_json=_script_json(state),
                           start_mode=detail.start_mode if detail else room(session.id).start_mode,
                           signal_given=bool(detail and detail.signal_at), extra_seconds=extra)
    origin = connect_origin(state["urls"]["events"])
    if origin is None:
        return page
    # The channel on another port of this host: the page may connect there too.
    return page, {"Content-Security-Policy": CONTENT_SECURITY_POLICY.replace(
        "connect-src 'self'", f"connect-src 'self' {origin}")}


@bp.post("/attempts/<int:attempt_id>/answers")
def save(attempt_id: int):
    """Every candidate's every answer comes here. The usual save is checked without writing,
    then stored (on SQLite in two statements, together with the saves queued beside it, in
    one transaction; on PostgreSQL in one statement: app/db/groupcommit.py) and answered after
    the commit; it does not load the signed-in user first, because its claim statement
    requires the session's user to own the attempt and to be an active candidate whose
    session has not been ended (see saving._CLAIM_OWN).
    Anything else (signed out, another role, someone else's attempt, stale, late,
    malformed) takes the checked way below, with nothing stored here, and is answered
    precisely and logged there."""
    now = utcnow()
    body = request.get_json(silent=True)
    principal = session_user()
    if principal is not None and isinstance(body, dict):
        uid, epoch = principal
        params = prepare_save(attempt_id, uid, epoch, base_seq=body.get("base_seq"),
                              client_id=body.get("client_id"), position=body.get("position"),
                              question_id=body.get("question_id"), response=body.get("response"),
                              flagged=body.get("flagged", False))
        if params:
            stored = store_save(params, now)
            if stored:
                ack, deadline = stored
                request.environ[ENVIRON_USER_ID] = uid          # for the access log line
                # v: the room's number, as the pulse gives it; a page that saves hears a
                # proctor's action here and skips its next pulse.
                return jsonify(ok=True, seq=ack.seq, duplicate=False,
                               saved_at=ack.saved_at.isoformat() + "Z",
                               remaining_ms=max(0, int((deadline - now).total_seconds() * 1000)),
                               v=g.room.control_seq)
    return _checked_save(attempt_id, body, now)


@role_required("candidate")
def _checked_save(attempt_id: int, body, now):
    with write_gate():
        return _save(attempt_id, body, now)


def _save(attempt_id: int, body, now):
    attempt = _own_attempt(attempt_id)
    if not isinstance(body, dict):
        audit.record_now("answer_refused", current_user.id, attempt_id=attempt_id, reason="not_json")
        return error_response(400, "解答はJSONで送信してください。", "bad_request")
    try:
        ack = record_answer(attempt, base_seq=body.get("base_seq"), client_id=body.get("client_id"),
                            position=body.get("position"), question_id=body.get("question_id"),
                            response=body.get("response"), flagged=body.get("flagged", False),
                            now=now)
    except Refused as exc:
        detail = {k: body.get(k) for k in ("base_seq", "position", "question_id")}
        audit.record_now("answer_refused", current_user.id, attempt_id=attempt_id, reason=exc.code,
                         **detail)
        if exc.code == "deadline":
            close_if_expired(attempt, now)
            db.session.commit()
        return error_response(exc.status, exc.message, exc.code, **exc.extra)
    remaining_ms = _remaining_ms(attempt, now)     # before the commit expires `attempt`
    db.session.commit()
    return jsonify(ok=True, seq=ack.seq, duplicate=ack.duplicate,
                   saved_at=ack.saved_at.isoformat() + "Z", remaining_ms=remaining_ms,
                   v=g.room.control_seq)


@bp.post("/attempts/<int:attempt_id>/position")
@role_required("candidate")
def position(attempt_id: int):
    """Remember the question on screen, so signing in again resumes there."""
    body = request.get_json(silent=True)
    pos = body.get("position") if isinstance(body, dict) else None
    if not isinstance(pos, bool) and isinstance(pos, int):
        with write_gate():
            placed = remember_position(attempt_id, current_user.id, pos)   # the usual case
            if placed:
                db.session.commit()
                return jsonify(ok=True)
    # Not stored: someone else's attempt (404), a finished one, or no such position.
    attempt = _own_attempt(attempt_id)
    if isinstance(pos, bool) or not isinstance(pos, int) or not 1 <= pos <= len(attempt.form):
        return error_response(400, "問題番号が正しくありません。", "bad_request")
    return jsonify(ok=True)


@bp.get("/attempts/<int:attempt_id>/state")
@role_required("candidate")
def state(attempt_id: int):
    attempt, now = _current(attempt_id)
    return jsonify(attempt_state(attempt, now))


@bp.get("/attempts/<int:attempt_id>/confirm")
@role_required("candidate")
def confirm(attempt_id: int):
    attempt, now = _current(attempt_id)
    if attempt.finished:
        return redirect(url_for(".done", attempt_id=attempt.id))
    steps = latest_steps(attempt.id)
    n = len(attempt.form)
    unanswered = [p for p in range(1, n + 1) if p not in steps or steps[p].response is None]
    flagged = [p for p in range(1, n + 1) if p in steps and steps[p].flagged]
    return render_template("candidate/confirm.html", attempt=attempt, count=n,
                           unanswered=unanswered, flagged=flagged, form=SubmitAttemptForm(),
                           remaining_ms=_remaining_ms(attempt, now))


@bp.post("/attempts/<int:attempt_id>/submit")
@role_required("candidate")
def submit(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    if not SubmitAttemptForm().validate_on_submit():
        abort(400)
    now = utcnow()
    if not attempt.finished and (attempt.paused_at is not None or attempt.started_at > now):
        refused = paused_refusal(attempt)
        audit.record_now("submit_refused", current_user.id, attempt_id=attempt_id,
                         reason=refused.code)
        return error_response(refused.status, refused.message, refused.code)
    # Submitting twice is harmless: the second finds it submitted and changes nothing.
    by = "deadline" if now >= attempt.deadline else "candidate"
    # The page it leads to says 解答を提出しました in its heading: no flash repeats it.
    with write_gate():
        submit_attempt(attempt, by, now)
        db.session.commit()
    return redirect(url_for(".done", attempt_id=attempt.id))


@bp.get("/attempts/<int:attempt_id>/done")
@role_required("candidate")
def done(attempt_id: int):
    attempt, _now = _current(attempt_id)
    if not attempt.finished:
        return redirect(url_for(".sit", attempt_id=attempt.id))
    answered = sum(1 for s in latest_steps(attempt.id).values() if s.response is not None)
    return render_template("candidate/done.html", attempt=attempt, answered=answered,
                           count=len(attempt.form))


@bp.get("/attempts/<int:attempt_id>/review")
@role_required("candidate")
def review(attempt_id: int):
    """Each question with the candidate's answer, the key and the explanation: only after
    certification, and only where the committee chose to show it for the session."""
    attempt = _own_attempt(attempt_id)
    result = certified_result(attempt) if attempt.finished else None
    if result is None or not result["review"]:
        abort(404)
    items = sheet_items(attempt, committee=False)
    wrong = wrong_only(items)
    only_wrong = request.args.get("wrong") == "1"
    return render_template("candidate/review.html", attempt=attempt, r=result,
                           items=wrong if only_wrong else items, only_wrong=only_wrong,
                           counts={"all": len(items), "wrong": len(wrong)})
