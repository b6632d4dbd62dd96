"""SQLite: the online backup API, verified with PRAGMA integrity_check; restore by file."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from .common import (KEY_TABLES, BackupError, BackupInfo, Database, fsync_file, private_empty_file,
                     publish, remove_quietly, sha256_of, tmp_name)


def _sqlite_sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal")]


def _sqlite_ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=30)


def _sqlite_copy(src_path: Path, dst_path: Path, *, src_readonly: bool) -> None:
    """The whole database in one backup step, then out of WAL: one self-contained file."""
    src = _sqlite_ro(src_path) if src_readonly else sqlite3.connect(src_path, timeout=30)
    try:
        dst = sqlite3.connect(dst_path)
        try:
            src.backup(dst)                    # pages=-1: all pages under one read transaction
            dst.execute("PRAGMA journal_mode=DELETE").fetchone()
        finally:
            dst.close()
    finally:
        src.close()


def sqlite_inspect(path: Path) -> tuple[str, dict[str, int | None]]:
    """PRAGMA integrity_check and the key tables' row counts of a SQLite file."""
    try:
        con = _sqlite_ro(path)
        try:
            problems = [r[0] for r in con.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError(f"{path}: PRAGMA integrity_check failed: "
                                  + "; ".join(problems[:5]))
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            counts = {t: (con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                          if t in tables else None) for t in KEY_TABLES}
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: not a readable SQLite database ({exc})") from None
    return "PRAGMA integrity_check: ok", counts


def sqlite_backup(db: Database, final: Path) -> BackupInfo:
    if not db.path.exists():
        raise BackupError(f"no database at {db.path}: nothing to back up")
    tmp = tmp_name(final)
    private_empty_file(tmp)
    try:
        try:
            _sqlite_copy(db.path, tmp, src_readonly=False)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"the online backup of {db.path} failed: {exc}") from None
        check, counts = sqlite_inspect(tmp)
        publish(tmp, final)
    finally:
        remove_quietly(tmp, *_sqlite_sidecars(tmp))
    return BackupInfo(final, "sqlite", final.stat().st_size, sha256_of(final), check, counts)


def _sqlite_page_size(path: Path) -> int:
    with open(path, "rb") as fh:
        head = fh.read(18)
    size = int.from_bytes(head[16:18], "big")
    return 65536 if size == 1 else size


def sqlite_restore(backup: Path, db_path: Path) -> str:
    """Copy the backup into the database file through SQLite (its locks and WAL handled by
    SQLite itself); a file SQLite can no longer open is swapped for a copy instead.
    Returns how it was done."""
    if db_path.exists():
        try:
            dst = sqlite3.connect(db_path, timeout=30)
            try:
                mode = dst.execute("PRAGMA journal_mode").fetchone()[0]
                # WAL needs equal page sizes on both sides of a backup.
                if mode == "wal" and dst.execute("PRAGMA page_size").fetchone()[0] != \
                        _sqlite_page_size(backup):
                    dst.execute("PRAGMA journal_mode=DELETE")
                src = _sqlite_ro(backup)
                try:
                    src.backup(dst)
                finally:
                    src.close()
                dst.execute("PRAGMA journal_mode=WAL").fetchone()
                dst.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                dst.close()
            return "SQLite backup API into the database file"
        except sqlite3.OperationalError as exc:       # locked, busy, read-only, disk full
            raise BackupError(f"could not write {db_path}: {exc} (is a server still running? "
                              f"stop every `cbt serve` first)") from None
        except sqlite3.DatabaseError:                 # not a database any more: replace the file
            pass
    tmp = tmp_name(db_path, "restore")
    remove_quietly(tmp)
    private_empty_file(tmp)
    try:
        _sqlite_copy(backup, tmp, src_readonly=True)
        fsync_file(tmp)
        # A WAL or rollback journal left by the old file would be applied to the new one.
        remove_quietly(*_sqlite_sidecars(db_path))
        os.replace(tmp, db_path)
    finally:
        remove_quietly(tmp, *_sqlite_sidecars(tmp))
    return "copied beside the database file and swapped in"
