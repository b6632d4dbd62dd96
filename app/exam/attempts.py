"""The exam's rules for one attempt: who may start it, the form drawn, what a save may
store and when (the checked way, which answers every refusal precisely), submitting and
scoring, and the deadline. Request handlers call these and commit; these only flush. Every
state change that can race (two tabs, two servers, the deadline sweeper) is a conditional
UPDATE, so the database, not a process, decides who wins.

The usual save takes a quicker way with the same rules (saving.py); the deadline sweeper
is sweeper.py.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from scoring.assembly import Assembler, new_seed
from scoring.choice_positions import to_keys
from scoring.grading import ResponseError, coerce_response
from scoring.timing import deadline_at, extra_seconds

from ..banks.versions import snapshot
from ..core import audit
from ..db.engine import engine_cache
from ..extensions import db
from ..models import AnswerStep, Attempt, ExamSession, Registration, SessionDetail, User
from ..review.scoring import score_with_corrections
from ..sessions.eligibility import start_refusals
from ..sessions.registrations import registration_of

log = logging.getLogger("cbt.exam")
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


class Refused(Exception):
    """A request the exam rules refuse; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def open_sessions_for(user: User, now: datetime) -> list[ExamSession]:
    return list(db.session.scalars(
        select(ExamSession).join(Registration, Registration.session_id == ExamSession.id)
        .where(Registration.user_id == user.id, ExamSession.closes_at > now)
        .order_by(ExamSession.opens_at)))


def find_attempt(session_id: int, user_id: int) -> Attempt | None:
    return db.session.scalar(select(Attempt).where(Attempt.session_id == session_id,
                                                   Attempt.user_id == user_id))


def open_attempt(session: ExamSession, user: User, now: datetime) -> Attempt:
    """The candidate's attempt, drawn when they first enter the lobby (so that nothing is left
    to do at the start but to start the clock). Its clock stands still, paused in the lobby,
    until it starts (begin_attempt)."""
    existing = find_attempt(session.id, user.id)
    if existing:
        return existing
    registration = registration_of(session.id, user.id)
    if registration is None:
        raise Refused(403, "not_registered", "この検定の受検者として登録されていません。")
    # 第3-2, 第3-4 at the moment of entering (a pass or admission may have changed since
    # registration); an attempt already drawn is resumed above, never blocked.
    reasons = start_refusals(session, user)
    if reasons:
        raise Refused(403, "not_eligible", " ".join(reasons))
    if not session.is_open(now):
        raise Refused(409, "closed", "この検定は現在受検できません（受検期間外です）。")
    digest, blueprint, questions = version_content(session.bank_version_id,
                                                   lambda: session.bank_version)
    seed = new_seed()
    form = Assembler(blueprint, questions, session.level).draw(seed)
    extra = extra_seconds(session.duration_minutes, registration.extra_minutes,
                          registration.extra_percent)
    attempt = Attempt(session_id=session.id, user_id=user.id, bank_version_id=session.bank_version_id,
                      level=session.level, seed=seed, started_at=now,
                      deadline=deadline_at(now, session.duration_minutes, session.closes_at, extra),
                      paused_at=now, pause_scope="lobby",
                      form_json=json.dumps([i.to_dict() for i in form.items], ensure_ascii=False))
    db.session.add(attempt)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        # A second tab entered at the same moment; theirs won, use it.
        return find_attempt(session.id, user.id)
    audit.record("lobby_entered", user.id, attempt_id=attempt.id, session_id=session.id,
                 seed=seed, bank_version=digest)
    return attempt


def start_refusal(session: ExamSession, detail: SessionDetail | None, now: datetime) -> Refused | None:
    """Why a candidate may not start the clock themself now, or None. In a room that starts
    on the proctor's signal the candidate waits for it; after it, a late candidate starts
    on their own."""
    if now >= session.closes_at:
        return Refused(409, "closed", "この検定の受検期間は終了しました。")
    if detail is not None and detail.room_paused_at is not None:
        return Refused(409, "room_paused", "試験会場全体が一時中断中です。監督者の指示をお待ちください。")
    if detail is not None and detail.start_mode == "signal" and detail.signal_at is None:
        return Refused(409, "wait_signal", "試験監督者の開始の合図をお待ちください。")
    return None


def begin_attempt(attempt: Attempt, session: ExamSession, start: datetime) -> bool:
    """Start the clock of an attempt waiting in the lobby, at `start` (now, or the room's
    start). False, and nothing changed, if it was not waiting. The deadline counts from the
    start, with the candidate's extra time."""
    registration = registration_of(session.id, attempt.user_id)
    extra = 0 if registration is None else extra_seconds(
        session.duration_minutes, registration.extra_minutes, registration.extra_percent)
    deadline = deadline_at(start, session.duration_minutes, session.closes_at, extra)
    won = db.session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.pause_scope == "lobby",
                              Attempt.submitted_at.is_(None))
        .values(started_at=start, deadline=deadline, paused_at=None, pause_scope=None,
                pause_reason=None)
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.refresh(attempt)
    if won:
        audit.record("attempt_started", attempt.user_id, attempt_id=attempt.id,
                     session_id=session.id, deadline=deadline, extra_seconds=extra or None)
    return won


def begin_waiting(session: ExamSession, start: datetime) -> int:
    """Start the clock of every attempt waiting in the session's lobby at `start` (the
    room's start on the proctor's signal), each with its own extra time; returns how many.
    A few statements for the whole room, whatever its size."""
    rows = db.session.execute(
        select(Attempt.id, Attempt.user_id, Registration.extra_minutes, Registration.extra_percent)
        .join(Registration, (Registration.session_id == Attempt.session_id)
              & (Registration.user_id == Attempt.user_id))
        .where(Attempt.session_id == session.id, Attempt.pause_scope == "lobby",
               Attempt.submitted_at.is_(None))).all()
    if not rows:
        return 0
    params = []
    for attempt_id, _user_id, minutes, percent in rows:
        extra = extra_seconds(session.duration_minutes, minutes, percent)
        params.append({"b_id": attempt_id, "b_deadline": deadline_at(
            start, session.duration_minutes, session.closes_at, extra)})
    table = Attempt.__table__       # Core: one statement run for every row (executemany)
    db.session.connection().execute(
        update(table).where(table.c.id == bindparam("b_id"), table.c.pause_scope == "lobby",
                            table.c.submitted_at.is_(None))
        .values(started_at=start, deadline=bindparam("b_deadline"), paused_at=None,
                pause_scope=None, pause_reason=None), params)
    for (attempt_id, user_id, _m, _p), p in zip(rows, params):
        audit.record("attempt_started", user_id, attempt_id=attempt_id, session_id=session.id,
                     deadline=p["b_deadline"], by="signal")
    return len(rows)


def start_attempt(session: ExamSession, user: User, now: datetime) -> Attempt:
    """Enter the lobby and start at once: what a candidate does in a room that needs no
    signal (and what the tests use to sit an exam)."""
    attempt = open_attempt(session, user, now)
    if attempt.pause_scope == "lobby":
        begin_attempt(attempt, session, now)
    return attempt


def version_content(version_id: int, load):
    """(digest, blueprint, questions) of a bank version. A bank version row is
    content-addressed and never changes, so this spares loading its payload (the whole
    bank, hundreds of kilobytes) on every start, page and answer."""
    cache = engine_cache("versions")
    hit = cache.get(version_id)
    if hit is None:
        version = load()
        hit = (version.digest, *snapshot(version))
        if len(cache) > 64:
            cache.clear()
        cache[version_id] = hit
    return hit


def attempt_snapshot(attempt: Attempt):
    """The (blueprint, questions) of the version the attempt was drawn from."""
    return version_content(attempt.bank_version_id, lambda: attempt.bank_version)[1:]


def attempt_questions(attempt: Attempt):
    """The attempt's questions in shown order, from the version it was drawn from."""
    _blueprint, questions = attempt_snapshot(attempt)
    return [(item, questions[item["id"]]) for item in attempt.form]


@dataclass
class Ack:
    seq: int
    saved_at: datetime
    duplicate: bool = False


# The two statements of a save the checked way, built once (Core, on the tables: no ORM
# bookkeeping).
_attempts, _steps = Attempt.__table__, AnswerStep.__table__


_CLAIM = (update(_attempts)
          .where(_attempts.c.id == bindparam("attempt_id"),
                 _attempts.c.last_seq == bindparam("base_seq"),
                 _attempts.c.submitted_at.is_(None), _attempts.c.deadline > bindparam("now"),
                 _attempts.c.paused_at.is_(None), _attempts.c.started_at <= bindparam("now"))
          .values(last_seq=bindparam("new_seq"), last_position=bindparam("position")))


_APPEND = insert(_steps)


_PLACE_OWN = (update(_attempts)
              .where(_attempts.c.id == bindparam("attempt_id"),
                     _attempts.c.user_id == bindparam("owner"),
                     _attempts.c.submitted_at.is_(None))
              .values(last_position=bindparam("pos"))
              .returning(_attempts.c.form_json))


def remember_position(attempt_id: int, user_id: int, position: int) -> bool | None:
    """Store the question on screen of the user's own open attempt in one statement.
    True: stored (the caller commits). False: no such position, nothing stored. None: not
    the user's open attempt, nothing stored (the caller tells which)."""
    row = db.session.connection().execute(
        _PLACE_OWN, {"attempt_id": attempt_id, "owner": user_id, "pos": position}).first()
    if row is None:
        return None
    if not 1 <= position <= len(json.loads(row[0])):
        db.session.rollback()
        return False
    return True


def _stored(attempt_id: int, client_id: str) -> Ack | None:
    """The step a save with this client id stored, if any: a retry is answered as the first."""
    done = db.session.execute(select(AnswerStep.seq, AnswerStep.created_at).where(
        AnswerStep.attempt_id == attempt_id, AnswerStep.client_id == client_id)).first()
    return Ack(done.seq, done.created_at, duplicate=True) if done else None


def check_save(base_seq, client_id, position, flagged) -> None:
    if not isinstance(client_id, str) or not _CLIENT_ID.fullmatch(client_id):
        raise Refused(400, "bad_request", "送信内容が正しくありません（client_id）。")
    # last_seq is a 32-bit column: a larger base can never match and must not reach the DB.
    if isinstance(base_seq, bool) or not isinstance(base_seq, int) or not 0 <= base_seq < 2**31 - 1:
        raise Refused(400, "bad_request", "送信内容が正しくありません（base_seq）。")
    if isinstance(position, bool) or not isinstance(position, int):
        raise Refused(400, "bad_request", "送信内容が正しくありません（position）。")
    if not isinstance(flagged, bool):
        raise Refused(400, "bad_request", "送信内容が正しくありません（flagged）。")


def record_answer(attempt: Attempt, *, base_seq, client_id, position, question_id, response,
                  flagged, now: datetime) -> Ack:
    """Append one answer step, or refuse and record nothing (the caller logs the refusal).

    The usual save is one conditional UPDATE (claims seq base_seq+1 if nobody moved past
    base_seq, the attempt is open and before its deadline) and one INSERT. Only when the
    claim fails is the client id looked up: a retry whose first try was stored is answered
    as the first time, whatever has happened since (even past the deadline)."""
    check_save(base_seq, client_id, position, flagged)
    form = attempt.form
    on_form = 1 <= position <= len(form) and form[position - 1]["id"] == question_id
    if not on_form or attempt.finished or not running(attempt, now):
        done = _stored(attempt.id, client_id)
        if done:
            return done
        if not on_form:
            raise Refused(404, "not_on_form", "この問題はあなたの問題用紙にありません。")
        if attempt.finished:
            raise Refused(409, "finished", "この受検は提出済みです。解答は変更できません。")
        if attempt.paused_at is not None or attempt.started_at > now:
            raise paused_refusal(attempt)
        raise Refused(409, "deadline", "試験時間が終了しました。解答は受け付けられません。")
    _blueprint, questions = attempt_snapshot(attempt)
    q = questions[question_id]
    try:
        # The page posts the shown positions of choices, never keys (scoring/choice_positions.py).
        keys = to_keys(q.type, form[position - 1].get("choice_order", ()), response)
        value = coerce_response(q.type, [c.key for c in q.choices], keys)
    except ResponseError as exc:
        raise Refused(400, "bad_response", str(exc)) from None
    new_seq = base_seq + 1
    claimed = db.session.execute(_CLAIM, {"attempt_id": attempt.id, "base_seq": base_seq,
                                          "now": now, "new_seq": new_seq,
                                          "position": position}).rowcount
    if claimed != 1:
        done = _stored(attempt.id, client_id)
        if done:
            return done
        seq, submitted_at, deadline, paused_at = db.session.execute(
            select(Attempt.last_seq, Attempt.submitted_at, Attempt.deadline, Attempt.paused_at)
            .where(Attempt.id == attempt.id)).one()
        if submitted_at is not None:
            raise Refused(409, "finished", "この受検は提出済みです。解答は変更できません。")
        if paused_at is not None:
            db.session.refresh(attempt)
            raise paused_refusal(attempt)
        if now >= deadline:
            raise Refused(409, "deadline", "試験時間が終了しました。解答は受け付けられません。")
        raise Refused(409, "stale", "別の画面でより新しい解答が保存されています。"
                                    "画面を再読み込みしてください。", seq=seq)
    try:
        db.session.execute(_APPEND, {
            "attempt_id": attempt.id, "seq": new_seq, "position": position,
            "question_id": question_id, "flagged": flagged, "client_id": client_id,
            "response_json": None if value is None else json.dumps(value, ensure_ascii=False),
            "created_at": now})
    except IntegrityError:
        # Only a client that reuses a stored client id with a newer base_seq gets here (the
        # page never does): undo the claim and answer as for the stored save.
        db.session.rollback()
        done = _stored(attempt.id, client_id)
        if done is None:
            raise
        return done
    return Ack(new_seq, now)


def score_attempt(attempt: Attempt) -> None:
    """Grade the latest answers, with the session's committee corrections in force."""
    score_with_corrections(attempt)


def submit_attempt(attempt: Attempt, by: str, now: datetime) -> bool:
    """Submit and score once; False (and nothing changed) if it was already submitted."""
    at = min(now, attempt.deadline)
    won = db.session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.submitted_at.is_(None))
        .values(submitted_at=at, submitted_by=by)
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.refresh(attempt)
    if not won:
        return False
    score_attempt(attempt)
    audit.record("attempt_submitted", attempt.user_id, attempt_id=attempt.id, by=by,
                 correct=attempt.correct, total=attempt.total, passed=attempt.passed)
    return True


def close_if_expired(attempt: Attempt, now: datetime) -> bool:
    """Submit at the deadline. A paused clock stands still: its deadline has not come."""
    if not attempt.finished and attempt.paused_at is None and now >= attempt.deadline:
        return submit_attempt(attempt, "deadline", now)
    return False


def running(attempt: Attempt, now: datetime) -> bool:
    """The clock runs: started, not paused, not finished, before the deadline."""
    return (not attempt.finished and attempt.paused_at is None and attempt.started_at <= now
            < attempt.deadline)


def paused_refusal(attempt: Attempt) -> Refused:
    """What a save (or a submission) is answered while the clock stands still."""
    if attempt.pause_scope == "lobby" or attempt.paused_at is None:
        return Refused(409, "not_started", "試験はまだ開始されていません。")
    reason = f"（{attempt.pause_reason}）" if attempt.pause_reason else ""
    return Refused(409, "paused", f"試験は一時中断中です{reason}。解答は保存されません。"
                                  "監督者の指示をお待ちください。")
