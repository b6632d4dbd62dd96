"""What backups of either database share: the configured database, file kinds, names, checks
and the atomic publishing of a verified file."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

# Counted and printed for every backup and restore; the first two must exist in a
# database `cbt restore` accepts.
KEY_TABLES = ("attempts", "answer_steps", "users", "audit_events")


REQUIRED_TABLES = ("attempts", "answer_steps")


SQLITE_MAGIC = b"SQLite format 3\x00"


PGDMP_MAGIC = b"PGDMP"


SUFFIX = {"sqlite": ".sqlite", "postgresql": ".dump"}


KIND_NAMES = {"sqlite": "a SQLite database", "postgresql": "a PostgreSQL dump (pg_dump custom format)"}


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Database:
    url: sa.URL

    @classmethod
    def from_url(cls, url: str | sa.URL) -> "Database":
        url = sa.make_url(url)
        backend = url.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise BackupError(f"cannot back up a {backend} database: only SQLite and PostgreSQL")
        if backend == "sqlite" and url.database in (None, "", ":memory:"):
            raise BackupError("the database is in memory: there is no file to back up or restore")
        return cls(url)

    @property
    def kind(self) -> str:
        return self.url.get_backend_name()

    @property
    def path(self) -> Path:
        return Path(self.url.database).resolve()

    @property
    def shown(self) -> str:
        if self.kind == "sqlite":
            return f"SQLite {self.path}"
        return "PostgreSQL " + self.url.set(drivername="postgresql").render_as_string(hide_password=True)


def file_kind(path: str | Path) -> str:
    """'sqlite' or 'postgresql' from the file's first bytes; anything else is refused."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDMP_MAGIC):
        return "postgresql"
    what = "an empty file" if not head else None
    if head[:2] == b"\x1f\x8b":
        what = "a gzip-compressed file (decompress it first)"
    elif head[257:262] == b"ustar":
        what = "a tar archive (a pg_dump --format=tar dump?)"
    elif b"PostgreSQL database dump" in head:
        what = "a plain SQL dump (pg_dump --format=plain); load it with psql"
    what = what or "neither a SQLite database nor a pg_dump custom-format archive"
    raise BackupError(f"{path} is not a cbt backup: {what}. cbt restore takes the files "
                      f"cbt backup writes (*.sqlite, *.dump).")


def check_kind_matches(db: Database, kind: str, path: str | Path) -> None:
    if kind != db.kind:
        raise BackupError(f"{path} is {KIND_NAMES[kind]}, but the configured database is "
                          f"{db.shown}: a backup restores only into the kind of database it was "
                          f"taken from (set DATABASE_URL to the database to restore into)")


def timestamp(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%SZ")


def resolve_out(out: str | None, instance_path: str | Path, kind: str, prefix: str = "cbt") -> Path:
    """Where a backup goes: --out as given (never over an existing file), or a timestamped
    name in --out when it is a folder, else in instance/backups/."""
    if out is not None and not Path(out).is_dir():
        path = Path(out).resolve()
        if path.exists():
            raise BackupError(f"{path} already exists; give another --out (a backup never "
                              f"overwrites a file)")
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
    folder = Path(out) if out is not None else Path(instance_path) / "backups"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stem = f"{prefix}-{timestamp()}"
    path, n = folder / f"{stem}{SUFFIX[kind]}", 1
    while path.exists():                      # two backups within one second
        n += 1
        path = folder / f"{stem}-{n}{SUFFIX[kind]}"
    return path.resolve()


@dataclass
class BackupInfo:
    path: Path
    kind: str
    size: int = 0
    sha256: str = ""
    check: str = ""                           # what verified it
    counts: dict[str, int | None] = field(default_factory=dict)   # None: no such table

    def describe_counts(self) -> str:
        return describe_counts(self.counts)


def describe_counts(counts: dict[str, int | None]) -> str:
    return ", ".join(f"{t} {'-' if n is None else n}" for t, n in counts.items())


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{n} bytes" if unit == "bytes" else f"{size:.1f} {unit} ({n} bytes)"
        size /= 1024
    raise AssertionError("unreachable")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def tmp_name(final: Path, what: str = "tmp") -> Path:
    return final.with_name(f".{final.name}.{what}-{os.getpid()}")


def remove_quietly(*paths: Path) -> None:
    for p in paths:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def publish(tmp: Path, final: Path) -> None:
    """Rename the verified temporary file to its final name, durably."""
    fsync_file(tmp)
    if final.exists():
        raise BackupError(f"{final} appeared while the backup was being written; not replaced")
    os.replace(tmp, final)
    try:
        fsync_file(final.parent)
    except OSError:                         # some filesystems cannot fsync a folder
        pass


def private_empty_file(path: Path) -> None:
    """Backups hold password hashes and answers: readable by the owner only."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
