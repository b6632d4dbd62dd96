"""PostgreSQL: pg_dump --format=custom and pg_restore, with the connection in PG* environment
variables, never on the command line."""
from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import sqlalchemy as sa

from .common import (KEY_TABLES, PGDMP_MAGIC, BackupError, BackupInfo, Database, private_empty_file,
                     publish, remove_quietly, sha256_of, tmp_name)

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"     # Debian/Ubuntu: one folder per major version


PG_CLIENT_PACKAGE = "postgresql-client"


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
    tmp = tmp_name(final)
    private_empty_file(tmp)
    try:
        _run(pg_dump_argv(pg_dump, tmp), pg_env(db.url), "pg_dump")
        with open(tmp, "rb") as fh:
            if fh.read(len(PGDMP_MAGIC)) != PGDMP_MAGIC:
                raise BackupError("pg_dump exited 0 but wrote no custom-format archive")
        check, counts = pg_inspect(tmp, pg_restore)
        publish(tmp, final)
    finally:
        remove_quietly(tmp)
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
