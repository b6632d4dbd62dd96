"""The candidate's side of the exam room: who may enter (the access code read out in the
room, the allowed networks, Safe Exam Browser), the lobby before the clock starts, the
start (the candidate's own, or the room's on the proctor's signal), and the pulse every
page asks for to feel a proctor's action within seconds.

The room's settings and state are read once a second per process (`room`), so the checks
on every request of 2,000 candidates cost no query of their own."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from flask import abort, g, jsonify, redirect, request, url_for
from flask_login import current_user

from scoring import access
from scoring.timing import remaining_ms

from ..auth.routes import role_required, session_user
from ..core import audit
from ..core.errors import error_response
from ..db.engine import engine_cache
from ..db.writegate import write_gate
from ..extensions import db
from ..models import Attempt, ExamSession, Registration, SessionDetail, utcnow
from . import bp
from .attempts import begin_attempt, start_refusal
from .saving import facts
from .sealed import key_b64

ROOM_TTL_SECONDS = 1.0


@dataclass(frozen=True)
class Room:
    """A session's room settings and state, as every candidate request checks them."""
    session_id: int
    start_mode: str
    signal_at: datetime | None
    room_paused_at: datetime | None
    control_seq: int
    access_code: str | None
    networks: tuple
    seb_keys: tuple


_DEFAULT = dict(start_mode="self", signal_at=None, room_paused_at=None, control_seq=0,
                access_code=None, networks=(), seb_keys=())


def room(session_id: int) -> Room:
    """The room as of at most a second ago (one query per session and process a second)."""
    cache = engine_cache("rooms")
    hit = cache.get(session_id)
    now = time.monotonic()
    if hit is not None and now - hit[1] < ROOM_TTL_SECONDS:
        return hit[0]
    detail = db.session.get(SessionDetail, session_id, populate_existing=True)
    if detail is None:
        value = Room(session_id=session_id, **_DEFAULT)
    else:
        # Settings are validated when saved; a line that no longer parses is left out here.
        networks, _ = access.parse_networks(detail.allowed_networks or "")
        keys, _ = access.parse_config_keys(detail.seb_config_keys or "")
        value = Room(session_id, detail.start_mode, detail.signal_at, detail.room_paused_at,
                     detail.control_seq, detail.access_code or None, tuple(networks), tuple(keys))
    if len(cache) > 1000:
        cache.clear()
    cache[session_id] = (value, now)
    return value


def forget_room(session_id: int) -> None:
    """After a change made by this process: its next request reads the room again."""
    engine_cache("rooms").pop(session_id, None)


def _session_of_request() -> int | None:
    args = request.view_args or {}
    if "session_id" in args:
        return args["session_id"]
    if "attempt_id" in args:
        known = facts(args["attempt_id"])
        return known.session_id if known else None
    return None


@bp.before_request
def _room_access():
    """Every request about a session (its lobby, its attempt's pages and saves) comes from an
    allowed network and, where the room requires it, from Safe Exam Browser."""
    session_id = _session_of_request()
    if session_id is None:
        return None
    # Kept for the request: the save's and the pulse's replies give its number.
    r = g.room = room(session_id)
    if not r.networks and not r.seb_keys:
        return None
    refusal = access.check(address=request.remote_addr or "", networks=list(r.networks),
                           seb_url=request.url,
                           seb_header=request.headers.get("X-SafeExamBrowser-ConfigKeyHash"),
                           config_keys=list(r.seb_keys))
    if refusal is None:
        return None
    uid = session_user()
    audit.record_now("access_refused", uid[0] if uid else None, session_id=session_id,
                     path=request.path, reason=refusal.code)
    return error_response(403, refusal.message, refusal.code)


def access_code_refusal(session_id: int, registration: Registration | None,
                        typed: str | None) -> access.Refusal | None:
    """Why the lobby stays closed to this candidate, or None: a room with an access code
    lets a candidate in once they have typed it (the proctor reads it out in the room)."""
    expected = room(session_id).access_code
    if not expected or (registration is not None and registration.access_granted_at):
        return None
    return access.check_code(typed, expected)


@bp.post("/attempts/<int:attempt_id>/begin")
@role_required("candidate")
def begin(attempt_id: int):
    """The candidate's own 開始, after reading the rules in the lobby: the clock starts now
    (in a room that starts on the signal, only once the signal has been given)."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id:
        audit.record_now("attempt_access_refused", current_user.id, attempt_id=attempt_id,
                         path=request.path)
        abort(404)
    session = db.session.get(ExamSession, attempt.session_id)
    now = utcnow()
    with write_gate():
        if attempt.pause_scope == "lobby":
            refused = start_refusal(session, db.session.get(SessionDetail, session.id), now)
            if refused is not None:
                audit.record_now("start_refused", current_user.id, session_id=session.id,
                                 reason=refused.code)
                return error_response(refused.status, refused.message, refused.code)
            begin_attempt(attempt, session, now)
            db.session.commit()
    if request.is_json or request.accept_mimetypes.best == "application/json":
        return jsonify(attempt_state(db.session.get(Attempt, attempt_id), utcnow()))
    return redirect(url_for(".sit", attempt_id=attempt_id))


@bp.get("/attempts/<int:attempt_id>/pulse")
def pulse(attempt_id: int):
    """What every page asks every few seconds: the room's control sequence, which any
    proctor action raises. The usual pulse costs about a bare request (no query: the room
    and the attempt's owner are kept per process); the page reads its own state (a full,
    signed-in request) only when the number changes. The number tells nothing about the
    exam. Anything else takes the checked way, answered and logged as every route is."""
    principal = session_user()
    known = facts(attempt_id)
    if principal is not None and known is not None and known.owner == principal[0]:
        return jsonify(ok=True, v=g.room.control_seq)
    return _checked_pulse(attempt_id)


@role_required("candidate")
def _checked_pulse(attempt_id: int):
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id:
        audit.record_now("attempt_access_refused", current_user.id, attempt_id=attempt_id,
                         path=request.path)
        return error_response(404)
    return jsonify(ok=True, v=room(attempt.session_id).control_seq)


def attempt_state(attempt: Attempt, now) -> dict:
    """The attempt as its page needs it: the phase (lobby, running, paused, finished), the
    time left (standing still while paused), when it starts if it has not yet, why it is
    paused, the room's control sequence, and, once started, the key of the sealed
    questions."""
    phase = attempt.phase
    starts_in = max(0, int((attempt.started_at - now).total_seconds() * 1000)) \
        if phase == "running" and attempt.started_at > now else 0
    return {"ok": True, "seq": attempt.last_seq, "finished": attempt.finished, "phase": phase,
            "remaining_ms": remaining_ms(attempt.deadline, now, attempt.paused_at),
            "starts_in_ms": starts_in, "pause_scope": attempt.pause_scope,
            "pause_reason": attempt.pause_reason if phase == "paused" else None,
            "v": room(attempt.session_id).control_seq,
            "key": key_b64(attempt) if phase in ("running", "paused") else None}
