"""Structured logs (app/core/logs.py): JSON lines with the request's fields, refusals with their
reason, the request id header, and gunicorn's access lines from a real `cbt serve`."""
from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

import pytest

from app import create_app
from app.cli.demo import DEMO_PASSWORD
from app.core import audit, logs
from app.extensions import db
from app.models import User
from tests.conftest import Client
from tests.registertools import free_port

ROOT = Path(__file__).resolve().parent.parent
TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
HEX32 = re.compile(r"[0-9a-f]{32}")


def json_lines(text: str) -> list[dict]:
    """Every line must be one JSON object with the four fields every line has."""
    records = []
    for line in text.splitlines():
        rec = json.loads(line)
        assert isinstance(rec, dict), line
        assert TS.fullmatch(rec["ts"]), line
        assert rec["level"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), line
        assert rec["logger"] and "msg" in rec, line
        records.append(rec)
    return records


@pytest.fixture
def japp(app):
    """An app on the test's database that logs JSON (the last app made sets the format of
    the process's root handler; put back to text afterwards)."""
    japp = create_app({"TESTING": True, "SECRET_KEY": app.config["SECRET_KEY"],
                       "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                       "BANKS_DIR": app.config["BANKS_DIR"], "LOG_FORMAT": "json"},
                      instance_path=app.instance_path)
    yield japp
    with japp.app_context():
        db.session.remove()
        db.engine.dispose()
    logs.install_handler("text")


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(db.select(User.id).where(User.username == username))


def test_request_id_round_trips(japp):
    http = japp.test_client()
    assert http.get("/healthz", headers={"X-Request-ID": "proxy-7f3a:01"}).headers["X-Request-ID"] \
        == "proxy-7f3a:01"
    made = http.get("/healthz").headers["X-Request-ID"]
    assert HEX32.fullmatch(made)
    assert http.get("/healthz").headers["X-Request-ID"] != made
    # Not an id a proxy makes (spaces, too long): replaced by one made here.
    for bad in ("two words", "x" * 129, ""):
        assert HEX32.fullmatch(http.get("/healthz", headers={"X-Request-ID": bad})
                               .headers["X-Request-ID"])
    # Every response carries one, error pages included.
    assert HEX32.fullmatch(http.get("/no-such-page").headers["X-Request-ID"])


def test_refused_save_is_a_json_record_with_reason_and_request_id(japp, capsys):
    c = Client(japp)
    assert c.login("candidate1").status_code == 302
    state = c.start()
    capsys.readouterr()
    resp = c.http.post(state["urls"]["save"], headers={"X-CSRFToken": c.csrf,
                                                        "X-Request-ID": "save-req-1"},
                       json={"base_seq": state["seq"], "client_id": uuid.uuid4().hex, "position": 1,
                             "question_id": "NOT-ON-THE-FORM", "response": "a",
                             "flagged": False})
    assert resp.status_code == 404
    assert resp.headers["X-Request-ID"] == "save-req-1"
    records = json_lines(capsys.readouterr().err)
    refused = [r for r in records if r.get("event") == "answer_refused"]
    assert len(refused) == 1, records
    r = refused[0]
    assert r["level"] == "WARNING" and r["logger"] == "cbt.audit" and r["msg"] == "answer_refused"
    assert r["reason"] == "not_on_form"
    assert r["request_id"] == "save-req-1"
    assert r["user_id"] == user_id(japp, "candidate1")
    assert r["attempt_id"] == state["attempt"] and r["position"] == 1
    assert r["method"] == "POST" and r["path"] == state["urls"]["save"]
    assert r["remote_addr"] == "127.0.0.1"


def test_forbidden_is_a_json_record_with_user_and_reason(japp, capsys):
    c = Client(japp)
    assert c.login("candidate1").status_code == 302
    capsys.readouterr()
    resp = c.get("/committee/review/")
    assert resp.status_code == 403
    records = json_lines(capsys.readouterr().err)
    [r] = [r for r in records if r.get("event") == "forbidden"]
    assert r["level"] == "WARNING"
    assert r["user_id"] == user_id(japp, "candidate1")
    assert r["reason"] == "forbidden" and "committee" in r["needs"]
    assert r["request_id"] == resp.headers["X-Request-ID"]
    assert r["path"] == "/committee/review/" and r["method"] == "GET"


def test_app_lines_carry_the_request_fields_and_extra(japp, capsys):
    capsys.readouterr()
    with japp.test_request_context("/somewhere", method="POST",
                                   headers={"X-Request-ID": "ctx-1"}):
        japp.preprocess_request()
        logging.getLogger("cbt.test").warning("something %s", "odd", extra={"count": 3})
    logging.getLogger("cbt.test").info("outside a request")
    inside, outside = json_lines(capsys.readouterr().err)
    assert inside["msg"] == "something odd" and inside["count"] == 3
    assert inside["request_id"] == "ctx-1" and inside["method"] == "POST"
    assert inside["path"] == "/somewhere" and inside["logger"] == "cbt.test"
    assert inside["user_id"] is None               # no user was loaded: none is looked up
    assert outside["msg"] == "outside a request" and "request_id" not in outside


def test_exceptions_are_one_line_with_the_trace(japp, capsys):
    capsys.readouterr()
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("cbt.test").exception("it failed")
    [r] = json_lines(capsys.readouterr().err)
    assert r["level"] == "ERROR" and "RuntimeError: boom" in r["exc_info"]


def test_audit_lines_leave_personal_data_in_the_table(japp, capsys):
    capsys.readouterr()
    with japp.app_context():
        audit.record("staff_created", 1, staff_id=5, staff_number="ZX-00017",
                     username="yamada.taro", changes={"name_kanji": ["山田", "山本"]},
                     reason="本人の希望により")
        db.session.rollback()
    [r] = json_lines(capsys.readouterr().err)
    assert r["event"] == "staff_created" and r["staff_id"] == 5 and r["user_id"] == 1
    text = json.dumps(r, ensure_ascii=False)
    for secret in ("ZX-00017", "yamada", "山田", "本人"):
        assert secret not in text
    assert r["level"] == "INFO" and "reason" not in r


def test_text_format_keeps_the_fields(app, capsys):
    capsys.readouterr()                      # `app` logs text (the default for tests)
    with app.test_request_context("/x", headers={"X-Request-ID": "t-1"}):
        app.preprocess_request()
        logging.getLogger("cbt.test").warning("refused", extra={"reason": "stale"})
    line = capsys.readouterr().err.strip()
    assert " WARNING cbt.test refused " in line
    assert "reason=stale" in line and "request_id=t-1" in line and not line.startswith("{")


def test_an_unknown_log_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        create_app({"TESTING": True, "SECRET_KEY": "x", "LOG_FORMAT": "xml",
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}"},
                   instance_path=str(tmp_path / "instance"))
    logs.install_handler("text")


# ---- the real server --------------------------------------------------------------------

def _wait_healthy(base: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        assert proc.poll() is None, "cbt serve exited"
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("cbt serve did not answer /healthz")


class Served:
    """`cbt serve` on a free port with the test app's database, its stdout and stderr kept:
    `with Served(app, tmp_path, *options) as s: s.call(path)`, then `s.out`, `s.err`."""

    def __init__(self, app, tmp_path, *options):
        self.port, self.channel_port, self.tmp = free_port(), free_port(), tmp_path
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("LOG_FORMAT", "CBT_ACCESS_LOG")}
        env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], CBT_INSTANCE=str(tmp_path / "srv"),
                   SECRET_KEY="serve-test", CBT_BANKS=app.config["BANKS_DIR"])
        self.env, self.options = env, list(options)
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def __enter__(self):
        self._err = open(self.tmp / "stderr", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", "1", "--threads", "2", "--channel-port", str(self.channel_port),
             *self.options],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=self._err,
            stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            _wait_healthy(self.base, self.proc)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)                 # gunicorn's graceful stop
        try:
            out, _ = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            out, _ = self.proc.communicate()
        self._err.close()
        self.out, self.err = out.decode(), (self.tmp / "stderr").read_text()

    def call(self, path, data=None, rid=None):
        headers = {"X-Request-ID": rid} if rid else {}
        req = urllib.request.Request(self.base + path, data=data, headers=headers)
        try:
            with self.opener.open(req, timeout=30) as resp:
                return resp.status, resp.read().decode(), resp.headers
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(), exc.headers

    def sign_in(self, username):
        status, page, _ = self.call("/login")
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        form = urlencode({"csrf_token": token, "username": username,
                          "password": DEMO_PASSWORD}).encode()
        return self.call("/login", data=form)


def test_cbt_serve_starts_the_rooms_channel_and_stops_it(app, tmp_path):
    with Served(app, tmp_path) as served:
        channel = f"http://127.0.0.1:{served.channel_port}/channel/healthz"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(channel, timeout=5) as resp:
                    assert json.loads(resp.read())["status"] == "ok"
                    break
            except OSError:
                assert time.monotonic() < deadline, "the channel never answered"
                time.sleep(0.2)
        status, page, _ = served.sign_in("candidate1")
        assert status == 200
    # Stopped with the server: nothing answers on its port any more.
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(channel, timeout=2).close()
        except OSError:
            break
        assert time.monotonic() < deadline, "the channel outlived its server"
        time.sleep(0.2)


def test_cbt_serve_writes_json_access_and_error_lines(app, tmp_path):
    with Served(app, tmp_path) as served:             # json by default
        call = served.call
        status, _, headers = call("/healthz", rid="edge-health-1")
        assert status == 200 and headers["X-Request-ID"] == "edge-health-1"
        status, _, _ = served.sign_in("candidate1")
        assert status == 200                             # followed the redirect home
        status, _, headers = call("/committee/review/", rid="edge-forbidden-1")
        assert status == 403 and headers["X-Request-ID"] == "edge-forbidden-1"
        status, _, headers = call("/no-such-page")
        assert status == 404
        made = headers["X-Request-ID"]
    assert served.out.startswith("serving on ")        # stdout: the one line for people
    records = json_lines(served.err)                   # stderr: every line JSON
    uid = user_id(app, "candidate1")

    access = [r for r in records if r["logger"] == "gunicorn.access"]
    [health] = [r for r in access if r["request_id"] == "edge-health-1"]
    assert health["method"] == "GET" and health["path"] == "/healthz" and health["status"] == 200
    assert isinstance(health["duration_ms"], (int, float)) and health["duration_ms"] >= 0
    assert health["remote_addr"] == "127.0.0.1" and health["level"] == "INFO"
    assert health["user_id"] is None
    [forbidden] = [r for r in access if r["request_id"] == "edge-forbidden-1"]
    assert forbidden["status"] == 403 and forbidden["user_id"] == uid
    assert forbidden["path"] == "/committee/review/"
    [missing] = [r for r in access if r["request_id"] == made]
    assert missing["status"] == 404 and HEX32.fullmatch(made)
    assert any(r["method"] == "POST" and r["path"] == "/login" and r["status"] == 302
               for r in access)
    # The app writes no line of its own per request: one access line per request.
    assert len([r for r in records if r.get("request_id") == "edge-health-1"]) == 1

    # The app's own lines, joined to the access line by the request id.
    [refusal] = [r for r in records if r.get("event") == "forbidden"]
    assert refusal["logger"] == "cbt.audit" and refusal["request_id"] == "edge-forbidden-1"
    assert refusal["user_id"] == uid and refusal["reason"] == "forbidden"
    # gunicorn's own messages, in JSON too.
    assert any(r["logger"] == "gunicorn.error" and r["msg"].startswith("Booting worker")
               for r in records)


def test_make_runs_terminal_logs_are_short_lines_without_background_requests(app, tmp_path):
    """`make run` serves with --log-format text --access-log quiet: a line per page or
    refusal, short, and none for static files, health checks or an open page's pulse."""
    with Served(app, tmp_path, "--log-format", "text", "--access-log", "quiet") as served:
        assert served.call("/healthz")[0] == 200
        assert served.call("/static/style.css")[0] == 200
        assert served.sign_in("candidate1")[0] == 200
        assert served.call("/committee/review/")[0] == 403
        assert served.call("/no-such-page")[0] == 404
    lines = served.err.splitlines()
    assert not any(line.lstrip().startswith("{") for line in lines), lines       # no JSON
    short = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (GET|POST) (\S+) (\d{3}) \d+ ms( user=\d+)?$")
    access = [m.group(1, 2, 3) for m in map(short.match, lines) if m]
    assert ("GET", "/login", "200") in access and ("POST", "/login", "302") in access
    assert ("GET", "/committee/review/", "403") in access
    assert ("GET", "/no-such-page", "404") in access
    assert not [a for a in access if a[1] in ("/healthz", "/static/style.css")], access
    assert not [line for line in lines if "Booting worker" in line]      # gunicorn's start-up
    # The refusal's audit line is still there, in text.
    assert any("cbt.audit forbidden" in line for line in lines), lines


def test_background_requests_are_the_pages_own_calls_and_static_files():
    from app.core.logs import background_request
    for path in ("/static/exam.js", "/healthz", "/readyz", "/favicon.ico", "/exam/attempts/3/pulse",
                 "/exam/attempts/3/state", "/exam/attempts/3/answers", "/exam/attempts/3/position",
                 "/room/2/state"):
        assert background_request(path), path
    for path in ("/exam/attempts/3", "/login", "/committee/review/", "/room/2",
                 "/exam/attempts/3/submit", "/room/2/seats/4/pause", "/statesman"):
        assert not background_request(path), path


def test_audit_details_named_like_log_record_attributes_are_logged(japp, capsys):
    """An import's counts include `created`, which every LogRecord already has: logging it
    as is raised KeyError and turned every CSV import into a 500."""
    capsys.readouterr()
    with japp.app_context():
        audit.record("staff_imported", 1, rows=4, created=3, updated=1, unchanged=0)
        db.session.rollback()
    [r] = json_lines(capsys.readouterr().err)
    assert r["event"] == "staff_imported"
    assert (r["rows"], r["n_created"], r["updated"], r["unchanged"]) == (4, 3, 1, 0)
