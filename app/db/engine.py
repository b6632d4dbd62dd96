"""The engine's settings (connection pool, SQLite's pragmas) and caches kept per engine."""
from __future__ import annotations

import os
import sqlite3
import weakref

from sqlalchemy import event
from sqlalchemy.engine import Engine

from ..extensions import db


def pool_options(url: str) -> dict:
    """Each process's database connections, sized to its request threads (CBT_THREADS, set
    by `cbt serve`): a thread holds one for its request and may take a second to write a
    batch of saves, and the deadline sweeper takes one. A smaller pool makes threads wait
    for each other, and on SQLite a thread holding the write gate could wait for a
    connection held by a thread waiting for the gate (until the pool's 30 s timeout)."""
    if url.rstrip("/") == "sqlite:" or ":memory:" in url:
        return {}           # one connection, kept by SQLAlchemy's own pool for it
    threads = int(os.environ.get("CBT_THREADS") or 4)
    return {"pool_size": threads + 1, "max_overflow": threads + 1}


def sqlite_unwritable(path: str) -> str | None:
    """Why a new SQLite connection to the file would be read-only, or None: the file and
    its WAL must be writable, or the folder where SQLite makes the WAL. Asked of the kernel
    with access(2), never by opening the files: closing any descriptor of a file releases
    every POSIX lock this process holds on it, SQLite's own included, and a connection that
    lost its locks can lose committed transactions."""
    def writable(name: str) -> bool:
        return os.access(name, os.W_OK, effective_ids=os.access in os.supports_effective_ids)

    wal = path + "-wal"
    for name in (path, wal if os.path.exists(wal) else os.path.dirname(path) or "."):
        if not writable(name):
            return f"the database cannot be written ({name})"
    return None


def refuse_read_only_sqlite(dbapi_connection) -> None:
    """Called as a SQLite connection is made: where the file cannot be opened for writing,
    SQLite would open it read-only without a word, and that connection would fail every
    write for as long as it is pooled, the outage long over. Refused here instead (a 503
    for the request), so the pool only ever holds connections that could write."""
    row = dbapi_connection.execute("PRAGMA database_list").fetchone()
    path = row[2] if row else ""
    why = sqlite_unwritable(path) if path else None       # no path: in memory
    if why:
        dbapi_connection.close()
        raise sqlite3.OperationalError(why)


SQLITE_SYNCHRONOUS = ("NORMAL", "FULL", "EXTRA")


def sqlite_synchronous() -> str:
    value = (os.environ.get("CBT_SQLITE_SYNCHRONOUS") or "NORMAL").strip().upper()
    if value not in SQLITE_SYNCHRONOUS:
        raise RuntimeError(f"CBT_SQLITE_SYNCHRONOUS={value!r}: one of {', '.join(SQLITE_SYNCHRONOUS)}")
    return value


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    # WAL lets readers run beside the one writer; the busy timeout queues writers instead
    # of failing them when many candidates save at once.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        refuse_read_only_sqlite(dbapi_connection)
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        # NORMAL: a commit is in the WAL before the answer is acknowledged, so a server
        # process that dies loses nothing; only a crash of the machine itself (power,
        # kernel) can take back the last commits. FULL also waits for the disk on every
        # commit (about 3 ms here, with writers in a single file): CBT_SQLITE_SYNCHRONOUS.
        cur.execute(f"PRAGMA synchronous={sqlite_synchronous()}")
        # Pages read through a memory map shared by every connection of every worker,
        # rather than copied by a system call into each connection's own page cache.
        cur.execute("PRAGMA mmap_size=268435456")
        cur.close()


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
