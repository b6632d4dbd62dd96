"""The proctor's room: the live view of a sitting and the actions on it.

Every action takes a reason, answers JSON to the room page's script (X-CSRFToken header)
and a redirect with a message to a plain form post, and commits here; the operations are
ops.py. Only the session's proctors, the vice-chair and the chair get in (may_proctor):
anyone else is refused and logged, as on every route."""
from __future__ import annotations

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from scoring.eligibility import LEVEL_NAMES
from scoring.jpdate import to_jst

from ..auth.routes import role_required
from ..core import audit
from ..core.errors import error_response, wants_json
from ..db.writegate import write_gate
from ..exam.lobby import forget_room
from ..extensions import db
from ..models import (Affiliation, Attempt, ExamSession, Proctor, Registration, SessionDetail, Staff,
                      User, utcnow)
from ..sessions.registrations import registration_of
from . import bp
from .ops import (MAX_MINUTES, MAX_REASON, STATE_NAMES, RoomError, add_time, add_time_room,
                  give_signal, may_proctor, move, new_access_code, note, pause, pause_room, resume,
                  resume_room, room_detail, seats, terminate)

ROOM_ROLES = ("proctor", "vice_chair", "chair")


def _session(session_id: int) -> ExamSession:
    """The session, if the signed-in user proctors it (403, logged, otherwise)."""
    session = db.session.get(ExamSession, session_id)
    if session is None:
        abort(404)
    if not may_proctor(current_user, session.id):
        audit.record_now("forbidden", current_user.id, path=request.path, method=request.method,
                         needs=["proctor of this session"])
        abort(403)
    return session


def _answer(session: ExamSession, message: str, **data):
    forget_room(session.id)
    if wants_json():
        return jsonify(ok=True, message=message, **data)
    flash(message, "info")
    return redirect(url_for(".room", session_id=session.id))


def _refused(session: ExamSession, exc: RoomError):
    db.session.rollback()
    if wants_json():
        return error_response(409, str(exc), "room_refused")
    flash(str(exc), "error")
    return redirect(url_for(".room", session_id=session.id))


def _field(name: str):
    body = request.get_json(silent=True) if request.is_json else None
    return (body or {}).get(name) if body is not None else request.form.get(name)


def _minutes(name: str = "minutes"):
    value = _field(name)
    if isinstance(value, str):
        value = int(value) if value.strip().isascii() and value.strip().isdigit() else value
    return value


def _seat_attempt(session: ExamSession, user_id: int) -> Attempt:
    if registration_of(session.id, user_id) is None:
        abort(404)
    attempt = db.session.scalar(select(Attempt).where(Attempt.session_id == session.id,
                                                      Attempt.user_id == user_id))
    if attempt is None:
        raise RoomError("この受検者はまだ入室していません。")
    return attempt


@bp.get("/")
@role_required(*ROOM_ROLES)
def index():
    """The sessions this user may proctor, open or coming (where a proctor lands)."""
    now = utcnow()
    query = select(ExamSession).where(ExamSession.closes_at > now).order_by(ExamSession.opens_at)
    if not current_user.has_role("vice_chair", "chair"):
        query = query.join(Proctor, Proctor.session_id == ExamSession.id).where(
            Proctor.user_id == current_user.id)
    sessions = list(db.session.scalars(query))
    ids = [s.id for s in sessions]
    registered = dict(db.session.execute(
        select(Registration.session_id, func.count()).where(Registration.session_id.in_(ids))
        .group_by(Registration.session_id)).all()) if ids else {}
    modes = dict(db.session.execute(select(SessionDetail.session_id, SessionDetail.start_mode)
                                    .where(SessionDetail.session_id.in_(ids))).all()) if ids else {}
    return render_template("room/index.html", sessions=sessions, now=now, registered=registered,
                           modes=modes)


def room_payload(session: ExamSession) -> dict:
    """The room's state for the live view: every registered candidate (name, affiliation,
    state, question, answered count, time left, seconds since the last save, extra time),
    never an answer or a key."""
    now = utcnow()
    detail = room_detail(session)
    people = {u.id: (u, s, a) for u, s, a in db.session.execute(
        select(User, Staff, Affiliation)
        .join(Registration, Registration.user_id == User.id)
        .outerjoin(Staff, Staff.user_id == User.id)
        .outerjoin(Affiliation, Affiliation.id == Staff.affiliation_id)
        .where(Registration.session_id == session.id))}
    rows = []
    for seat in seats(session, now):
        user, staff, aff = people.get(seat.user_id, (None, None, None))
        rows.append({
            "user_id": seat.user_id, "attempt_id": seat.attempt_id,
            "name": staff.name_kanji if staff else (user.display_name if user else ""),
            "staff_number": staff.staff_number if staff else None,
            "affiliation": aff.name if aff else None,
            "state": seat.state, "state_name": STATE_NAMES[seat.state],
            "position": seat.position, "answered": seat.answered, "count": seat.count,
            "remaining_ms": seat.remaining_ms, "since_save_s": seat.since_save_s,
            "extra_seconds": seat.extra_seconds, "pause_reason": seat.pause_reason,
            "pause_scope": seat.pause_scope})
    # The countdown to the signal's start counts from the server's clock, never the PC's.
    signal_in_ms = max(0, int((detail.signal_at - now).total_seconds() * 1000)) \
        if detail.signal_at else None
    return {"ok": True, "session_id": session.id, "title": session.title, "v": detail.control_seq,
            "updated_at": to_jst(now).strftime("%H:%M:%S"), "start_mode": detail.start_mode,
            "signal_at": detail.signal_at.isoformat() + "Z" if detail.signal_at else None,
            "signal_in_ms": signal_in_ms,
            "signal_at_jst": to_jst(detail.signal_at).strftime("%H:%M:%S") if detail.signal_at else None,
            "room_paused": detail.room_paused_at is not None,
            "room_pause_reason": detail.room_pause_reason, "access_code": detail.access_code,
            "seats": rows}


# The seat actions as the page names them, and which a state allows (the page offers only
# these; the operations decide).
SEAT_ACTION_LABELS = {"pause": "一時中断", "resume": "再開", "time": "時間追加", "move": "端末移動",
                      "terminate": "受検中止", "note": "記録"}
SEAT_ACTIONS_BY_STATE = {
    "absent": ("note",),
    "lobby": ("terminate", "note"),
    "answering": ("pause", "time", "move", "terminate", "note"),
    "paused": ("resume", "time", "move", "terminate", "note"),
    "submitted": ("note",), "deadline": ("note",), "terminated": ("note",),
}


@bp.get("/<int:session_id>")
@role_required(*ROOM_ROLES)
def room(session_id: int):
    """The room's page: complete without a script (the tables and plain forms that post to
    the actions); room.js keeps it live and asks for reasons in a dialog."""
    session = _session(session_id)
    payload = room_payload(session)
    db.session.commit()          # room_detail may have made the session's settings row
    rows = payload["seats"]
    shown = {"affiliation": request.args.get("affiliation", ""),
             "state": request.args.get("state", "")}
    counts = {key: sum(1 for s in rows if s["state"] == key) for key in STATE_NAMES}
    return render_template(
        "room/room.html", session=session, room=payload, shown=shown, counts=counts,
        state_names=STATE_NAMES, allowed=SEAT_ACTIONS_BY_STATE, labels=SEAT_ACTION_LABELS,
        max_minutes=MAX_MINUTES, max_reason=MAX_REASON,
        level_name=LEVEL_NAMES.get(session.level, session.level),
        affiliations=sorted({s["affiliation"] for s in rows if s["affiliation"]}),
        lead_seconds=current_app.config["SIGNAL_LEAD_SECONDS"])


@bp.get("/<int:session_id>/state")
@role_required(*ROOM_ROLES)
def state(session_id: int):
    session = _session(session_id)
    payload = room_payload(session)
    db.session.commit()
    return jsonify(payload)


@bp.post("/<int:session_id>/signal")
@role_required(*ROOM_ROLES)
def signal(session_id: int):
    """開始: the room starts a few seconds from now, every waiting candidate at once."""
    session = _session(session_id)
    now = utcnow()
    with write_gate():
        try:
            start = give_signal(session, current_user, now)
        except RoomError as exc:
            return _refused(session, exc)
        db.session.commit()
    return _answer(session, "開始の合図を出しました。", start_at=start.isoformat() + "Z",
                   starts_in_ms=int((start - now).total_seconds() * 1000))


def _room_action(session_id: int, action, message: str):
    session = _session(session_id)
    now = utcnow()
    with write_gate():
        try:
            result = action(session, now)
        except RoomError as exc:
            return _refused(session, exc)
        db.session.commit()
    return _answer(session, message.format(result=result))


@bp.post("/<int:session_id>/pause")
@role_required(*ROOM_ROLES)
def room_pause(session_id: int):
    return _room_action(session_id, lambda s, now: pause_room(s, _field("reason"), current_user, now),
                        "会場全体を一時中断しました（{result}名）。")


@bp.post("/<int:session_id>/resume")
@role_required(*ROOM_ROLES)
def room_resume(session_id: int):
    return _room_action(session_id, lambda s, now: resume_room(s, _field("reason"), current_user, now),
                        "会場全体を再開しました（{result}名）。")


@bp.post("/<int:session_id>/time")
@role_required(*ROOM_ROLES)
def room_time(session_id: int):
    return _room_action(
        session_id, lambda s, now: add_time_room(s, _minutes(), _field("reason"), current_user, now),
        "全員に時間を追加しました（{result}名）。")


@bp.post("/<int:session_id>/code")
@role_required(*ROOM_ROLES)
def room_code(session_id: int):
    return _room_action(session_id, lambda s, now: new_access_code(s, current_user, now),
                        "入室コードを {result} に変更しました。")


SEAT_ACTIONS = {
    "pause": (lambda a, s, now: pause(a, _field("reason"), current_user, now), "一時中断しました。"),
    "resume": (lambda a, s, now: resume(a, _field("reason"), current_user, now), "再開しました。"),
    "time": (lambda a, s, now: add_time(a, _minutes(), _field("reason"), current_user, now),
             "時間を追加しました。"),
    "move": (lambda a, s, now: move(a, _minutes("lost_minutes") or 0, _field("reason"),
                                    current_user, now),
             "端末の移動として一時中断しました。新しい端末でログインしたら再開してください。"),
    "terminate": (lambda a, s, now: terminate(a, _field("reason"), current_user, now),
                  "受検を中止しました。"),
}


@bp.post("/<int:session_id>/seats/<int:user_id>/<action>")
@role_required(*ROOM_ROLES)
def seat_action(session_id: int, user_id: int, action: str):
    """An action on one candidate: pause, resume, time, move, terminate (each with a reason),
    or note (an irregularity note)."""
    session = _session(session_id)
    now = utcnow()
    if action != "note" and action not in SEAT_ACTIONS:
        abort(404)
    with write_gate():
        try:
            if action == "note":
                note(session, user_id, _field("reason"), current_user, now)
                message = "記録しました。"
            else:
                run, message = SEAT_ACTIONS[action]
                run(_seat_attempt(session, user_id), session, now)
        except RoomError as exc:
            return _refused(session, exc)
        db.session.commit()
    return _answer(session, message)
