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
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from scoring.assembly import Assembler, new_seed
from scoring.choice_positions import to_keys
from scoring.grading import ResponseError, coerce_response

from ..banks.versions import snapshot
from ..core import audit
from ..db.engine import engine_cache
from ..extensions import db
from ..models import AnswerStep, Attempt, ExamSession, Registration, User
from ..review.scoring import score_with_corrections
from ..sessions.eligibility import start_refusals

log = logging.getLogger("cbt.exam")
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


class Refused(Exception):
    """A request the exam rules refuse; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def is_registered(session: ExamSession, user: User) -> bool:
    return db.session.scalar(select(Registration.id).where(
        Registration.session_id == session.id, Registration.user_id == user.id)) is not None


def open_sessions_for(user: User, now: datetime) -> list[ExamSession]:
    return list(db.session.scalars(
        select(ExamSession).join(Registration, Registration.session_id == ExamSession.id)
        .where(Registration.user_id == user.id, ExamSession.closes_at > now)
        .order_by(ExamSession.opens_at)))


def find_attempt(session_id: int, user_id: int) -> Attempt | None:
    return db.session.scalar(select(Attempt).where(Attempt.session_id == session_id,
                                                   Attempt.user_id == user_id))


def start_attempt(session: ExamSession, user: User, now: datetime) -> Attempt:
    """Resume the candidate's attempt, or draw a new form for them."""
    existing = find_attempt(session.id, user.id)
    if existing:
        return existing
    if not is_registered(session, user):
        raise Refused(403, "not_registered", "この検定の受検者として登録されていません。")
    # 第3-2, 第3-4 at the moment of starting (a pass or admission may have changed since
    # registration); an attempt already under way is resumed above, never blocked.
    reasons = start_refusals(session, user)
    if reasons:
        raise Refused(403, "not_eligible", " ".join(reasons))
    if not session.is_open(now):
        raise Refused(409, "closed", "この検定は現在受検できません（受検期間外です）。")
    digest, blueprint, questions = version_content(session.bank_version_id, lambda: session.bank_version)
    seed = new_seed()
    form = Assembler(blueprint, questions, session.level).draw(seed)
    deadline = min(now + timedelta(minutes=session.duration_minutes), session.closes_at)
    attempt = Attempt(session_id=session.id, user_id=user.id, bank_version_id=session.bank_version_id,
                      level=session.level, seed=seed, started_at=now, deadline=deadline,
                      form_json=json.dumps([i.to_dict() for i in form.items], ensure_ascii=False))
    db.session.add(attempt)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        # A second tab started at the same moment; theirs won, resume it.
        return find_attempt(session.id, user.id)
    audit.record("attempt_started", user.id, attempt_id=attempt.id, session_id=session.id,
                 seed=seed, bank_version=digest)
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
                 _attempts.c.submitted_at.is_(None), _attempts.c.deadline > bindparam("now"))
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
    if not on_form or attempt.finished or now >= attempt.deadline:
        done = _stored(attempt.id, client_id)
        if done:
            return done
        if not on_form:
            raise Refused(404, "not_on_form", "この問題はあなたの問題用紙にありません。")
        if attempt.finished:
            raise Refused(409, "finished", "この受検は提出済みです。解答は変更できません。")
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
        seq, submitted_at, deadline = db.session.execute(
            select(Attempt.last_seq, Attempt.submitted_at, Attempt.deadline)
            .where(Attempt.id == attempt.id)).one()
        if submitted_at is not None:
            raise Refused(409, "finished", "この受検は提出済みです。解答は変更できません。")
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
    if not attempt.finished and now >= attempt.deadline:
        return submit_attempt(attempt, "deadline", now)
    return False
