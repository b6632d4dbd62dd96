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

No Flask here: the command (app/cli_backup.py) passes the database URL and folders in.
"""
from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

# Counted and printed for every backup and restore; the first two must exist in a
# database `cbt restore` accepts.
KEY_TABLES = ("attempts", "answer_steps", "users", "audit_events")
REQUIRED_TABLES = ("attempts", "answer_steps")

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDMP_MAGIC = b"PGDMP"
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"     # Debian/Ubuntu: one folder per major version
PG_CLIENT_PACKAGE = "postgresql-client"
SUFFIX = {"sqlite": ".sqlite", "postgresql": ".dump"}
KIND_NAMES = {"sqlite": "a SQLite database", "postgresql": "a PostgreSQL dump (pg_dump custom format)"}


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


# ---- the configured database ----------------------------------------------------------

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


# ---- backup files ---------------------------------------------------------------------

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


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _tmp_name(final: Path, what: str = "tmp") -> Path:
    return final.with_name(f".{final.name}.{what}-{os.getpid()}")


def _remove_quietly(*paths: Path) -> None:
    for p in paths:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def _sqlite_sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal")]


def _publish(tmp: Path, final: Path) -> None:
    """Rename the verified temporary file to its final name, durably."""
    _fsync(tmp)
    if final.exists():
        raise BackupError(f"{final} appeared while the backup was being written; not replaced")
    os.replace(tmp, final)
    try:
        _fsync(final.parent)
    except OSError:                         # some filesystems cannot fsync a folder
        pass


def _private_empty_file(path: Path) -> None:
    """Backups hold password hashes and answers: readable by the owner only."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


# ---- SQLite ---------------------------------------------------------------------------

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
    tmp = _tmp_name(final)
    _private_empty_file(tmp)
    try:
        try:
            _sqlite_copy(db.path, tmp, src_readonly=False)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"the online backup of {db.path} failed: {exc}") from None
        check, counts = sqlite_inspect(tmp)
        _publish(tmp, final)
    finally:
        _remove_quietly(tmp, *_sqlite_sidecars(tmp))
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
    tmp = _tmp_name(db_path, "restore")
    _remove_quietly(tmp)
    _private_empty_file(tmp)
    try:
        _sqlite_copy(backup, tmp, src_readonly=True)
        _fsync(tmp)
        # A WAL or rollback journal left by the old file would be applied to the new one.
        _remove_quietly(*_sqlite_sidecars(db_path))
        os.replace(tmp, db_path)
    finally:
        _remove_quietly(tmp, *_sqlite_sidecars(tmp))
    return "copied beside the database file and swapped in"


# ---- PostgreSQL -----------------------------------------------------------------------

_PG_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


def pg_tool_version(path: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True,
                             encoding="utf-8", errors="replace", timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    m = _PG_VERSION.search(out.stdout)
    if out.returncode != 0 or not m:
        return None
    return int(m.group(1)), int(m.group(2) or 0)


def find_pg_tool(name: str) -> tuple[str, tuple[int, int]]:
    """The highest version of a PostgreSQL client tool, from /usr/lib/postgresql/*/bin or
    PATH. A newer pg_dump reads older servers; an older one refuses newer servers."""
    seen, found = set(), []
    dirs = sorted(glob.glob(PG_BIN_GLOB), reverse=True)
    for path in [os.path.join(d, name) for d in dirs] + [shutil.which(name)]:
        if not path or not os.access(path, os.X_OK):
            continue
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        version = pg_tool_version(path)
        if version:
            found.append((version, path))
    if not found:
        raise BackupError(f"{name} not found (looked on PATH and in {PG_BIN_GLOB}): install the "
                          f"PostgreSQL client tools, the Debian/Ubuntu package "
                          f"{PG_CLIENT_PACKAGE} (apt-get install {PG_CLIENT_PACKAGE}), of the "
                          f"server's major version or newer")
    version, path = max(found, key=lambda f: f[0])     # first of equals: the direct binary
    return path, version


# libpq connection parameters that may ride in the URL's query, and their variables.
_PG_QUERY_ENV = {
    "host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "user": "PGUSER",
    "password": "PGPASSWORD", "dbname": "PGDATABASE", "passfile": "PGPASSFILE",
    "service": "PGSERVICE", "options": "PGOPTIONS", "application_name": "PGAPPNAME",
    "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY", "sslcrl": "PGSSLCRL", "sslcompression": "PGSSLCOMPRESSION",
    "requiressl": "PGREQUIRESSL", "gssencmode": "PGGSSENCMODE", "krbsrvname": "PGKRBSRVNAME",
    "channel_binding": "PGCHANNELBINDING", "connect_timeout": "PGCONNECT_TIMEOUT",
    "target_session_attrs": "PGTARGETSESSIONATTRS", "client_encoding": "PGCLIENTENCODING",
}


def pg_env(url: sa.URL, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment that connects pg_dump/pg_restore where the URL points. Whatever the
    URL leaves out comes from the inherited PG* variables, as for the engine itself."""
    env = dict(os.environ if base is None else base)
    env.setdefault("PGAPPNAME", "cbt backup")
    for key, value in url.query.items():
        var = _PG_QUERY_ENV.get(key)
        if var:
            env[var] = value[-1] if isinstance(value, tuple) else value
    for var, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value not in (None, ""):
            env[var] = str(value)
    return env


def _libpq_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pg_dump_argv(pg_dump: str, out: Path) -> list[str]:
    # The database comes from PGDATABASE: nothing about the connection on the command line.
    return [pg_dump, "--format=custom", "--no-password", f"--file={out}"]


def pg_restore_argv(pg_restore: str, url: sa.URL, backup: Path) -> list[str]:
    # Only the database name; host, user and password are in the environment.
    return [pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction",
            "--exit-on-error", "--no-password",
            f"--dbname=dbname={_libpq_quote(url.database or '')}", str(backup)]


def _run(argv: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, encoding="utf-8",
                              errors="replace")
    except OSError as exc:
        raise BackupError(f"could not run {argv[0]}: {exc.strerror}") from None
    if done.returncode != 0:
        msg = done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}"
        hint = ""
        if "version mismatch" in msg or "unsupported version" in msg:
            hint = (f" (install the {PG_CLIENT_PACKAGE} package of the server's major version "
                    f"or newer)")
        elif re.search(r'database ".*" does not exist', msg):
            hint = " (create it first with createdb, or set DATABASE_URL to the right database)"
        raise BackupError(f"{what} failed: {msg}{hint}")
    return done


_TABLE_DATA = re.compile(r"^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) ")
_COPY = re.compile(r'^COPY (?:"?[^ ."]+"?\.)?"?([^ ."]+)"? .*FROM stdin;$')


def pg_inspect(path: Path, pg_restore: str | None = None) -> tuple[str, dict[str, int | None]]:
    """`pg_restore --list` (the archive's table of contents reads), then the key tables'
    rows read back out of the archive and counted."""
    pg_restore = pg_restore or find_pg_tool("pg_restore")[0]
    listing = _run([pg_restore, "--list", str(path)], dict(os.environ), f"pg_restore --list {path}")
    entries = [ln for ln in listing.stdout.splitlines() if ln and not ln.startswith(";")]
    with_data = {m.group(2) for m in map(_TABLE_DATA.match, entries) if m}
    counts: dict[str, int | None] = {t: (0 if t in with_data else None) for t in KEY_TABLES}
    wanted = [t for t in KEY_TABLES if t in with_data]
    if wanted:
        argv = [pg_restore, "--data-only", "--file=-"]
        argv += [f"--table={t}" for t in wanted] + [str(path)]
        with tempfile.TemporaryFile() as errors:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors)
            current = None
            with proc.stdout as rows:             # bytes: the archive's encoding, not ours
                for raw in rows:
                    line = raw.rstrip(b"\n")
                    if current is None:
                        m = _COPY.match(line.decode("utf-8", "replace"))
                        if m and m.group(1) in counts:
                            current = m.group(1)
                    elif line == b"\\.":
                        current = None
                    else:
                        counts[current] += 1  # COPY text: one line per row (newlines escaped)
            if proc.wait() != 0:
                errors.seek(0)
                raise BackupError(f"reading the rows back out of {path} failed: "
                                  f"{errors.read().decode(errors='replace').strip()}")
    return f"pg_restore --list: ok ({len(entries)} entries, rows read back)", counts


def pg_backup(db: Database, final: Path) -> BackupInfo:
    pg_dump, version = find_pg_tool("pg_dump")
    pg_restore = find_pg_tool("pg_restore")[0]
    tmp = _tmp_name(final)
    _private_empty_file(tmp)
    try:
        _run(pg_dump_argv(pg_dump, tmp), pg_env(db.url), "pg_dump")
        with open(tmp, "rb") as fh:
            if fh.read(len(PGDMP_MAGIC)) != PGDMP_MAGIC:
                raise BackupError("pg_dump exited 0 but wrote no custom-format archive")
        check, counts = pg_inspect(tmp, pg_restore)
        _publish(tmp, final)
    finally:
        _remove_quietly(tmp)
    info = BackupInfo(final, "postgresql", final.stat().st_size, sha256_of(final), check, counts)
    info.check += f"; made by pg_dump {version[0]}.{version[1]}"
    return info


def pg_restore(db: Database, backup: Path) -> str:
    tool, version = find_pg_tool("pg_restore")
    # (No lock_timeout: the archive sets lock_timeout = 0 itself. A server still running
    # only makes the restore wait for its short transactions; `cbt restore` warns of it.)
    try:
        _run(pg_restore_argv(tool, db.url, backup), pg_env(db.url), "pg_restore")
    except BackupError as exc:
        raise BackupError(f"{exc}; the database is unchanged (the restore is one "
                          f"transaction)") from None
    return f"pg_restore {version[0]}.{version[1]} --clean --if-exists --no-owner --single-transaction"


# ---- both -----------------------------------------------------------------------------

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
