"""Exam operations: start, save an answer, submit, score, and close at the deadline.

Request handlers call these and commit; these only flush. Every state change that can
race (two tabs, two servers, the deadline sweeper) is a conditional UPDATE, so the
database, not a process, decides who wins.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import threading
import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import JSON, bindparam, cast, column, exists, func, insert, select, true, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.exc import IntegrityError

from scoring.assembly import Assembler, new_seed
from scoring.choice_positions import to_keys
from scoring.grading import ResponseError, coerce_response

from . import audit
from .banks import snapshot
from .dbhealth import DatabaseUnavailable, connection_broken
from .eligibility import start_refusals
from .extensions import db
from .models import (AnswerStep, Attempt, BankVersion, ExamSession, Registration, User, UserRole,
                     utcnow)
from .review_ops import score_with_corrections

log = logging.getLogger("cbt.exam")
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


class _WriteGate:
    """Orders the exam's writers on SQLite, which allows one writer at a time and makes the
    others poll (sleeping 1, 2, 5 ... 100 ms between tries): with many candidates saving at
    once the database then sits idle while writers sleep. Here writers queue instead: on a
    lock within the process and an flock on a file beside the database across processes
    (worker processes, several servers; the kernel releases it if a process dies). Nothing
    depends on it for correctness (SQLite still serialises the writers; a writer outside
    the gate just polls as before); PostgreSQL, with row locks, does not use it.
    Re-entrant per thread. CBT_SQLITE_WRITE_GATE=off turns it off (for measurements)."""

    def __init__(self):
        self._lock = threading.RLock()
        self._local = threading.local()
        self._files: dict[tuple[int, str], int] = {}

    def _fd(self, path: str) -> int:
        key = (os.getpid(), path)
        fd = self._files.get(key)
        if fd is None:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            self._files[key] = fd
        return fd

    @staticmethod
    def _lock_path() -> str | None:
        """The lock file of the current database, or None where there is no gate."""
        cache = engine_cache("write_gate")
        if "path" not in cache:
            url = db.engine.url
            on = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
                and os.environ.get("CBT_SQLITE_WRITE_GATE", "on") != "off"
            cache["path"] = url.database + "-writers.lock" if on else None
        return cache["path"]

    def active(self) -> bool:
        """Whether writers of the current database queue here (SQLite with the gate on)."""
        return self._lock_path() is not None

    @contextmanager
    def __call__(self):
        path = self._lock_path()
        if path is None:
            yield
            return
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth = depth
            return
        with self._lock:
            fd = self._fd(path)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._local.depth = 1
            try:
                yield
            finally:
                self._local.depth = 0
                fcntl.flock(fd, fcntl.LOCK_UN)


write_gate = _WriteGate()


_engine_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def engine_cache(name: str) -> dict:
    """A process-wide cache that belongs to the current database: one process may serve
    several apps and databases (the tests do), and a cache kept per engine object never
    mixes them, at the price of a dictionary lookup (no URL is rendered per request)."""
    engine = db.engine
    caches = _engine_caches.get(engine)
    if caches is None:      # setdefault: threads that race here all get the one dict
        caches = _engine_caches.setdefault(engine, {})
    cache = caches.get(name)
    if cache is None:
        cache = caches.setdefault(name, {})
    return cache


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
    digest, blueprint, questions = _version(session.bank_version_id, lambda: session.bank_version)
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


def _version(version_id: int, load):
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
    return _version(attempt.bank_version_id, lambda: attempt.bank_version)[1:]


def attempt_questions(attempt: Attempt):
    """The attempt's questions in shown order, from the version it was drawn from."""
    _blueprint, questions = attempt_snapshot(attempt)
    return [(item, questions[item["id"]]) for item in attempt.form]


@dataclass
class Ack:
    seq: int
    saved_at: datetime
    duplicate: bool = False


# The two statements of a save, built once (Core, on the tables: no ORM bookkeeping).
_attempts, _steps = Attempt.__table__, AnswerStep.__table__
_CLAIM = (update(_attempts)
          .where(_attempts.c.id == bindparam("attempt_id"),
                 _attempts.c.last_seq == bindparam("base_seq"),
                 _attempts.c.submitted_at.is_(None), _attempts.c.deadline > bindparam("now"))
          .values(last_seq=bindparam("new_seq"), last_position=bindparam("position")))
_APPEND = insert(_steps)
# The same claim for the usual save, limited to the attempt of the signed-in user, who must
# still be active and a candidate, in a session not ended since (what load_user and
# role_required would check: the usual save then needs no query of its own for the
# principal), and returning the deadline, so the attempt need not be loaded.
_users, _roles = User.__table__, UserRole.__table__
_CLAIM_OWN = (update(_attempts)
              .where(_attempts.c.id == bindparam("attempt_id"),
                     _attempts.c.user_id == bindparam("owner"),
                     _attempts.c.last_seq == bindparam("base_seq"),
                     _attempts.c.submitted_at.is_(None), _attempts.c.deadline > bindparam("now"),
                     select(_users.c.id).join(_roles, _roles.c.user_id == _users.c.id)
                     .where(_users.c.id == bindparam("owner"), _users.c.active.is_(True),
                            _users.c.session_epoch == bindparam("epoch"),
                            _roles.c.role == "candidate").exists())
              .values(last_seq=bindparam("new_seq"), last_position=bindparam("position"))
              .returning(_attempts.c.deadline))


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


def _check_save(base_seq, client_id, position, flagged) -> None:
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
    _check_save(base_seq, client_id, position, flagged)
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


def _facts(attempt_id: int) -> tuple[int, int, tuple[str, ...], tuple[tuple[str, ...], ...]] | None:
    """(owner, bank version, question ids in shown order, each question's choice keys in
    shown order) of an attempt: fixed when it is drawn, so read once per process and kept
    (the save path then parses no form)."""
    cache = engine_cache("attempt_facts")
    hit = cache.get(attempt_id)
    if hit is None:
        row = db.session.connection().execute(
            select(_attempts.c.user_id, _attempts.c.bank_version_id, _attempts.c.form_json)
            .where(_attempts.c.id == attempt_id)).first()
        if row is None:
            return None
        form = json.loads(row[2])
        # Forms repeat a few orders (24 of four keys): every attempt shares one tuple of each.
        shared = engine_cache("choice_orders")
        orders = tuple(shared.setdefault(order, order)
                       for order in (tuple(item.get("choice_order", ())) for item in form))
        hit = (row[0], row[1], tuple(item["id"] for item in form), orders)
        if len(cache) > 20000:
            cache.clear()
        cache[attempt_id] = hit
    return hit


def prepare_save(attempt_id: int, user_id: int, epoch: int, *, base_seq, client_id, position,
                 question_id, response, flagged) -> dict | None:
    """The checks of the usual save that need no write: the user's own attempt, the question
    at that position of their form, a well-formed answer (choices by shown position).
    Returns the parameters for store_save (whose claim checks the user and the session
    epoch), or None for anything unusual, which the caller then sends the full way
    (record_answer) to be answered precisely."""
    try:
        _check_save(base_seq, client_id, position, flagged)
    except Refused:
        return None
    facts = _facts(attempt_id)
    if facts is None or facts[0] != user_id:
        return None
    owner, version_id, qids, orders = facts
    if not (1 <= position <= len(qids) and qids[position - 1] == question_id):
        return None
    q = _version(version_id, lambda: db.session.get(BankVersion, version_id))[2][question_id]
    try:
        value = coerce_response(q.type, [c.key for c in q.choices],
                                to_keys(q.type, orders[position - 1], response))
    except ResponseError:
        return None
    return {"attempt_id": attempt_id, "owner": owner, "epoch": epoch, "base_seq": base_seq,
            "new_seq": base_seq + 1, "position": position, "question_id": question_id,
            "flagged": flagged, "client_id": client_id,
            "response_json": None if value is None else json.dumps(value, ensure_ascii=False)}


class _DriverStatement:
    """A Core statement compiled once for an engine's dialect and then run on the bare
    driver cursor: the usual save's two statements skip SQLAlchemy's per-execution work
    (an execution context, parameter and result handling set up each time), about 40% of
    the save's database time (bench/README.md). The SQL, the parameter order
    and the type conversions are still SQLAlchemy's, taken from the compiled statement."""

    def __init__(self, stmt, dialect, keys=None):
        self.compiled = stmt.compile(dialect=dialect, column_keys=keys)
        self.sql = self.compiled.string
        self.order = self.compiled.positiontup if self.compiled.positional else None
        binds = self.compiled.binds
        self.processors = [(name, proc) for name, bind in binds.items()
                           if (proc := bind.type.dialect_impl(dialect).bind_processor(dialect))]
        self.result_processors = [c.type.dialect_impl(dialect).result_processor(dialect, None)
                                  for c in stmt.exported_columns]

    def _send(self, cursor, params: dict) -> None:
        values = self.compiled.construct_params(params)
        for name, proc in self.processors:
            values[name] = proc(values[name])
        cursor.execute(self.sql, [values[k] for k in self.order] if self.order else values)

    def _row(self, row) -> tuple:
        return tuple(proc(v) if proc else v for proc, v in zip(self.result_processors, row))

    def execute(self, cursor, params: dict):
        """The first row returned (None without one or without a RETURNING)."""
        self._send(cursor, params)
        if not self.result_processors:
            return None
        row = cursor.fetchone()
        return None if row is None else self._row(row)

    def execute_all(self, cursor, params: dict) -> list[tuple]:
        self._send(cursor, params)
        return [self._row(row) for row in cursor.fetchall()]


_STEP_KEYS = ["attempt_id", "seq", "position", "question_id", "flagged", "client_id",
              "response_json", "created_at"]


def _claim_and_append():
    """The claim and the append as one PostgreSQL statement (a data-modifying WITH): the
    step is inserted only from the claimed row, so one round trip does what BEGIN, claim,
    append and COMMIT did in four, and the statement is its own transaction (autocommit):
    a refused append (the client id used before) undoes the claim with it."""
    claim = _CLAIM_OWN.cte("claim")
    # Typed, so the dialect casts each parameter: a SELECT list gives PostgreSQL no column
    # to infer a parameter's type from.
    binds = {"seq": "new_seq", "created_at": "now"}
    values = select(*[bindparam(binds.get(k, k), type_=_steps.c[k].type) for k in _STEP_KEYS]
                    ).select_from(claim)
    appended = insert(_steps).from_select(_STEP_KEYS, values).returning(_steps.c.seq).cte("ins")
    return select(claim.c.deadline).select_from(claim).join(appended, true())


# The columns of each save in _claim_and_append_many's JSON rows, with their types.
_BATCH_COLUMNS = {"attempt_id": _steps.c.attempt_id.type, "owner": _attempts.c.user_id.type,
                  "epoch": _users.c.session_epoch.type,
                  "base_seq": _attempts.c.last_seq.type, "new_seq": _steps.c.seq.type,
                  "position": _steps.c.position.type, "question_id": _steps.c.question_id.type,
                  "flagged": _steps.c.flagged.type, "client_id": _steps.c.client_id.type,
                  "response_json": _steps.c.response_json.type, "now": _steps.c.created_at.type,
                  "ord": _steps.c.seq.type}


def _claim_and_append_many():
    """Several saves as one PostgreSQL statement: what _claim_and_append does for one, for
    each row of a JSON array (json_to_recordset: one parameter, whatever the number of
    saves, so one prepared statement serves every batch). Returns (ord, deadline) of each
    save stored. A save is stored only if its claim holds and its client id is new to its
    attempt; any other is left out (the caller sends it the checked way), so a refusal
    never fails the others. Of several saves of one attempt in a batch only the first
    is tried (they would race for one claim); the others are left out like refused ones."""
    rows = (func.json_to_recordset(cast(bindparam("rows"), JSON))
            .table_valued(*[column(name, type_) for name, type_ in _BATCH_COLUMNS.items()])
            .render_derived(name="r", with_types=True))
    v = (select(rows).ext(distinct_on(rows.c.attempt_id)).order_by(rows.c.attempt_id, rows.c.ord)
         .subquery("v"))
    claim = (update(_attempts)
             .where(_attempts.c.id == v.c.attempt_id, _attempts.c.user_id == v.c.owner,
                    _attempts.c.last_seq == v.c.base_seq, _attempts.c.submitted_at.is_(None),
                    _attempts.c.deadline > v.c.now,
                    select(_users.c.id).join(_roles, _roles.c.user_id == _users.c.id)
                    .where(_users.c.id == v.c.owner, _users.c.active.is_(True),
                           _users.c.session_epoch == v.c.epoch,
                           _roles.c.role == "candidate").exists(),
                    ~exists().where(_steps.c.attempt_id == v.c.attempt_id,
                                    _steps.c.client_id == v.c.client_id))
             .values(last_seq=v.c.new_seq, last_position=v.c.position)
             .returning(_attempts.c.deadline, *[v.c[k] for k in _BATCH_COLUMNS])
             .cte("claim"))
    named = {"seq": "new_seq", "created_at": "now"}
    appended = (insert(_steps)
                .from_select(_STEP_KEYS, select(*[claim.c[named.get(k, k)] for k in _STEP_KEYS]))
                .returning(_steps.c.attempt_id, _steps.c.seq).cte("ins"))
    return (select(claim.c.ord, claim.c.deadline).select_from(claim)
            .join(appended, (appended.c.attempt_id == claim.c.attempt_id)
                  & (appended.c.seq == claim.c.new_seq)))


_build_lock = threading.Lock()


def _save_statements():
    """The save's statements for the current database and its group commit, built once per
    process by one thread, and seen by the others only when complete."""
    cache = engine_cache("save_statements")
    if "group" not in cache:
        with _build_lock:
            if "group" not in cache:
                dialect = db.engine.dialect
                built = {"claim": _DriverStatement(_CLAIM_OWN, dialect),
                         "append": _DriverStatement(_APPEND, dialect, _STEP_KEYS),
                         "integrity": dialect.loaded_dbapi.IntegrityError,
                         "dbapi_error": dialect.loaded_dbapi.Error}
                if dialect.name == "postgresql":
                    built["one"] = _DriverStatement(_claim_and_append(), dialect)
                    built["many"] = _DriverStatement(_claim_and_append_many(), dialect)
                built["group"] = _GroupCommit()
                cache.update(built)     # every key at once (one C call, under the GIL)
    return cache


def _store_one(cursor, st: dict, params: dict, now: datetime) -> tuple[Ack, datetime] | None:
    """Claim the next sequence number if the attempt is open, before its deadline and still
    at base_seq, and its owner an active candidate, then append the step. None when the
    claim fails (stale, finished, past the deadline, the user deactivated or no longer a
    candidate) or the client id was used before; the caller then undoes what it wrote."""
    row = st["claim"].execute(cursor, dict(params, now=now))
    if row is None:
        return None
    try:
        st["append"].execute(cursor, {
            "attempt_id": params["attempt_id"], "seq": params["new_seq"],
            "position": params["position"], "question_id": params["question_id"],
            "flagged": params["flagged"], "client_id": params["client_id"],
            "response_json": params["response_json"], "created_at": now})
    except st["integrity"]:
        return None
    return Ack(params["new_seq"], now), row[0]


class _Save:
    """One usual save waiting in a batch: its input, then its outcome."""
    __slots__ = ("params", "now", "done", "result", "error")

    def __init__(self, params: dict, now: datetime):
        self.params, self.now = params, now
        self.done, self.result, self.error = False, None, None


class _GroupCommit:
    """The usual saves of one process and database, written in batches. The saves that queue
    while a thread of the process is writing are written by the next writer together.

    SQLite has one writer at a time (the write gate queues them), and at saturation each save
    held the gate about 1.1 ms, several times the work done under it (a thread of a busy
    process waits for its turn on the processor and for the GIL), so the gate was busy 92% of
    the time and saves queued for it (bench/README.md). There the thread that gets the gate
    takes every save queued meanwhile, stores each under its own savepoint (a refused one
    undoes only itself) and commits them together: one gate and one transaction for the batch.

    PostgreSQL runs writers side by side, but each statement costs a round trip, a commit and
    the driver's work whatever it carries. There a lone save is one statement
    (_claim_and_append) and a batch is one statement too (_claim_and_append_many), which
    leaves a refused save out without failing the others; should the batch fail anyway (a
    client id repeated from another server in the meantime, a deadlock), its saves are
    written one by one.

    Either way each request is answered only after the commit of its own save, so an
    acknowledged answer is as durable as before; a save that finds no writer is written at
    once, alone."""

    def __init__(self):
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[_Save] = []
        self._writing = False
        self.batches = 0            # statements or transactions written (by the one writer
        self.saves = 0              # at a time), and the saves in them: read by the tests

    def store(self, params: dict, now: datetime, st: dict) -> tuple[Ack, datetime] | None:
        job = _Save(params, now)
        postgresql = "many" in st
        if not postgresql and not write_gate.active():
            try:
                self._write(lambda: [job], st)
            except st["dbapi_error"] as exc:
                raise DatabaseUnavailable("the answer could not be stored") from exc
        else:
            with self._cond:
                self._queue.append(job)
                while self._writing and not job.done:
                    self._cond.wait()
                lead = not job.done
                if lead:
                    self._writing = True
            if lead:
                try:
                    (self._write_pg if postgresql else self._write)(self._take, st)
                except st["dbapi_error"] as exc:    # nothing of the batch was stored: 503
                    raise DatabaseUnavailable("the answers could not be stored") from exc
                finally:
                    with self._cond:
                        if not job.done:     # failed before taking the queue: not written
                            self._queue.remove(job)
                        self._writing = False
                        self._cond.notify_all()
        if job.error is not None:    # (the writer itself raised it above) nothing was stored
            if isinstance(job.error, st["dbapi_error"]):
                raise DatabaseUnavailable("the batch this answer was written in failed") \
                    from job.error
            raise RuntimeError("the batch this answer was written in failed") from job.error
        return job.result

    def _take(self) -> list[_Save]:
        """Every save queued so far, the writer's own first (on SQLite taken once the writer
        holds the gate, so the saves that queued while it waited go in too)."""
        with self._cond:
            batch, self._queue = self._queue, []
        return batch

    @staticmethod
    def _autocommit(run):
        """run(cursor) on a pooled PostgreSQL connection in autocommit (each statement its
        own transaction, committed when it returns), which then goes back to the pool in
        transaction mode, as the app's other users expect, or is dropped."""
        conn = db.engine.raw_connection()
        try:
            driver = conn.driver_connection
            driver.autocommit = True
            cursor = conn.cursor()
            try:
                return run(cursor)
            except Exception as exc:
                _drop_if_broken(conn, exc)
                raise
            finally:
                if conn.is_valid:
                    cursor.close()
                    try:
                        driver.autocommit = False
                    except Exception:       # noqa: BLE001  (a broken connection: never reuse it)
                        conn.invalidate()
        finally:
            conn.close()

    def _write_pg(self, take, st: dict) -> None:
        batch = take()
        self.batches += 1
        self.saves += len(batch)
        try:
            if len(batch) == 1:
                self._write_one(batch[0], st)
                return
            try:
                rows = self._autocommit(lambda cursor: st["many"].execute_all(
                    cursor, {"rows": _batch_json(batch)}))
            except st["dbapi_error"] as exc:
                log.warning("a batch of %d saves failed (%s); writing them one by one",
                            len(batch), type(exc).__name__,
                            extra={"event": "save_batch_failed", "saves": len(batch)})
                for job in batch:
                    try:
                        self._write_one(job, st)
                    except Exception as exc:    # noqa: BLE001  (that request answers 500)
                        job.error = exc
                return
            stored = dict(rows)
            for i, job in enumerate(batch):
                deadline = stored.get(i)
                job.result = None if deadline is None else (Ack(job.params["new_seq"], job.now),
                                                            deadline)
        except BaseException as exc:     # the lone save or the batch failed: nothing stored
            for job in batch:
                if job.result is None and job.error is None:
                    job.error = exc
            raise
        finally:
            for job in batch:
                job.done = True

    def _write_one(self, job: _Save, st: dict) -> None:
        """One save as its one statement; a repeated client id stores nothing."""
        def run(cursor):
            try:
                return st["one"].execute(cursor, dict(job.params, now=job.now))
            except st["integrity"]:
                return None
        row = self._autocommit(run)
        job.result = None if row is None else (Ack(job.params["new_seq"], job.now), row[0])

    def _write(self, take, st: dict) -> None:
        """SQLite: the batch in one transaction under the write gate."""
        batch: list[_Save] = []
        conn = db.engine.raw_connection()
        try:
            cursor = conn.cursor()
            try:
                with write_gate():
                    batch = take()
                    self.batches += 1
                    self.saves += len(batch)
                    if len(batch) == 1:
                        job = batch[0]
                        job.result = _store_one(cursor, st, job.params, job.now)
                    else:
                        cursor.execute("BEGIN")
                        for job in batch:
                            cursor.execute("SAVEPOINT save")
                            job.result = _store_one(cursor, st, job.params, job.now)
                            if job.result is None:
                                cursor.execute("ROLLBACK TO SAVEPOINT save")
                            cursor.execute("RELEASE SAVEPOINT save")
                    if any(job.result for job in batch):
                        conn.commit()
                    else:       # release the write lock before queueing for the gate again
                        conn.rollback()
            finally:
                cursor.close()
        except BaseException as exc:     # nothing of the batch was committed
            for job in batch:
                job.result, job.error = None, exc
            _drop_if_broken(conn, exc)
            raise
        finally:
            conn.close()
            for job in batch:
                job.done = True


def _drop_if_broken(conn, exc: BaseException) -> None:
    """What SQLAlchemy does for its own statements (dbhealth), for the save's bare driver
    cursor: a connection that cannot write (opened read-only during an outage, or lost
    with a restarted server) is dropped, with every connection pooled before it, so the
    next save opens a new one instead of failing on it until the server restarts."""
    if not connection_broken(exc, db.engine.dialect):
        return
    log.warning("dropping database connections after %s", type(exc).__name__,
                extra={"event": "connection_dropped", "reason": "connection_broken"})
    # Pool._invalidate is what SQLAlchemy's own disconnect handling calls: it also marks
    # every connection made before now as stale; the public invalidate() is per connection.
    db.engine.pool._invalidate(conn, exc)


def _batch_json(batch: list[_Save]) -> str:
    """The rows of _claim_and_append_many: each save's parameters, its time and its place."""
    return json.dumps([{"attempt_id": p["attempt_id"], "owner": p["owner"], "epoch": p["epoch"],
                        "base_seq": p["base_seq"], "new_seq": p["new_seq"],
                        "position": p["position"], "question_id": p["question_id"],
                        "flagged": p["flagged"], "client_id": p["client_id"],
                        "response_json": p["response_json"], "now": job.now.isoformat(), "ord": i}
                       for i, job in enumerate(batch) for p in (job.params,)])


def group_commit() -> _GroupCommit:
    """The current database's group commit in this process (one per engine, so a process
    serving several apps, as the tests do, never writes one's saves into another)."""
    return _save_statements()["group"]


def store_save(params: dict, now: datetime) -> tuple[Ack, datetime] | None:
    """The write of the usual save (params from prepare_save), committed when this returns
    an Ack and the attempt's deadline. None, with nothing stored, when the claim fails
    (stale, finished, past the deadline, the user deactivated or no longer a candidate) or
    the client id was used before: the caller then takes the checked way."""
    st = _save_statements()
    return st["group"].store(params, now, st)


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


def finalize_expired(now: datetime, batch: int = 50) -> int:
    """Submit and score every attempt whose deadline has passed; returns how many.
    Commits per batch so a long backlog after a mass deadline is not one transaction and
    saves and pages get their turn between batches. Several sweepers (one per server
    process) share the work: on PostgreSQL each takes rows the others have not locked
    (SKIP LOCKED), on SQLite they take turns through the write gate."""
    total = 0
    while True:
        with write_gate():
            due = list(db.session.scalars(
                select(Attempt).where(Attempt.submitted_at.is_(None), Attempt.deadline <= now)
                .order_by(Attempt.id).limit(batch).with_for_update(skip_locked=True)))
            if not due:
                return total
            for attempt in due:
                total += submit_attempt(attempt, "deadline", now)
            db.session.commit()


def start_sweeper(app) -> None:
    """Background thread per server process: scores attempts at their deadline even when
    no browser is left. Several servers may run one each; the conditional update in
    submit_attempt lets exactly one of them submit a given attempt."""
    interval = app.config["SWEEP_INTERVAL_SECONDS"]

    def loop():
        while True:
            time.sleep(interval)
            try:
                with app.app_context():
                    n = finalize_expired(utcnow())
                    if n:
                        log.info("deadline sweeper submitted %d attempt(s)", n,
                                 extra={"event": "deadline_sweep", "submitted": n})
            except Exception:       # keep sweeping; the next round retries
                log.exception("deadline sweeper failed")
                with app.app_context():
                    db.session.rollback()

    threading.Thread(target=loop, name="deadline-sweeper", daemon=True).start()
