"""The usual save's write (app/db/groupcommit.py, with app/exam/saving.py's statements).
Saves that queue while another thread of the process writes are stored by the next writer together, and each is answered only after
the commit: on SQLite in one transaction, each under its own savepoint; on PostgreSQL in one
statement, which leaves a refused save out. A lone save on PostgreSQL is one statement."""
from __future__ import annotations

import logging
import threading
import time
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from app.db.writegate import write_gate
from app.exam.saving import group_commit, prepare_save, store_save
from app.extensions import db
from app.models import AnswerStep, Attempt, User, utcnow
from tests.choicetools import posted_for
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
        uid, epoch = db.session.execute(select(User.id, User.session_epoch)
                                        .where(User.username == username)).one()
        params = prepare_save(state["attempt"], uid, epoch, base_seq=base_seq,
                              client_id=client_id or uuid.uuid4().hex, position=position,
                              question_id=qid, flagged=False,
                              response=posted_for(app, state["attempt"], position, response))
    assert params
    return params


def wait_queued(n, timeout=10):
    end = time.monotonic() + timeout
    group = group_commit()
    while len(group._queue) < n:
        assert time.monotonic() < end, f"only {len(group._queue)} of {n} saves queued"
        time.sleep(0.005)


@contextmanager
def writer_busy():
    """As if another thread of this process were writing: saves queue until it ends (on
    SQLite it holds the write gate; on PostgreSQL the group commit's writer flag)."""
    if write_gate.active():
        with write_gate():
            yield
        return
    group = group_commit()
    with group._cond:
        assert not group._writing
        group._writing = True
    try:
        yield
    finally:
        with group._cond:
            group._writing = False
            group._cond.notify_all()


def run_in_threads(app, params_list):
    """store_save for each params from its own thread, queued in the given order while a
    writer is busy (so they form one batch when it is done)."""
    results, errors = [None] * len(params_list), [None] * len(params_list)

    def one(i, params):
        with app.app_context():
            try:
                results[i] = store_save(params, utcnow())
            except Exception as exc:      # noqa: BLE001  (the test reads it)
                errors[i] = exc

    threads = []
    with app.app_context(), writer_busy():
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


def test_saves_queued_together_are_stored_together_and_a_refused_one_undoes_only_itself(app):
    (_c1, s1), (_c2, s2), (_c3, s3) = (sitting(app, f"candidate{i}") for i in (1, 2, 3))
    a, b, d = s1["seq"], s2["seq"], s3["seq"]
    dup = uuid.uuid4().hex
    batch = [
        params_for(app, "candidate1", s1, 1, a, client_id=dup),   # stored: a+1
        params_for(app, "candidate1", s1, 2, a),                  # stale: a was taken just before
        params_for(app, "candidate1", s1, 3, a + 1, client_id=dup),  # a repeated client id:
                # SQLite claims a+2 and undoes it; PostgreSQL tries the first save of an
                # attempt in a batch only (the others go the checked way)
        params_for(app, "candidate2", s2, 1, b),                  # stored
        params_for(app, "candidate3", s3, 4, d),                  # stored
    ]
    with app.app_context():
        group = group_commit()
    before = group.batches, group.saves
    results, errors = run_in_threads(app, batch)
    assert errors == [None] * 5
    assert (group.batches - before[0], group.saves - before[1]) == (1, 5)
    ok = [r is not None for r in results]
    assert ok == [True, False, False, True, True]
    assert [r[0].seq for r in results if r] == [a + 1, b + 1, d + 1]
    # The attempt is at a+1 (on SQLite the third save's claim went back with its
    # savepoint), and the next save from there is accepted.
    assert last_seq(app, s1["attempt"]) == a + 1
    assert steps(app, s1["attempt"])[-1] == (a + 1, dup)
    assert [s for s, _ in steps(app, s1["attempt"])] == list(range(1, a + 2))
    assert steps(app, s2["attempt"])[-1][0] == b + 1 and steps(app, s3["attempt"])[-1][0] == d + 1
    with app.app_context():
        deadlines = dict(db.session.execute(select(Attempt.id, Attempt.deadline)).all())
    assert [r[1] for r in results if r] == [deadlines[s["attempt"]] for s in (s1, s2, s3)]
    again = run_in_threads(app, [params_for(app, "candidate1", s1, 2, a + 1)])[0][0]
    assert again[0].seq == a + 2


def test_a_failed_batch_stores_nothing_and_every_save_in_it_fails(app, sqlite_only, monkeypatch):
    (_c1, s1), (_c2, s2) = (sitting(app, f"candidate{i}") for i in (1, 2))
    batch = [params_for(app, "candidate1", s1, 1, s1["seq"]),
             params_for(app, "candidate2", s2, 1, s2["seq"])]
    with app.app_context():
        writer = group_commit().writer
    real = writer.append
    bad_id = batch[1]["client_id"]

    class Failing:
        def execute(self, cursor, params):
            if params["client_id"] == bad_id:
                raise db.engine.dialect.loaded_dbapi.OperationalError("disk I/O error")
            return real.execute(cursor, params)

    monkeypatch.setattr(writer, "append", Failing())
    results, errors = run_in_threads(app, batch)
    assert results == [None, None]
    assert all(isinstance(e, Exception) for e in errors), errors
    # The first save was written before the second failed, but never committed, so never
    # acknowledged: neither attempt moved.
    assert steps(app, s1["attempt"]) == [] and steps(app, s2["attempt"]) == []
    assert last_seq(app, s1["attempt"]) == s1["seq"] and last_seq(app, s2["attempt"]) == s2["seq"]
    monkeypatch.setattr(writer, "append", real)
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
        assert group_commit().writer.postgresql
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


def test_postgresql_batch_leaves_out_a_client_id_already_stored_and_stores_the_rest(app, pg_only, caplog):
    """A save repeated after it was stored (its reply lost) is left out of the batch by the
    statement itself: the others are stored without falling back to one by one."""
    (_c1, s1), (_c2, s2) = (sitting(app, f"candidate{i}") for i in (1, 2))
    a, b, dup = s1["seq"], s2["seq"], uuid.uuid4().hex
    first = run_in_threads(app, [params_for(app, "candidate1", s1, 1, a, client_id=dup)])[0][0]
    assert first[0].seq == a + 1
    with app.app_context():
        group = group_commit()
    before = group.batches
    caplog.set_level(logging.WARNING, logger="cbt.exam")
    results, errors = run_in_threads(app, [
        params_for(app, "candidate1", s1, 2, a + 1, client_id=dup),
        params_for(app, "candidate2", s2, 1, b)])
    assert errors == [None, None] and group.batches - before == 1
    assert results[0] is None and results[1][0].seq == b + 1
    assert not [r for r in caplog.records if getattr(r, "event", "") == "save_batch_failed"]
    assert last_seq(app, s1["attempt"]) == a + 1 and steps(app, s1["attempt"])[-1] == (a + 1, dup)
    assert last_seq(app, s2["attempt"]) == b + 1


def test_postgresql_a_failed_batch_is_written_save_by_save(app, pg_only, monkeypatch, caplog):
    """Should the batch statement fail (a client id stored from another server after the
    statement began, a deadlock), its saves are written one by one, each refused or stored
    on its own, and the failure is logged."""
    (_c1, s1), (_c2, s2) = (sitting(app, f"candidate{i}") for i in (1, 2))
    a, b, dup = s1["seq"], s2["seq"], uuid.uuid4().hex
    with app.app_context():
        writer = group_commit().writer
        integrity = db.engine.dialect.loaded_dbapi.IntegrityError
    calls = []

    class Failing:
        def execute_all(self, cursor, params):
            calls.append(params)
            raise integrity("duplicate key value violates unique constraint")

    monkeypatch.setattr(writer, "many", Failing())
    caplog.set_level(logging.WARNING, logger="cbt.exam")
    results, errors = run_in_threads(app, [
        params_for(app, "candidate1", s1, 1, a, client_id=dup),     # stored: a+1
        params_for(app, "candidate2", s2, 1, b),                    # stored: b+1
        params_for(app, "candidate1", s1, 2, a + 1, client_id=dup),  # repeated id: claim undone
    ])
    assert len(calls) == 1 and errors == [None] * 3
    assert [r and r[0].seq for r in results] == [a + 1, b + 1, None]
    assert [r.saves for r in caplog.records if getattr(r, "event", "") == "save_batch_failed"] == [3]
    assert last_seq(app, s1["attempt"]) == a + 1 and steps(app, s1["attempt"])[-1] == (a + 1, dup)
    assert last_seq(app, s2["attempt"]) == b + 1


def test_each_process_has_two_database_connections_per_thread(monkeypatch, tmp_path):
    """A request thread holds a connection and may take a second to write a batch, so the
    pool follows `cbt serve --threads` (CBT_THREADS): smaller, threads wait for each other
    (on SQLite, one holding the write gate for one waiting for the gate)."""
    from app import create_app
    from app.db.engine import pool_options
    monkeypatch.setenv("CBT_THREADS", "16")
    assert pool_options("postgresql://u@h/db") == {"pool_size": 17, "max_overflow": 17}
    assert pool_options("sqlite://") == {} and pool_options("sqlite:///:memory:") == {}
    made = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'pool.sqlite'}",
                       "SECRET_KEY": "pool-test"}, instance_path=str(tmp_path))
    with made.app_context():
        assert (db.engine.pool.size(), db.engine.pool._max_overflow) == (17, 17)
        db.engine.dispose()
