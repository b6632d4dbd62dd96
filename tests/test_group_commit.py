"""The usual save's write (app.exam._GroupCommit). On SQLite, saves that queue while
another thread of the process writes are stored by that thread in one transaction, each
under its own savepoint, and each answered only after the commit; on PostgreSQL each save
is one statement."""
from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import func, select

from app import exam
from app.exam import prepare_save, store_save, write_gate
from app.extensions import db
from app.models import AnswerStep, Attempt, User, utcnow
from tests.conftest import Client
from tests.test_exam_flow import key_for, save


@pytest.fixture
def sqlite_only(pg):
    if pg:
        pytest.skip("the write gate and group commit are SQLite's; PostgreSQL writers run side by side")


def sitting(app, username):
    c = Client(app)
    assert c.login(username).status_code == 302
    return c, c.start()


def params_for(app, username, state, position, base_seq, client_id=None):
    qid, response = key_for(app, state, position)
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == username))
        params = prepare_save(state["attempt"], uid, base_seq=base_seq,
                              client_id=client_id or uuid.uuid4().hex, position=position,
                              question_id=qid, response=response, flagged=False)
    assert params
    return params


def wait_queued(n, timeout=10):
    end = time.monotonic() + timeout
    while len(exam._group_commit._queue) < n:
        assert time.monotonic() < end, f"only {len(exam._group_commit._queue)} of {n} saves queued"
        time.sleep(0.005)


def run_in_threads(app, params_list, hold_gate=True):
    """store_save for each params from its own thread, queued in the given order while this
    thread holds the write gate (so they form one batch when it lets go)."""
    results, errors = [None] * len(params_list), [None] * len(params_list)

    def one(i, params):
        with app.app_context():
            try:
                results[i] = store_save(params, utcnow())
            except Exception as exc:      # noqa: BLE001  (the test reads it)
                errors[i] = exc

    threads = []
    with app.app_context(), write_gate():
        for i, params in enumerate(params_list):
            t = threading.Thread(target=one, args=(i, params))
            t.start()
            threads.append(t)
            wait_queued(i + 1)
    for t in threads:
        t.join(30)
        assert not t.is_alive()
    return results, errors


def steps(app, attempt_id):
    with app.app_context():
        return db.session.execute(select(AnswerStep.seq, AnswerStep.client_id)
                                  .where(AnswerStep.attempt_id == attempt_id)
                                  .order_by(AnswerStep.seq)).all()


def last_seq(app, attempt_id):
    with app.app_context():
        return db.session.scalar(select(Attempt.last_seq).where(Attempt.id == attempt_id))


def test_saves_queued_together_are_stored_together_and_a_refused_one_undoes_only_itself(app, sqlite_only):
    (_c1, s1), (_c2, s2), (_c3, s3) = (sitting(app, f"candidate{i}") for i in (1, 2, 3))
    a, b, d = s1["seq"], s2["seq"], s3["seq"]
    dup = uuid.uuid4().hex
    batch = [
        params_for(app, "candidate1", s1, 1, a, client_id=dup),   # stored: a+1
        params_for(app, "candidate1", s1, 2, a),                  # stale: a was taken just before
        params_for(app, "candidate1", s1, 3, a + 1, client_id=dup),  # claims a+2, then the
                                                                  # client id is a repeat: undone
        params_for(app, "candidate2", s2, 1, b),                  # stored
        params_for(app, "candidate3", s3, 4, d),                  # stored
    ]
    before = exam._group_commit.batches, exam._group_commit.saves
    results, errors = run_in_threads(app, batch)
    assert errors == [None] * 5
    assert (exam._group_commit.batches - before[0], exam._group_commit.saves - before[1]) == (1, 5)
    ok = [r is not None for r in results]
    assert ok == [True, False, False, True, True]
    assert [r[0].seq for r in results if r] == [a + 1, b + 1, d + 1]
    # The third save's claim (a+1 -> a+2) went back with its savepoint: the attempt is at
    # a+1, and the next save from there is accepted.
    assert last_seq(app, s1["attempt"]) == a + 1
    assert steps(app, s1["attempt"])[-1] == (a + 1, dup)
    assert [s for s, _ in steps(app, s1["attempt"])] == list(range(1, a + 2))
    assert steps(app, s2["attempt"])[-1][0] == b + 1 and steps(app, s3["attempt"])[-1][0] == d + 1
    again = run_in_threads(app, [params_for(app, "candidate1", s1, 2, a + 1)])[0][0]
    assert again[0].seq == a + 2


def test_a_failed_batch_stores_nothing_and_every_save_in_it_fails(app, sqlite_only, monkeypatch):
    (_c1, s1), (_c2, s2) = (sitting(app, f"candidate{i}") for i in (1, 2))
    batch = [params_for(app, "candidate1", s1, 1, s1["seq"]),
             params_for(app, "candidate2", s2, 1, s2["seq"])]
    with app.app_context():
        stmts = exam._save_statements()
    real = stmts["append"]
    bad_id = batch[1]["client_id"]

    class Failing:
        def execute(self, cursor, params):
            if params["client_id"] == bad_id:
                raise db.engine.dialect.loaded_dbapi.OperationalError("disk I/O error")
            return real.execute(cursor, params)

    monkeypatch.setitem(stmts, "append", Failing())
    results, errors = run_in_threads(app, batch)
    assert results == [None, None]
    assert all(isinstance(e, Exception) for e in errors), errors
    # The first save was written before the second failed, but never committed, so never
    # acknowledged: neither attempt moved.
    assert steps(app, s1["attempt"]) == [] and steps(app, s2["attempt"]) == []
    assert last_seq(app, s1["attempt"]) == s1["seq"] and last_seq(app, s2["attempt"]) == s2["seq"]
    monkeypatch.setitem(stmts, "append", real)
    results, errors = run_in_threads(app, [params_for(app, "candidate1", s1, 1, s1["seq"])])
    assert errors == [None] and results[0][0].seq == s1["seq"] + 1


def test_concurrent_saves_over_http_are_all_acknowledged_and_stored(app):
    """Three candidates save from three threads at once, twenty answers each, on both
    databases: every save is acknowledged in order and every acknowledged one is stored."""
    sitters = [sitting(app, f"candidate{i}") for i in (1, 2, 3)]
    acked = {s["attempt"]: [] for _c, s in sitters}
    failures = []

    def run(c, state):
        for n in range(20):
            position = n % 10 + 1
            r = save(c, state, position, *key_for(app, state, position))
            if r.status_code != 200:
                failures.append((r.status_code, r.get_data(as_text=True)))
                return
            acked[state["attempt"]].append(r.json["seq"])

    threads = [threading.Thread(target=run, args=pair) for pair in sitters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert failures == []
    for _c, state in sitters:
        got = acked[state["attempt"]]
        assert got == list(range(got[0], got[0] + 20))
        assert [s for s, _ in steps(app, state["attempt"])][-20:] == got
        assert last_seq(app, state["attempt"]) == got[-1]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AnswerStep)) >= 60


@pytest.fixture
def pg_only(pg):
    if not pg:
        pytest.skip("the one-statement save is PostgreSQL's (SQLite has no data-modifying WITH)")


def test_postgresql_saves_in_one_statement_and_a_repeated_client_id_undoes_its_claim(app, pg_only):
    """On PostgreSQL the claim and the append are one autocommitted statement: a refused
    append (a repeated client id) takes its claim with it, a stale save stores nothing, and
    the pooled connection goes back in transaction mode for the rest of the app."""
    _c1, s1 = sitting(app, "candidate1")
    a, dup = s1["seq"], uuid.uuid4().hex
    with app.app_context():
        assert "one" in exam._save_statements()
        first = store_save(params_for(app, "candidate1", s1, 1, a, client_id=dup), utcnow())
        stale = store_save(params_for(app, "candidate1", s1, 2, a), utcnow())
        repeat = store_save(params_for(app, "candidate1", s1, 3, a + 1, client_id=dup), utcnow())
        conn = db.engine.raw_connection()
        try:
            assert conn.driver_connection.autocommit is False
        finally:
            conn.close()
    assert first[0].seq == a + 1 and stale is None and repeat is None
    with app.app_context():
        deadline = db.session.scalar(select(Attempt.deadline).where(Attempt.id == s1["attempt"]))
    assert first[1] == deadline
    assert last_seq(app, s1["attempt"]) == a + 1
    assert steps(app, s1["attempt"])[-1] == (a + 1, dup)
    with app.app_context():
        again = store_save(params_for(app, "candidate1", s1, 2, a + 1), utcnow())
    assert again[0].seq == a + 2 and last_seq(app, s1["attempt"]) == a + 2
