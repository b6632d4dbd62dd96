"""Group commit: the writes of one kind (the exam's answer saves) that queue while a thread
of the process is writing are written by the next writer together.

What a save writes, and when it is refused, is the caller's (a `Writer`, e.g.
app/exam/saving.py); this module only decides how the writes reach the database.

SQLite has one writer at a time (the write gate queues them), and at saturation each save
held the gate about 1.1 ms, several times the work done under it (a thread of a busy
process waits for its turn on the processor and for the GIL), so the gate was busy 92% of
the time and saves queued for it (bench/README.md). There the thread that gets the gate
takes every save queued meanwhile, stores each under its own savepoint (a refused one
undoes only itself) and commits them together: one gate and one transaction for the batch.

PostgreSQL runs writers side by side, but each statement costs a round trip, a commit and
the driver's work whatever it carries. There a lone write is one statement and a batch is
one statement too, which leaves a refused write out without failing the others; should the
batch fail anyway (a client id repeated from another server in the meantime, a deadlock),
its writes are made one by one.

Either way each request is answered only after the commit of its own write, so an
acknowledged write is as durable as a lone one; a write that finds no writer busy is made
at once, alone.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any, Callable, Protocol

from ..extensions import db
from .health import DatabaseUnavailable, connection_broken
from .writegate import write_gate

log = logging.getLogger("cbt.exam")


class Job:
    """One write waiting in a batch: its input, then its outcome."""
    __slots__ = ("params", "now", "done", "result", "error")

    def __init__(self, params: dict, now: datetime):
        self.params, self.now = params, now
        self.done, self.result, self.error = False, None, None


class Writer(Protocol):
    """The statements of one kind of write. A result is whatever the caller needs back (for
    a save: its acknowledgement and the attempt's deadline); None means refused, nothing
    stored."""
    postgresql: bool
    dbapi_error: type[Exception]

    def store_in_transaction(self, cursor, params: dict, now: datetime) -> Any | None:
        """SQLite: the write inside the open transaction (the caller undoes a refusal)."""

    def store_alone(self, cursor, params: dict, now: datetime) -> Any | None:
        """PostgreSQL: the write as one statement, its own transaction (autocommit)."""

    def store_many(self, cursor, jobs: list[Job]) -> list[Any | None]:
        """PostgreSQL: the writes as one statement; a result (or None) per job, in order."""


class GroupCommit:
    """The writes of one process and database, in batches (see the module's docstring)."""

    def __init__(self, writer: Writer):
        self.writer = writer
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[Job] = []
        self._writing = False
        self.batches = 0            # statements or transactions written (by the one writer
        self.saves = 0              # at a time), and the writes in them: read by the tests

    def store(self, params: dict, now: datetime):
        """The write's result once committed; None when refused (nothing stored).
        DatabaseUnavailable when the database failed it (nothing stored)."""
        job = Job(params, now)
        postgresql = self.writer.postgresql
        error = self.writer.dbapi_error
        if not postgresql and not write_gate.active():
            try:
                self._write(lambda: [job])
            except error as exc:
                raise DatabaseUnavailable("the write could not be stored") from exc
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
                    (self._write_pg if postgresql else self._write)(self._take)
                except error as exc:    # nothing of the batch was stored: 503
                    raise DatabaseUnavailable("the writes could not be stored") from exc
                finally:
                    with self._cond:
                        if not job.done:     # failed before taking the queue: not written
                            self._queue.remove(job)
                        self._writing = False
                        self._cond.notify_all()
        if job.error is not None:    # (the writer itself raised it above) nothing was stored
            if isinstance(job.error, error):
                raise DatabaseUnavailable("the batch this write was in failed") from job.error
            raise RuntimeError("the batch this write was in failed") from job.error
        return job.result

    def _take(self) -> list[Job]:
        """Every write queued so far, the writer's own first (on SQLite taken once the writer
        holds the gate, so the writes that queued while it waited go in too)."""
        with self._cond:
            batch, self._queue = self._queue, []
        return batch

    @staticmethod
    def _autocommit(run: Callable):
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
                drop_if_broken(conn, exc)
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

    def _write_pg(self, take) -> None:
        batch = take()
        self.batches += 1
        self.saves += len(batch)
        try:
            if len(batch) == 1:
                self._write_alone(batch[0])
                return
            try:
                results = self._autocommit(lambda cursor: self.writer.store_many(cursor, batch))
            except self.writer.dbapi_error as exc:
                log.warning("a batch of %d saves failed (%s); writing them one by one",
                            len(batch), type(exc).__name__,
                            extra={"event": "save_batch_failed", "saves": len(batch)})
                for job in batch:
                    try:
                        self._write_alone(job)
                    except Exception as exc:    # noqa: BLE001  (that request answers 500)
                        job.error = exc
                return
            for job, result in zip(batch, results):
                job.result = result
        except BaseException as exc:     # the lone write or the batch failed: nothing stored
            for job in batch:
                if job.result is None and job.error is None:
                    job.error = exc
            raise
        finally:
            for job in batch:
                job.done = True

    def _write_alone(self, job: Job) -> None:
        job.result = self._autocommit(
            lambda cursor: self.writer.store_alone(cursor, job.params, job.now))

    def _write(self, take) -> None:
        """SQLite: the batch in one transaction under the write gate."""
        batch: list[Job] = []
        conn = db.engine.raw_connection()
        try:
            cursor = conn.cursor()
            try:
                with write_gate():
                    batch = take()
                    self.batches += 1
                    self.saves += len(batch)
                    store = self.writer.store_in_transaction
                    if len(batch) == 1:
                        job = batch[0]
                        job.result = store(cursor, job.params, job.now)
                    else:
                        cursor.execute("BEGIN")
                        for job in batch:
                            cursor.execute("SAVEPOINT save")
                            job.result = store(cursor, job.params, job.now)
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
            drop_if_broken(conn, exc)
            raise
        finally:
            conn.close()
            for job in batch:
                job.done = True


def drop_if_broken(conn, exc: BaseException) -> None:
    """What SQLAlchemy does for its own statements (health), for a bare driver cursor: a
    connection that cannot write (opened read-only during an outage, or lost with a
    restarted server) is dropped, with every connection pooled before it, so the next write
    opens a new one instead of failing on it until the server restarts."""
    if not connection_broken(exc, db.engine.dialect):
        return
    log.warning("dropping database connections after %s", type(exc).__name__,
                extra={"event": "connection_dropped", "reason": "connection_broken"})
    # Pool._invalidate is what SQLAlchemy's own disconnect handling calls: it also marks
    # every connection made before now as stale; the public invalidate() is per connection.
    db.engine.pool._invalidate(conn, exc)
