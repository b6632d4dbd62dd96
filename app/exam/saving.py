"""The usual save: every candidate's every answer, at 2,000 candidates. The same rules as
the checked way (attempts.record_answer), written so that a save costs one statement (or a
share of one) and no query for the user: the checks that need no write first
(prepare_save), then the claim and the append as conditional SQL that itself requires the
session's user to own the attempt and to be an active candidate whose session has not
ended. Anything unusual (refused, stale, retried, malformed) goes back to the checked way,
which answers it precisely.

How the statements reach the database (the driver cursor, group commit) is app/db's.
"""
from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import JSON, bindparam, cast, column, exists, func, insert, select, true, update
from sqlalchemy.dialects.postgresql import distinct_on

from scoring.choice_positions import to_keys
from scoring.grading import ResponseError, coerce_response

from ..db.engine import engine_cache
from ..db.groupcommit import GroupCommit, Job
from ..db.statements import DriverStatement
from ..extensions import db
from ..models import AnswerStep, Attempt, BankVersion, User, UserRole
from .attempts import Ack, Refused, check_save, version_content

_attempts, _steps = Attempt.__table__, AnswerStep.__table__
_users, _roles = User.__table__, UserRole.__table__
_APPEND = insert(_steps)
# The claim of the usual save: the next sequence number of the attempt of the signed-in
# user, who must still be active and a candidate, in a session not ended since (what
# load_user and role_required would check: the usual save then needs no query of its own
# for the principal), if the attempt is open, its clock running (started, not paused),
# before its deadline and still at base_seq; returning the deadline, so the attempt need
# not be loaded.
_CLAIM_OWN = (update(_attempts)
              .where(_attempts.c.id == bindparam("attempt_id"),
                     _attempts.c.user_id == bindparam("owner"),
                     _attempts.c.last_seq == bindparam("base_seq"),
                     _attempts.c.submitted_at.is_(None), _attempts.c.deadline > bindparam("now"),
                     _attempts.c.paused_at.is_(None), _attempts.c.started_at <= bindparam("now"),
                     select(_users.c.id).join(_roles, _roles.c.user_id == _users.c.id)
                     .where(_users.c.id == bindparam("owner"), _users.c.active.is_(True),
                            _users.c.session_epoch == bindparam("epoch"),
                            _roles.c.role == "candidate").exists())
              .values(last_seq=bindparam("new_seq"), last_position=bindparam("position"))
              .returning(_attempts.c.deadline))
_STEP_KEYS = ["attempt_id", "seq", "position", "question_id", "flagged", "client_id",
              "response_json", "created_at"]


class Facts(NamedTuple):
    """What never changes about an attempt once drawn, kept per process (the save path then
    parses no form and reads no row to know it)."""
    owner: int
    session_id: int
    version_id: int
    question_ids: tuple[str, ...]
    orders: tuple[tuple[str, ...], ...]      # each question's choice keys in shown order


def facts(attempt_id: int) -> Facts | None:
    cache = engine_cache("attempt_facts")
    hit = cache.get(attempt_id)
    if hit is None:
        row = db.session.connection().execute(
            select(_attempts.c.user_id, _attempts.c.session_id, _attempts.c.bank_version_id,
                   _attempts.c.form_json)
            .where(_attempts.c.id == attempt_id)).first()
        if row is None:
            return None
        form = json.loads(row[3])
        # Forms repeat a few orders (24 of four keys): every attempt shares one tuple of each.
        shared = engine_cache("choice_orders")
        orders = tuple(shared.setdefault(order, order)
                       for order in (tuple(item.get("choice_order", ())) for item in form))
        hit = Facts(row[0], row[1], row[2], tuple(item["id"] for item in form), orders)
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
        check_save(base_seq, client_id, position, flagged)
    except Refused:
        return None
    known = facts(attempt_id)
    if known is None or known.owner != user_id:
        return None
    owner, version_id, qids, orders = known.owner, known.version_id, known.question_ids, known.orders
    if not (1 <= position <= len(qids) and qids[position - 1] == question_id):
        return None
    q = version_content(version_id, lambda: db.session.get(BankVersion, version_id))[2][question_id]
    try:
        value = coerce_response(q.type, [c.key for c in q.choices],
                                to_keys(q.type, orders[position - 1], response))
    except ResponseError:
        return None
    return {"attempt_id": attempt_id, "owner": owner, "epoch": epoch, "base_seq": base_seq,
            "new_seq": base_seq + 1, "position": position, "question_id": question_id,
            "flagged": flagged, "client_id": client_id,
            "response_json": None if value is None else json.dumps(value, ensure_ascii=False)}


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
                    _attempts.c.deadline > v.c.now, _attempts.c.paused_at.is_(None),
                    _attempts.c.started_at <= v.c.now,
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


def _batch_json(batch: list[Job]) -> str:
    """The rows of _claim_and_append_many: each save's parameters, its time and its place."""
    return json.dumps([{"attempt_id": p["attempt_id"], "owner": p["owner"], "epoch": p["epoch"],
                        "base_seq": p["base_seq"], "new_seq": p["new_seq"],
                        "position": p["position"], "question_id": p["question_id"],
                        "flagged": p["flagged"], "client_id": p["client_id"],
                        "response_json": p["response_json"], "now": job.now.isoformat(), "ord": i}
                       for i, job in enumerate(batch) for p in (job.params,)])


class _SaveWriter:
    """The save's statements for one engine, as app/db/groupcommit.GroupCommit writes them:
    on SQLite the claim and the append in the writer's transaction; on PostgreSQL the two as
    one statement, alone or for a whole batch."""

    def __init__(self, dialect):
        self.postgresql = dialect.name == "postgresql"
        self.integrity = dialect.loaded_dbapi.IntegrityError
        self.dbapi_error = dialect.loaded_dbapi.Error
        self.claim = DriverStatement(_CLAIM_OWN, dialect)
        self.append = DriverStatement(_APPEND, dialect, _STEP_KEYS)
        if self.postgresql:
            self.one = DriverStatement(_claim_and_append(), dialect)
            self.many = DriverStatement(_claim_and_append_many(), dialect)

    def store_in_transaction(self, cursor, params: dict, now: datetime):
        """Claim, then append. None when the claim fails (stale, finished, past the deadline,
        the user deactivated, signed out or no longer a candidate) or the client id was used
        before; the group commit then undoes what was written."""
        row = self.claim.execute(cursor, dict(params, now=now))
        if row is None:
            return None
        try:
            self.append.execute(cursor, {
                "attempt_id": params["attempt_id"], "seq": params["new_seq"],
                "position": params["position"], "question_id": params["question_id"],
                "flagged": params["flagged"], "client_id": params["client_id"],
                "response_json": params["response_json"], "created_at": now})
        except self.integrity:
            return None
        return Ack(params["new_seq"], now), row[0]

    def store_alone(self, cursor, params: dict, now: datetime):
        """One save as its one statement; a repeated client id stores nothing."""
        try:
            row = self.one.execute(cursor, dict(params, now=now))
        except self.integrity:
            return None
        return None if row is None else (Ack(params["new_seq"], now), row[0])

    def store_many(self, cursor, jobs: list[Job]) -> list:
        stored = dict(self.many.execute_all(cursor, {"rows": _batch_json(jobs)}))
        return [None if (deadline := stored.get(i)) is None else (Ack(job.params["new_seq"], job.now),
                                                                  deadline)
                for i, job in enumerate(jobs)]


_build_lock = threading.Lock()


def group_commit() -> GroupCommit:
    """The current database's group commit of saves in this process (one per engine, so a
    process serving several apps, as the tests do, never writes one's saves into another),
    built once by one thread and seen by the others only when complete."""
    cache = engine_cache("saves")
    group = cache.get("group")
    if group is None:
        with _build_lock:
            group = cache.get("group")
            if group is None:
                group = cache["group"] = GroupCommit(_SaveWriter(db.engine.dialect))
    return group


def store_save(params: dict, now: datetime) -> tuple[Ack, datetime] | None:
    """The write of the usual save (params from prepare_save), committed when this returns
    an Ack and the attempt's deadline. None, with nothing stored, when the claim fails
    (stale, finished, past the deadline, the user deactivated or no longer a candidate) or
    the client id was used before: the caller then takes the checked way."""
    return group_commit().store(params, now)
