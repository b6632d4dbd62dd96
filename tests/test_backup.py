"""`cbt backup` / `cbt restore`, on SQLite and (scripts/test-postgresql.sh) PostgreSQL.

The central test: a backup taken during an exam, while the candidate keeps saving, holds
every answer acknowledged before it began; after the database is damaged and restored,
the attempt is open again and the next save continues from the restored sequence."""
from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from app.cli.backup import backup_cmd, restore_cmd
from app.db import backup as bk
from app.db.backup import postgresql as bk_pg
from app.extensions import db
from app.models import AnswerStep, Attempt, AuditEvent
from tests.test_exam_flow import key_for, save, wrong_for


@pytest.fixture
def cli(app, monkeypatch, tmp_path):
    """The commands as an operator runs them, on the test's database."""
    instance = tmp_path / "cli-instance"
    monkeypatch.setenv("DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    monkeypatch.setenv("CBT_INSTANCE", str(instance))

    def run(cmd, *args):
        return CliRunner().invoke(cmd, [str(a) for a in args])
    run.instance = instance
    return run


def is_pg(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


def release_connections(app) -> None:
    """What a stopped server leaves: no session, no pooled connection."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def written_path(result) -> Path:
    m = re.search(r"^backup written: (.+)$", result.output, re.M)
    assert m, result.output
    return Path(m.group(1))


def answers_in_db(app, attempt_id) -> dict[int, tuple[int, str, object]]:
    with app.app_context():
        steps = db.session.scalars(sa.select(AnswerStep).where(AnswerStep.attempt_id == attempt_id))
        return {s.seq: (s.position, s.question_id, s.response) for s in steps}


def damage(app, attempt_id) -> None:
    """Lose the answers and close the attempt; drop a whole table too."""
    with app.app_context():
        db.session.execute(sa.delete(AnswerStep))
        db.session.execute(sa.update(Attempt).where(Attempt.id == attempt_id)
                           .values(last_seq=0, submitted_at=sa.func.now(), submitted_by="candidate"))
        db.session.execute(sa.text("DROP TABLE practice_answers"))
        db.session.commit()
    assert answers_in_db(app, attempt_id) == {}


class Writer(threading.Thread):
    """The candidate keeps answering (as the exam page's save queue does) until stopped;
    every acknowledged save is logged with when its acknowledgement arrived."""

    def __init__(self, app, client, state, answers):
        super().__init__(name="candidate-saves", daemon=True)
        self.app, self.client, self.state, self.answers = app, client, state, answers
        self.acks: list[dict] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self):
        try:
            i = 0
            while not self.stop.is_set():
                pos, qid, resp = self.answers[i % len(self.answers)]
                r = save(self.client, self.state, pos, qid, resp)
                assert r.status_code == 200, r.get_data(as_text=True)
                with self.lock:
                    self.acks.append({"seq": r.json["seq"], "position": pos, "qid": qid,
                                      "response": resp, "at": time.monotonic()})
                i += 1
        except BaseException as exc:       # re-raised in the test
            self.error = exc

    def count(self) -> int:
        with self.lock:
            return len(self.acks)

    def wait_for(self, n: int, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while self.count() < n:
            assert self.error is None and time.monotonic() < end, self.error
            time.sleep(0.005)

    def finish(self) -> list[dict]:
        self.stop.set()
        self.join(60)
        assert not self.is_alive()
        if self.error:
            raise self.error
        return self.acks


def test_backup_during_an_exam_restores_every_acknowledged_answer(app, candidate, cli):
    state = candidate.start()
    attempt_id = state["attempt"]
    # Alternate right and wrong answers to questions 1..40, so a step's response matters.
    answers = []
    for round_ in range(2):
        for pos in range(1, 41):
            qid, resp = (key_for if (pos + round_) % 2 else wrong_for)(app, state, pos)
            answers.append((pos, qid, resp))

    writer = Writer(app, candidate, state, answers)
    writer.start()
    try:
        writer.wait_for(15)                       # the exam is well under way
        with writer.lock:
            before = list(writer.acks)            # acknowledged before the backup began
            began = time.monotonic()
        result = cli(backup_cmd)
        ended = time.monotonic()
        assert result.exit_code == 0, result.output
        writer.wait_for(writer.count() + 10)      # the candidate carries on after it
    finally:
        acks = writer.finish()
    by_seq = {a["seq"]: a for a in acks}
    assert sorted(by_seq) == list(range(1, len(acks) + 1))   # every save acknowledged once
    during = [a for a in acks if began <= a["at"] <= ended]
    assert during, "no answer was acknowledged while the backup ran"
    path = written_path(result)
    assert path.parent == cli.instance / "backups"
    assert re.fullmatch(r"cbt-\d{8}-\d{6}Z(-\d+)?\.(sqlite|dump)", path.name)
    assert "attempts 1" in result.output

    damage(app, attempt_id)
    release_connections(app)                      # the servers are stopped for a restore
    restored = cli(restore_cmd, path, "--yes")
    assert restored.exit_code == 0, restored.output
    assert "safety copy of the current database" in restored.output

    steps = answers_in_db(app, attempt_id)
    # Every answer acknowledged before the backup began is there, with its sequence number.
    for a in before:
        assert steps[a["seq"]] == (a["position"], a["qid"], a["response"])
    # The copy is one committed moment: a gapless prefix of what was acknowledged, and the
    # attempt's sequence number is its last step's.
    assert sorted(steps) == list(range(1, len(steps) + 1))
    assert len(before) <= len(steps) < len(acks)
    for seq, got in steps.items():
        a = by_seq[seq]
        assert got == (a["position"], a["qid"], a["response"])
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.submitted_at is None and attempt.last_seq == max(steps)
        events = [json.loads(e.detail_json) for e in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.event == "backup_restored"))]
        assert [e["path"] for e in events] == [str(path)]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(
            sa.table("practice_answers"))) == 0   # the dropped table is back

    # The exam continues from the restored state. A page that had seen later answers is
    # told to reload (409 stale); reloaded, it saves on top of the restored sequence.
    stale = save(candidate, dict(state), 1, *key_for(app, state, 1))
    assert stale.status_code == 409 and stale.json["error"] == "stale"
    resumed = candidate.state(f"/exam/attempts/{attempt_id}")
    assert resumed["seq"] == max(steps)
    qid, resp = key_for(app, resumed, 40)
    r = save(candidate, resumed, 40, qid, resp)
    assert r.status_code == 200 and r.json["seq"] == max(steps) + 1
    assert answers_in_db(app, attempt_id)[max(steps) + 1] == (40, qid, resp)


def test_backup_is_a_valid_verified_file_and_audited(app, candidate, cli, tmp_path):
    state = candidate.start()
    for pos in range(1, 6):
        assert save(candidate, state, pos, *key_for(app, state, pos)).status_code == 200
    out = tmp_path / "elsewhere" / ("copy.dump" if is_pg(app) else "copy.sqlite")
    result = cli(backup_cmd, "--out", out)
    assert result.exit_code == 0, result.output
    assert written_path(result) == out
    assert "attempts 1, answer_steps 5" in result.output
    assert re.search(r"size: +\d", result.output) and re.search(r"sha256: +[0-9a-f]{64}", result.output)
    assert out.stat().st_mode & 0o077 == 0          # password hashes and answers inside
    assert [p.name for p in out.parent.iterdir()] == [out.name]     # no temporary left
    if is_pg(app):
        assert out.read_bytes()[:5] == b"PGDMP"
        listing = subprocess.run([bk.find_pg_tool("pg_restore")[0], "--list", str(out)],
                                 capture_output=True, text=True, check=True).stdout
        assert re.search(r"TABLE DATA public answer_steps", listing)
        assert "pg_restore --list: ok" in result.output
    else:
        assert out.read_bytes()[:16] == b"SQLite format 3\x00"
        con = sqlite3.connect(f"file:{out}?mode=ro", uri=True)
        try:
            assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)   # one file
            assert con.execute("SELECT count(*) FROM answer_steps").fetchone() == (5,)
        finally:
            con.close()
        assert "PRAGMA integrity_check: ok" in result.output
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.event == "backup_created"))
        detail = json.loads(event.detail_json)
        assert detail["path"] == str(out) and detail["rows"]["answer_steps"] == 5
    # Never over an existing file; a folder gets the default name.
    again = cli(backup_cmd, "--out", out)
    assert again.exit_code == 1 and "already exists" in again.output
    into = cli(backup_cmd, "--out", out.parent)
    assert into.exit_code == 0, into.output
    assert written_path(into).parent == out.parent and written_path(into).name.startswith("cbt-")


def test_restore_refuses_without_yes_and_changes_nothing(app, candidate, cli):
    state = candidate.start()
    assert save(candidate, state, 1, *key_for(app, state, 1)).status_code == 200
    path = written_path(cli(backup_cmd))
    assert save(candidate, state, 2, *key_for(app, state, 2)).status_code == 200
    result = cli(restore_cmd, path)
    assert result.exit_code == 1
    assert "nothing changed" in result.output and "--yes" in result.output
    assert "replaces:" in result.output and "answer_steps 2" in result.output   # what it would replace
    assert "answer_steps 1" in result.output                                    # with what
    assert sorted(answers_in_db(app, state["attempt"])) == [1, 2]
    assert not list((cli.instance / "backups").glob("cbt-pre-restore-*"))
    if is_pg(app):                                # a server still connected: a warning
        with app.app_context():
            with db.engine.connect() as held:
                held.execute(sa.text("SELECT 1"))
                result = cli(restore_cmd, path)
            db.engine.dispose()
        assert result.exit_code == 1
        # The held one, and any the app's pool keeps open.
        warned = re.search(r"(\d+) other connection\(s\) to the database: stop every server", result.output)
        assert warned and int(warned.group(1)) >= 1, result.output


def test_restore_refuses_a_file_that_is_not_a_backup(app, cli, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello", encoding="utf-8")
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    for path, says in ((text, "is not a cbt backup"), (empty, "an empty file")):
        result = cli(restore_cmd, path, "--yes")
        assert result.exit_code == 1 and says in result.output, result.output
    # The other database's kind: refused before anything is read or replaced.
    other = tmp_path / "other"
    if is_pg(app):
        con = sqlite3.connect(other)
        con.execute("CREATE TABLE attempts (id INTEGER)")
        con.close()
        says = "is a SQLite database, but the configured database is PostgreSQL"
    else:
        other.write_bytes(b"PGDMP" + bytes(200))
        says = "is a PostgreSQL dump (pg_dump custom format), but the configured database is SQLite"
    result = cli(restore_cmd, other, "--yes")
    assert result.exit_code == 1 and says in result.output, result.output
    # Of the right kind but no exam data: refused too.
    with app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).select_from(AnswerStep))
    if not is_pg(app):
        foreign = tmp_path / "foreign.sqlite"
        con = sqlite3.connect(foreign)
        con.execute("CREATE TABLE t (x)")
        con.commit()
        con.close()
        result = cli(restore_cmd, foreign, "--yes")
        assert result.exit_code == 1 and "holds no cbt exam data" in result.output
        broken = tmp_path / "broken.sqlite"
        broken.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
        result = cli(restore_cmd, broken, "--yes")
        assert result.exit_code == 1 and "not a readable SQLite database" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AnswerStep)) == n
    assert not (cli.instance / "backups").exists()


def test_sqlite_file_too_damaged_to_open_is_replaced(app, candidate, cli):
    if is_pg(app):
        pytest.skip("SQLite file handling")
    state = candidate.start()
    assert save(candidate, state, 1, *key_for(app, state, 1)).status_code == 200
    path = written_path(cli(backup_cmd))
    release_connections(app)
    live = Path(sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database)
    with open(live, "r+b") as fh:                 # the header gone: not a database any more
        fh.write(b"\0" * 100)
    refused = cli(restore_cmd, path, "--yes")     # the safety copy cannot be made
    assert refused.exit_code == 1 and "--no-safety-copy" in refused.output
    result = cli(restore_cmd, path, "--yes", "--no-safety-copy")
    assert result.exit_code == 0, result.output
    assert "swapped in" in result.output
    assert sorted(answers_in_db(app, state["attempt"])) == [1]


def test_pg_dump_missing_says_which_package(app, cli, monkeypatch, tmp_path):
    monkeypatch.setattr(bk_pg, "PG_BIN_GLOB", str(tmp_path / "no-such" / "*" / "bin"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    with pytest.raises(bk.BackupError, match="postgresql-client"):
        bk.find_pg_tool("pg_dump")
    if not is_pg(app):
        return
    out = tmp_path / "out"
    out.mkdir()
    result = cli(backup_cmd, "--out", out)
    assert result.exit_code == 1
    assert "pg_dump not found" in result.output and "postgresql-client" in result.output
    assert list(out.iterdir()) == []


def test_pg_tools_get_the_connection_from_the_environment():
    url = sa.make_url("postgresql+psycopg://cbt:s3cr%40t@db.example:6543/cbt_prod?sslmode=require")
    env = bk.pg_env(url, base={"PATH": "/usr/bin"})
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGPASSWORD"], env["PGDATABASE"],
            env["PGSSLMODE"]) == ("db.example", "6543", "cbt", "s3cr@t", "cbt_prod", "require")
    argv = bk.pg_dump_argv("pg_dump", Path("/tmp/x.dump")) + \
        bk.pg_restore_argv("pg_restore", url, Path("/tmp/x.dump"))
    assert not any("s3cr" in a or "db.example" in a for a in argv)
    assert "--dbname=dbname='cbt_prod'" in argv and "--single-transaction" in argv
    shown = bk.Database.from_url(url).shown
    assert "s3cr" not in shown and "***" in shown


def test_highest_pg_tool_version_is_chosen(monkeypatch, tmp_path):
    for major in (13, 16, 9):
        folder = tmp_path / "pg" / str(major) / "bin"
        folder.mkdir(parents=True)
        tool = folder / "pg_dump"
        tool.write_text(f"#!/bin/sh\necho 'pg_dump (PostgreSQL) {major}.2'\n")
        tool.chmod(0o755)
    monkeypatch.setattr(bk_pg, "PG_BIN_GLOB", str(tmp_path / "pg" / "*" / "bin"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    path, version = bk.find_pg_tool("pg_dump")
    assert version == (16, 2) and path == str(tmp_path / "pg" / "16" / "bin" / "pg_dump")


def test_commands_are_on_cbt():
    from app.cli.base import main
    assert main.commands.get("backup") is backup_cmd
    assert main.commands.get("restore") is restore_cmd
