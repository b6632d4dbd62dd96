"""`cbt backup` and `cbt restore`. The work is app/db/backup.py; this reads the configuration
(DATABASE_URL, CBT_INSTANCE, instance/config.py, exactly as the servers do), prints, and
keeps the audit log.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone

import click

from ..db.backup import (BackupError, Database, check_kind_matches, file_kind, human_size,
                         inspect_backup, live_state, make_backup, resolve_out, restore_backup)
from .base import app_context


def _configured() -> tuple[Database, str]:
    """The database and instance folder the servers use (the engine's URL, so a relative
    SQLite path is resolved as Flask-SQLAlchemy resolves it)."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from ..extensions import db
    try:
        with app_context() as app:
            return Database.from_url(db.engine.url), app.instance_path
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise BackupError(f"the database URL (DATABASE_URL) is not usable: {exc}") from None


def _audit(db_: Database | None, event: str, **detail) -> None:
    """Record in the configured database's audit log; a database that cannot take it (no
    tables yet, unreachable) is noted, never a failure of the backup itself. A SQLite file
    that does not exist is not created for it."""
    from sqlalchemy.exc import SQLAlchemyError

    if db_ is None or (db_.kind == "sqlite" and not db_.path.exists()):
        return

    from ..core import audit
    from ..extensions import db
    try:
        with app_context():
            audit.record(event, **detail)
            db.session.commit()
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        click.echo(f"note: audit event {event} not recorded ({first})", err=True)


def _schema_note() -> str | None:
    """An older backup may predate this version's schema: say so (advice only)."""
    try:
        from ..db import schema
        with app_context():
            current, head = schema.current_revision(), schema.head_revision()
    except Exception:       # noqa: BLE001  (advice must never fail a finished restore)
        return None
    if current is None or current == head:
        return None
    return (f"note: the restored database's schema is at revision {current}; this cbt expects "
            f"{head}: run `cbt db upgrade` before starting the servers")


def _fail(exc: BackupError, db_: Database | None = None, event: str | None = None,
          **detail) -> None:
    click.echo(f"error: {exc}", err=True)
    if event:
        _audit(db_, event, error=str(exc), **detail)
    sys.exit(1)


@click.command("backup")
@click.option("--out", "out", default=None, metavar="PATH",
              help="file to write (never over an existing one), or a folder for the default "
                   "name; default: instance/backups/cbt-YYYYmmdd-HHMMSSZ.sqlite (.dump on "
                   "PostgreSQL)")
def backup_cmd(out: str | None) -> None:
    """Back up the database, safe while the servers run and candidates save answers.

    SQLite: the online backup API, one consistent copy (every answer acknowledged before
    it began is in it), checked with PRAGMA integrity_check. PostgreSQL: pg_dump
    --format=custom (one snapshot), checked with pg_restore --list and by reading the key
    tables back; the connection goes to pg_dump through PG* variables, never its command
    line. Written under a temporary name and renamed once verified; readable by the owner
    only. Prints the path, size, SHA-256 and row counts; exit status 1 on any failure.
    """
    try:
        db, instance = _configured()
        path = resolve_out(out, instance, db.kind)
    except BackupError as exc:
        _fail(exc)
    click.echo(f"backing up {db.shown}")
    try:
        info = make_backup(db, path)
    except BackupError as exc:
        _fail(exc, db, "backup_failed", path=str(path))
    click.echo(f"backup written: {info.path}")
    click.echo(f"  size:    {human_size(info.size)}")
    click.echo(f"  sha256:  {info.sha256}")
    click.echo(f"  checked: {info.check}")
    click.echo(f"  rows:    {info.describe_counts()}")
    _audit(db, "backup_created", path=str(info.path), kind=info.kind, bytes=info.size,
           sha256=info.sha256, rows=info.counts)


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="really replace the database (without it: only "
                                          "show what would be replaced)")
@click.option("--no-safety-copy", is_flag=True,
              help="do not back up the current database first (when it is too damaged to copy)")
def restore_cmd(path: str, yes: bool, no_safety_copy: bool) -> None:
    """Replace the configured database with a backup made by `cbt backup`.

    Restore only while every server (cbt serve) is stopped, then start them again:
    candidates resume from the backup's answers. Everything saved after the backup was
    taken is replaced. Without --yes nothing changes: it shows what would be replaced. The
    file must be of the configured database's kind (a SQLite file for SQLite, a pg_dump
    custom archive for PostgreSQL) and is checked before anything is touched. The current
    database is first backed up to instance/backups/cbt-pre-restore-* (unless
    --no-safety-copy). SQLite: copied in with the backup API; PostgreSQL: pg_restore
    --clean --if-exists --no-owner --single-transaction (all or nothing).
    """
    try:
        db, instance = _configured()
        check_kind_matches(db, file_kind(path), path)
        info = inspect_backup(path)
    except BackupError as exc:
        _fail(exc)
    now = live_state(db)
    taken = datetime.fromtimestamp(info.path.stat().st_mtime, timezone.utc)
    click.echo(f"backup:   {info.path}")
    click.echo(f"          written {taken:%Y-%m-%d %H:%M:%S}Z, {human_size(info.size)}, "
               f"sha256 {info.sha256[:16]}...")
    click.echo(f"          {info.check}")
    click.echo(f"          rows: {info.describe_counts()}")
    click.echo(f"replaces: {db.shown}")
    click.echo(f"          rows now: {now.describe()}")
    if now.other_connections:
        click.echo(f"warning: {now.other_connections} other connection(s) to the database: "
                   f"stop every server (cbt serve) before restoring", err=True)
    if not yes:
        click.echo("nothing changed: run again with --yes to replace the database "
                   "(stop every server first; answers saved after the backup will be lost)",
                   err=True)
        sys.exit(1)
    safety = None
    if now.exists and not no_safety_copy:
        try:
            safety = make_backup(db, resolve_out(None, instance, db.kind, prefix="cbt-pre-restore"))
        except BackupError as exc:
            _fail(BackupError(f"could not back up the current database before replacing it: "
                              f"{exc}. Run again with --no-safety-copy to replace it anyway."))
        click.echo(f"safety copy of the current database: {safety.path}")
    try:
        how = restore_backup(db, info)
    except BackupError as exc:
        _fail(exc)
    after = live_state(db)
    click.echo(f"restored ({how}); rows: {after.describe()}")
    if after.error or after.counts != info.counts:
        _fail(BackupError(f"the restored database does not hold the backup's rows "
                          f"(backup: {info.describe_counts()}; now: {after.describe()})"))
    _audit(db, "backup_restored", path=str(info.path), kind=info.kind, sha256=info.sha256,
           rows=info.counts, safety_copy=str(safety.path) if safety else None, method=how)
    note = _schema_note()
    if note:
        click.echo(note, err=True)
    click.echo("done: start the servers again")
