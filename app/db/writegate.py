"""SQLite's write gate: the writers of one database queue on a lock instead of polling."""
from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager

from ..extensions import db
from .engine import engine_cache


class WriteGate:
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


write_gate = WriteGate()
