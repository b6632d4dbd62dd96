"""Backups and restores of the engine's database (`cbt backup`, `cbt restore`).

SQLite: the online backup API (`sqlite3.Connection.backup`) copies the live database in
one step under one read transaction. In WAL mode writers carry on meanwhile and the copy
is the database as of one committed moment, so every answer acknowledged (committed)
before the backup began is in it. The copy is switched out of WAL, so a backup is one
self-contained file.

PostgreSQL: `pg_dump --format=custom` (one snapshot, also safe while the servers write),
restored with `pg_restore --clean --if-exists --no-owner --single-transaction`. The
connection goes to the tools through PG* environment variables, never their command line
(which `ps` shows to every user on the machine).

Every backup is written under a temporary name, verified (`PRAGMA integrity_check`, or
`pg_restore --list` and reading the key tables' rows back), and only then renamed to its
final name: a file with a backup's name is a complete, checked backup.

No Flask here: the command (app/cli/backup.py) passes the database URL and folders in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from .common import (KEY_TABLES, REQUIRED_TABLES, BackupError, BackupInfo, Database,
                     check_kind_matches, describe_counts, file_kind, human_size, resolve_out,
                     sha256_of)
from .postgresql import (find_pg_tool, pg_backup, pg_dump_argv, pg_env, pg_inspect, pg_restore,
                         pg_restore_argv)
from .sqlite import sqlite_backup, sqlite_inspect, sqlite_restore


def make_backup(db: Database, final: Path) -> BackupInfo:
    return sqlite_backup(db, final) if db.kind == "sqlite" else pg_backup(db, final)


def inspect_backup(path: Path) -> BackupInfo:
    """A backup file's kind, verification and row counts; refuses a file that is not one."""
    path = Path(path).resolve()
    kind = file_kind(path)
    check, counts = sqlite_inspect(path) if kind == "sqlite" else pg_inspect(path)
    missing = [t for t in REQUIRED_TABLES if counts.get(t) is None]
    if missing:
        raise BackupError(f"{path} holds no cbt exam data (no table {', '.join(missing)})")
    return BackupInfo(path, kind, path.stat().st_size, sha256_of(path), check, counts)


@dataclass
class LiveState:
    exists: bool
    counts: dict[str, int | None] = field(default_factory=dict)
    other_connections: int = 0
    error: str | None = None

    def describe(self) -> str:
        if not self.exists:
            return "no database yet"
        if self.error:
            return f"unreadable ({self.error})"
        return describe_counts(self.counts)


def live_state(db: Database) -> LiveState:
    """The configured database's key tables now (and, on PostgreSQL, who else is on it)."""
    if db.kind == "sqlite" and not db.path.exists():
        return LiveState(exists=False)
    engine = sa.create_engine(db.url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as c:
            tables = set(sa.inspect(c).get_table_names())
            counts = {t: (c.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one()
                          if t in tables else None) for t in KEY_TABLES}
            others = 0
            if db.kind == "postgresql":
                others = c.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")).scalar_one()
        return LiveState(True, counts, others)
    except sa.exc.SQLAlchemyError as exc:
        return LiveState(True, error=str(getattr(exc, "orig", None) or exc).strip().splitlines()[0])
    finally:
        engine.dispose()


def restore_backup(db: Database, info: BackupInfo) -> str:
    check_kind_matches(db, info.kind, info.path)
    if db.kind == "sqlite":
        db.path.parent.mkdir(parents=True, exist_ok=True)
        return sqlite_restore(info.path, db.path)
    return pg_restore(db, info.path)


__all__ = ["BackupError", "BackupInfo", "Database", "KEY_TABLES", "check_kind_matches",
           "describe_counts", "file_kind", "find_pg_tool", "human_size", "inspect_backup",
           "live_state", "make_backup", "pg_dump_argv", "pg_env", "pg_restore_argv",
           "resolve_out", "restore_backup"]
