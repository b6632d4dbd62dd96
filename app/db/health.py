"""When the database stops taking writes for a while (a read-only or full disk, a
PostgreSQL server restarted) the app answers 503, which the exam page retries, and once
the database is back it works again by itself, without restarting a server.

The danger is a connection opened during the outage: SQLite opens a file it cannot
write read-only, silently, and that connection stays read-only for good; a PostgreSQL
connection from before a restart is dead. Pooled, such a connection would fail every
later request that draws it. So an error that says the connection cannot write is
treated like a lost connection: SQLAlchemy then drops it and every connection pooled
before it, and the next request opens a new one.
"""
from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from ..extensions import db
from ..models import Readiness, utcnow
from .engine import sqlite_unwritable
from .writegate import write_gate

# SQLite's primary result codes after which a connection must not be used again (an
# extended code, SQLITE_READONLY_DBMOVED or SQLITE_IOERR_WRITE, starts with one).
_SQLITE_BROKEN = ("SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_FULL",
                  "SQLITE_NOTADB", "SQLITE_CORRUPT", "SQLITE_PROTOCOL")


class DatabaseUnavailable(Exception):
    """The database could not store something now; the client may try again (503)."""


def sqlite_broken(exc: BaseException) -> bool:
    if not isinstance(exc, sqlite3.Error):
        return False
    name = getattr(exc, "sqlite_errorname", "") or ""
    return any(name == code or name.startswith(code + "_") for code in _SQLITE_BROKEN)


def connection_broken(exc: BaseException, dialect) -> bool:
    """Whether a driver error (from a bare driver cursor, where SQLAlchemy's own check does
    not run) means the connection must be dropped."""
    if sqlite_broken(exc):
        return True
    if not isinstance(exc, dialect.loaded_dbapi.Error):
        return False
    try:
        return bool(dialect.is_disconnect(exc, None, None))
    except Exception:       # noqa: BLE001  (a check that fails cannot tell: keep the connection)
        return False


def unavailable(exc: BaseException) -> bool:
    """Whether an error raised to a request handler means 'the database, not the request':
    a lost or unusable connection, a server that refuses connections, a lock held too long."""
    if isinstance(exc, DatabaseUnavailable):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError) \
            or sqlite_broken(exc.orig)
    return False


@event.listens_for(Engine, "handle_error")
def _drop_unwritable_sqlite_connections(context) -> None:
    if not context.is_disconnect and sqlite_broken(context.original_exception):
        context.is_disconnect = True


def check_writable() -> None:
    """Write and commit one row, as every write of the app must: raises when the database
    does not take writes now. SELECT 1 answers on a read-only SQLite file and on a full
    disk alike."""
    table = Readiness.__table__
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(id=1, checked_at=utcnow())
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.id],
                                      set_={"checked_at": stmt.excluded.checked_at})
    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        why = sqlite_unwritable(url.database)     # a connection opened now would be read-only
        if why:
            raise DatabaseUnavailable(why)
    with write_gate():
        db.session.execute(stmt)
        db.session.commit()
