"""Security: CSRF on every state-changing route, headers and CSP, cookie flags, sign-in
limits and lockout, password hashing, request size limits, no key or explanation before
certification, inert author Markdown, and a fuzzed answer-save endpoint."""
from __future__ import annotations

import html
import json
import re
import uuid
from datetime import timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st
from sqlalchemy import func, select

from scoring.choice_positions import to_keys
from scoring.grading import ResponseError, coerce_response

from app import create_app
from app.auth import throttle
from app.banks.versions import import_banks, snapshot
from app.extensions import db
from app.models import (AnswerStep, Attempt, AuditEvent, ExamSession, LoginFailure, Registration,
                        User, utcnow)
from tests.banktools import BLUEPRINT, write_bank
from tests.conftest import Client
from tests.test_roles import (ACCOUNTS, PUBLIC, ROUTES, Route,  # noqa: F401  (ids: a fixture)
                              allowed, ids, rules, url_for_rule)

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "app" / "templates"
PASSWORD = "cbt-demo-2025"


def audit(app, name):
    with app.app_context():
        return [json.loads(e.detail_json) | {"user_id": e.user_id} for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == name).order_by(AuditEvent.id))]


def flashes(resp) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<p class="flash \w+" role="status">(.*?)</p>',
                                                 resp.get_data(as_text=True), re.S)]


def signed_in(client: Client) -> bool:
    return client.get("/exam/").status_code != 302


# --------------------------------------------------------------------------- CSRF

def dump_database(app) -> dict:
    """Every row of every table: 'nothing changed' means exactly this is equal."""
    with app.app_context():
        out = {}
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(r) for r in rows]
        db.session.rollback()
        return out


def client_for(app, access, cache: dict) -> Client:
    """A client allowed past the route's role check, so CSRF is the only thing refusing."""
    if access == PUBLIC:
        c = Client(app)
        c.get("/login")
        return c
    for username in ("candidate1", "author1", "committee1", "vicechair", "chair", "head1",
                     "secretariat1", "liaison1", "volunteer1"):
        if allowed(access, ACCOUNTS[username]):
            if username not in cache:
                cache[username] = Client(app)
                assert cache[username].login(username).status_code == 302
            return cache[username]
    raise AssertionError(f"no demo account may use {access}")


def test_every_post_route_needs_a_csrf_token(app, ids):
    by_endpoint = {r.endpoint: r for r in rules(app)}
    posts = sorted(r.endpoint for r in rules(app) if "POST" in r.methods)
    assert {"auth.login", "auth.logout", "candidate.save", "candidate.submit"} <= set(posts)
    with app.app_context():
        attempt = db.session.get(Attempt, ids["attempt_id"])
        first_qid = attempt.form[0]["id"]
    problems = []
    clients: dict[str, Client] = {}
    # A route missing from the table (test_roles fails for it) is tried as the chair:
    # without a token it must be refused before any role check anyway.
    routes = {e: ROUTES.get(e) or Route(("chair",)) for e in posts}
    callers = {e: client_for(app, routes[e].access, clients) for e in posts}   # signed in first
    before = dump_database(app)
    for endpoint in posts:
        route, c = routes[endpoint], callers[endpoint]
        url = url_for_rule(app, by_endpoint[endpoint], ids, route)
        for token in (None, "forged-token", "IjQ2ZjM3YjU2Ig.Z2fAbc.forgedsignature"):
            if route.json:
                headers = {"X-CSRFToken": token} if token else {}
                resp = c.http.post(url, json={"base_seq": 0, "client_id": uuid.uuid4().hex,
                                              "position": 1, "question_id": first_qid,
                                              "response": None, "flagged": False},
                                   headers=headers)
                ok = resp.status_code == 400 and resp.is_json and resp.json["error"] == "csrf"
            else:
                data = {"username": "candidate1", "password": PASSWORD}
                if token:
                    data["csrf_token"] = token
                resp = c.http.post(url, data=data)
                ok = resp.status_code == 400 and "不正な送信" in resp.get_data(as_text=True)
            if not ok:
                problems.append(f"POST {url} with token {token!r}: {resp.status_code}")
        if dump_database(app) != before:
            problems.append(f"POST {url} without a valid token changed the database")
            before = dump_database(app)
    assert not problems, "\n".join(problems)
    # Refused sign-out and sign-in left everyone as they were.
    assert all(signed_in(c) for c in clients.values())
    c = Client(app)
    c.get("/login")
    c.http.post("/login", data={"username": "candidate1", "password": PASSWORD})
    assert not signed_in(c)


def test_a_token_from_another_session_is_refused(app):
    a, b = Client(app), Client(app)
    a.login("candidate1")
    b.login("candidate2")
    state = a.start()
    resp = a.http.post(state["urls"]["save"], json={}, headers={"X-CSRFToken": b.csrf})
    assert resp.status_code == 400 and resp.json["error"] == "csrf"


def test_a_token_once_accepted_is_good_for_its_session_only(app):
    """Verified JSON tokens are remembered per process (app/extensions.py): the memory
    must never let a token pass for another session, nor a forged one for this session."""
    a, b = Client(app), Client(app)
    a.login("candidate1")
    b.login("candidate2")
    state_a, state_b = a.start(), b.start()
    with app.app_context():
        qid_a = db.session.get(Attempt, state_a["attempt"]).form[0]["id"]
        qid_b = db.session.get(Attempt, state_b["attempt"]).form[0]["id"]

    def save(client, state, question_id, token):
        return client.http.post(state["urls"]["save"], headers={"X-CSRFToken": token}, json={
            "base_seq": client.get(state["urls"]["state"]).json["seq"], "client_id": uuid.uuid4().hex,
            "position": 1, "question_id": question_id, "response": None, "flagged": False})

    for _ in range(2):                       # the second time from the remembered pair
        assert save(b, state_b, qid_b, b.csrf).status_code == 200
        assert save(a, state_a, qid_a, a.csrf).status_code == 200
    before = dump_database(app)
    for client, state, question_id, token in ((a, state_a, qid_a, b.csrf), (b, state_b, qid_b, a.csrf),
                                              (a, state_a, qid_a, a.csrf[:-2] + "xx")):
        resp = save(client, state, question_id, token)
        assert resp.status_code == 400 and resp.json["error"] == "csrf"
    assert dump_database(app) == before


# --------------------------------------------------------------------------- headers

def test_security_headers_and_content_security_policy(app, candidate):
    state = candidate.start()
    anonymous = Client(app)
    pages = {
        "login": anonymous.get("/login"),
        "not found": anonymous.get("/no-such-page"),
        "home": candidate.get("/exam/"),
        "exam": candidate.get(f"/exam/attempts/{state['attempt']}"),
        "state json": candidate.get(state["urls"]["state"]),
        "save json": candidate.post_json(state["urls"]["save"], {}),
    }
    for name, resp in pages.items():
        h = resp.headers
        csp = {d.split()[0]: d.split()[1:] for d in h["Content-Security-Policy"].split("; ")}
        assert csp["default-src"] == ["'self'"], name
        assert csp["script-src"] == ["'self'"], name          # no inline script, no eval
        assert csp["style-src"] == ["'self'"], name
        assert csp["object-src"] == ["'none'"], name
        assert csp["base-uri"] == ["'none'"], name
        assert csp["frame-ancestors"] == ["'none'"], name
        assert csp["form-action"] == ["'self'"], name
        assert h["X-Content-Type-Options"] == "nosniff", name
        assert h["X-Frame-Options"] == "DENY", name
        assert h["Referrer-Policy"] == "same-origin", name
        assert h["Cross-Origin-Opener-Policy"] == "same-origin", name
        assert "camera=()" in h["Permissions-Policy"] and "geolocation=()" in h["Permissions-Policy"]
        assert h["Cache-Control"] == "no-store", name          # never kept on a shared PC
        assert "Strict-Transport-Security" not in h, name      # plain http unless configured
    static = anonymous.http.get("/static/style.css")
    static.close()
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")


def test_templates_need_nothing_the_csp_forbids():
    """Inline scripts, event-handler attributes and style attributes would be blocked by
    the policy (and are where injected script would hide): none in any template."""
    problems = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"<script\b[^>]*>", text):
            tag = m.group(0)
            if 'src="' not in tag and 'type="application/json"' not in tag:
                problems.append(f"{path.name}: inline script {tag}")
        for pattern, what in ((r"<[a-zA-Z][^>]*\son[a-z]+\s*=", "event handler attribute"),
                              (r"<[a-zA-Z][^>]*\sstyle\s*=", "style attribute"),
                              (r"<style\b", "style element"), (r"javascript:", "javascript: URL")):
            if re.search(pattern, text):
                problems.append(f"{path.relative_to(TEMPLATES)}: {what}")
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- cookies

def set_cookie(resp, name="session") -> str:
    cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith(name + "=")]
    assert cookies, resp.headers
    return cookies[-1]


def test_session_cookie_is_httponly_and_samesite(app):
    c = Client(app)
    cookie = set_cookie(c.get("/login"))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie              # `make run` serves plain http on 127.0.0.1
    c.get("/login")
    cookie = set_cookie(c.post_form("/login", {"username": "candidate1", "password": PASSWORD}))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def secure_app(tmp_path, **config):
    return create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                       **config}, instance_path=str(tmp_path / "secure-instance"))


@pytest.mark.parametrize("how", ["env", "scheme", "config"])
def test_secure_cookies_and_hsts_when_configured(tmp_path, monkeypatch, how):
    if how == "env":
        monkeypatch.setenv("CBT_SECURE_COOKIES", "1")
        a = secure_app(tmp_path)
    elif how == "scheme":
        a = secure_app(tmp_path, PREFERRED_URL_SCHEME="https")
    else:
        a = secure_app(tmp_path, SECURE_COOKIES=True)
    assert a.config["SESSION_COOKIE_SECURE"] and a.config["REMEMBER_COOKIE_SECURE"]
    resp = a.test_client().get("/login", base_url="https://cbt.example")
    cookie = set_cookie(resp)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


def test_secure_cookies_can_be_turned_off_explicitly(tmp_path, monkeypatch):
    monkeypatch.setenv("CBT_SECURE_COOKIES", "0")
    a = secure_app(tmp_path, PREFERRED_URL_SCHEME="https")
    assert not a.config["SESSION_COOKIE_SECURE"]
    assert "Strict-Transport-Security" not in a.test_client().get("/login").headers


def test_proxy_fix_takes_the_client_address_from_the_proxy(app, monkeypatch, tmp_path):
    monkeypatch.setenv("CBT_PROXY_FIX", "1")
    behind = create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                         "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]},
                        instance_path=str(tmp_path / "proxied"))
    try:
        c = Client(behind)
        c.get("/login")
        headers = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "http"}
        resp = c.http.post("/login", data={"username": "candidate1", "password": "wrong",
                                           "csrf_token": c.csrf}, headers=headers)
        assert resp.status_code == 401
        with behind.app_context():
            assert db.session.scalars(select(LoginFailure.ip)).all() == ["198.51.100.7"]
    finally:
        with behind.app_context():
            db.session.remove()
            db.engine.dispose()


# --------------------------------------------------------------------------- sign-in limits

def login(client: Client, username: str, password: str):
    if client.csrf is None:
        client.get("/login")
    return client.post_form("/login", {"username": username, "password": password})


def age_failures(app, minutes: int) -> None:
    """Move every recorded failure into the past, as if the time had passed."""
    with app.app_context():
        for row in db.session.scalars(select(LoginFailure)):
            row.at -= timedelta(minutes=minutes)
        db.session.commit()


def failures(app, **where) -> list[LoginFailure]:
    with app.app_context():
        q = select(LoginFailure).order_by(LoginFailure.id)
        for k, v in where.items():
            q = q.where(getattr(LoginFailure, k) == v)
        rows = list(db.session.scalars(q))
        db.session.expunge_all()
        return rows


def jst_minute(until) -> str:
    """The lock's end as the page must say it: Japan time, rounded up to the minute."""
    t = until.replace(tzinfo=timezone.utc).astimezone(ZoneInfo("Asia/Tokyo"))
    if t.second or t.microsecond:
        t = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return f"{t.year}年{t.month}月{t.day}日 {t.hour}時{t.minute:02d}分（日本時間）"


def test_default_limits_are_the_documented_ones(app):
    assert app.config["LOGIN_RATE_LIMIT"] is True
    assert app.config["LOGIN_USER_MAX_FAILURES"] == 5
    assert app.config["LOGIN_IP_MAX_FAILURES"] == 30
    assert app.config["LOGIN_WINDOW_SECONDS"] == app.config["LOGIN_LOCK_SECONDS"] == 900


def test_five_failures_lock_the_user_name_until_a_stated_time(app):
    c = Client(app)
    for _ in range(4):
        r = login(c, "candidate1", "wrong")
        assert r.status_code == 401
        assert flashes(r) == ["ユーザーIDまたはパスワードが正しくありません。"]
    r = login(c, "candidate1", "wrong")
    assert r.status_code == 429
    [message] = flashes(r)
    until = failures(app, username="candidate1")[-1].at + timedelta(minutes=15)
    assert "ロックされています" in message and "庶務" in message
    assert jst_minute(until) in message
    assert 880 <= int(r.headers["Retry-After"]) <= 900
    # The right password is refused while locked, with the same message.
    r = login(c, "candidate1", PASSWORD)
    assert r.status_code == 429 and flashes(r) == [message]
    assert not signed_in(c)
    assert len(failures(app, username="candidate1")) == 5      # refusals are not counted
    locked = audit(app, "login_locked")
    assert len(locked) == 1 and locked[0]["username"] == "candidate1"
    assert locked[0]["scope"] == "user" and locked[0]["user_id"] is not None
    # Fifteen minutes later the lock is over and the right password signs in.
    age_failures(app, 15)
    r = login(c, "candidate1", PASSWORD)
    assert r.status_code == 302 and signed_in(c)
    assert failures(app, username="candidate1") == []          # a success clears the count


def test_the_count_starts_afresh_after_a_lock(app):
    c = Client(app)
    for _ in range(5):
        login(c, "candidate2", "wrong")
    age_failures(app, 16)
    for _ in range(4):
        assert login(c, "candidate2", "wrong").status_code == 401
    assert login(c, "candidate2", "wrong").status_code == 429
    assert len(audit(app, "login_locked")) == 2


def test_failures_spread_beyond_the_window_do_not_lock(app):
    c = Client(app)
    for _ in range(4):
        login(c, "candidate2", "wrong")
    age_failures(app, 16)
    assert login(c, "candidate2", "wrong").status_code == 401
    assert login(c, "candidate2", PASSWORD).status_code == 302


def test_a_successful_sign_in_resets_the_count(app):
    c = Client(app)
    for _ in range(4):
        login(c, "candidate1", "wrong")
    assert login(c, "candidate1", PASSWORD).status_code == 302
    c.get("/exam/")                     # the token changes at sign-in: a page gives the new one
    assert c.post_form("/logout").status_code == 302
    c.get("/login")                     # and again at sign-out
    for _ in range(4):
        assert login(c, "candidate1", "wrong").status_code == 401
    assert login(c, "candidate1", "wrong").status_code == 429


def test_unknown_user_names_behave_exactly_like_real_ones(app, monkeypatch):
    import app.auth.routes as routes
    import app.models.people as models
    checks = []
    for module in (routes, models):
        real = module.check_password_hash
        monkeypatch.setattr(module, "check_password_hash",
                            lambda h, p, real=real: checks.append(1) or real(h, p))
    seen = {}
    for username in ("candidate1", "no-such-user"):
        c = Client(app)
        steps = []
        for _ in range(6):
            del checks[:]
            r = login(c, username, "wrong")
            text = [re.sub(r"\d+年\d+月\d+日 \d+時\d+分", "<time>", m) for m in flashes(r)]
            steps.append((r.status_code, text, len(checks)))
        seen[username] = steps
    assert seen["candidate1"] == seen["no-such-user"]
    # One password check per counted attempt, none once locked: the same work either way.
    assert [n for _s, _t, n in seen["no-such-user"]] == [1, 1, 1, 1, 1, 0]
    assert {e["username"] for e in audit(app, "login_locked")} == {"candidate1", "no-such-user"}


def test_an_inactive_account_gets_the_same_answer(app):
    with app.app_context():
        db.session.scalar(select(User).where(User.username == "candidate3")).active = False
        db.session.commit()
    r = login(Client(app), "candidate3", PASSWORD)
    assert r.status_code == 401 and flashes(r) == ["ユーザーIDまたはパスワードが正しくありません。"]


def test_too_many_failures_from_one_address_refuse_it(app):
    app.config["LOGIN_IP_MAX_FAILURES"] = 12      # 30 by default: the same rule, sooner
    c = Client(app)
    c.http.environ_base["REMOTE_ADDR"] = "10.1.1.1"
    for i in range(11):
        assert login(c, f"guess{i}", "wrong").status_code == 401
    r = login(c, "guess-last", "wrong")
    assert r.status_code == 429
    [message] = flashes(r)
    assert "この端末から" in message and "庶務" in message
    assert "Retry-After" in r.headers
    # Refused from that address even with the right password, before any password check.
    r = login(c, "candidate1", PASSWORD)
    assert r.status_code == 429 and not signed_in(c)
    assert len(failures(app, ip="10.1.1.1")) == 12
    other = Client(app)
    other.http.environ_base["REMOTE_ADDR"] = "10.1.1.2"
    assert login(other, "candidate1", PASSWORD).status_code == 302
    locked = [e for e in audit(app, "login_locked") if e["scope"] == "ip"]
    assert len(locked) == 1 and locked[0]["locked_ip"] == "10.1.1.1"
    age_failures(app, 15)
    assert login(c, "candidate1", PASSWORD).status_code == 302


def test_limits_can_be_turned_off(app, monkeypatch, tmp_path):
    app.config["LOGIN_RATE_LIMIT"] = False
    c = Client(app)
    for _ in range(8):
        assert login(c, "candidate1", "wrong").status_code == 401
    assert login(c, "candidate1", PASSWORD).status_code == 302
    assert failures(app) == []
    assert len(audit(app, "login_failed")) == 8                   # still audited
    monkeypatch.setenv("CBT_LOGIN_RATE_LIMIT", "off")
    assert secure_app(tmp_path).config["LOGIN_RATE_LIMIT"] is False
    monkeypatch.setenv("CBT_LOGIN_RATE_LIMIT", "on")
    assert secure_app(tmp_path).config["LOGIN_RATE_LIMIT"] is True


def test_lock_end_replays_failures_in_order():
    from datetime import datetime
    t0 = datetime(2025, 4, 1, 0, 0)
    m = lambda k: t0 + timedelta(minutes=k)          # noqa: E731
    w = l = timedelta(minutes=15)                    # noqa: E741
    assert throttle.lock_end([m(0), m(1), m(2), m(3)], 5, w, l) is None
    assert throttle.lock_end([m(0), m(1), m(2), m(3), m(14)], 5, w, l) == m(29)
    assert throttle.lock_end([m(0), m(1), m(2), m(3), m(16)], 5, w, l) is None
    # Rows written during a lock (two servers racing) neither extend nor start one.
    assert throttle.lock_end([m(i) for i in range(5)] + [m(10), m(11), m(12), m(13), m(14)],
                             5, w, l) == m(19)
    # After a lock the count starts afresh.
    assert throttle.lock_end([m(i) for i in range(5)] + [m(20)], 5, w, l) == m(19)


def test_odd_sign_in_input_is_refused_cleanly(app):
    c = Client(app)
    for username, password in (("x" * 10000, "p"), ("candidate1\x00", "p"), ("\u202ecandidate1", "p"),
                               ("candidate1", "p" * 5000), ("𠮷野家", "ß")):
        r = login(c, username, password)
        assert r.status_code in (200, 401), (username[:20], r.status_code)
        assert not signed_in(c)
    r = login(c, "x" * 10000, "p")
    assert "64文字以内" in r.get_data(as_text=True)
    assert login(c, "candidate1\x00", "p").status_code == 200     # refused by the form
    assert all(len(f.username) <= 64 and "\x00" not in f.username for f in failures(app))


# --------------------------------------------------------------------------- passwords

def test_passwords_are_stored_with_scrypt(app):
    with app.app_context():
        hashes = db.session.scalars(select(User.password_hash)).all()
        assert hashes and all(h.startswith("scrypt:") for h in hashes)
        u = User(username="someone", display_name="x")
        u.set_password("a long passphrase")
        assert u.password_hash.startswith("scrypt:") and "a long passphrase" not in u.password_hash


def test_an_older_hash_is_upgraded_at_sign_in(app):
    from werkzeug.security import generate_password_hash
    with app.app_context():
        u = db.session.scalar(select(User).where(User.username == "candidate2"))
        u.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        db.session.commit()
    assert login(Client(app), "candidate2", PASSWORD).status_code == 302
    with app.app_context():
        u = db.session.scalar(select(User).where(User.username == "candidate2"))
        assert u.password_hash.startswith("scrypt:") and u.check_password(PASSWORD)


# --------------------------------------------------------------------------- request size

def test_oversized_bodies_get_a_clean_413(app, candidate):
    state = candidate.start()
    big = "x" * (300 * 1024)
    anonymous = Client(app)
    anonymous.get("/login")
    r = anonymous.post_form("/login", {"username": "candidate1", "password": big})
    assert r.status_code == 413 and r.mimetype == "text/html"
    assert "送信内容が大きすぎます" in r.get_data(as_text=True)
    r = candidate.http.post(state["urls"]["save"], data=json.dumps({"response": big}),
                            content_type="application/json", headers={"X-CSRFToken": candidate.csrf})
    assert r.status_code == 413 and r.is_json and r.json["ok"] is False
    assert r.json["error"] == "too_large" and "大きすぎます" in r.json["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AnswerStep)) == 0


# --------------------------------------------------------------------------- banks for the
# key and XSS tests: every secret is a unique sentinel, every text a payload if asked.

PAYLOADS = [
    "<script>alert('stem')</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![pic](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">entity</a>',
    "<iframe src=//evil.example></iframe>",
    "<svg onload=alert(1)>",
    "</script><script>alert(1)</script>",
    '"><script>alert(1)</script>',
    "<style>body{display:none}</style>",
    '<div onmouseover="alert(1)">hover</div>',
    "<form action=//evil.example><button>送信</button></form>",
    "<meta http-equiv=refresh content='0;url=//evil.example'>",
    "<base href=//evil.example/>",
    "<<script>script>alert(1)<</script>/script>",
    "`<script>alert('code')</script>`",
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    "<p style=\"background:url(javascript:alert(1))\">styled</p>",
]

# id, area, topic, levels, type, pool
SPEC = [
    ("XS-B1", "net", "basics", "[beginner, intermediate]", "single", "exam"),
    ("XS-B2", "net", "basics", "[beginner, intermediate]", "multiple", "exam"),
    ("XS-B3", "net", "basics", "[beginner, intermediate]", "true_false", "exam"),
    ("XS-S1", "law", "statutes", "[beginner, intermediate]", "text", "exam"),
    ("XS-S2", "law", "statutes", "[beginner, intermediate]", "single", "exam"),
    ("XS-S3", "law", "statutes", "[beginner, intermediate]", "multiple", "exam"),
    ("XS-D1", "net", "deep", "[intermediate]", "single", "exam"),
    ("XS-D2", "net", "deep", "[intermediate]", "text", "exam"),
    ("XS-P1", "net", "basics", "[beginner, intermediate]", "single", "practice"),
]


def y(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)     # a JSON string is a YAML scalar


def secrets_of(qid: str, variant: str) -> dict:
    return {"explanation": f"EXPLSECRET{qid}{variant} の解説",
            "reference": f"REFSECRET{qid}{variant}",
            "answers": [f"ANSWERSECRET{qid}{variant}A", f"answersecret{qid}{variant}b"]}


def make_bank(folder: Path, variant: str = "a", payload: bool = False) -> Path:
    """Two variants differ only in what a candidate must never learn: keys, accepted
    answers, explanations, references."""
    out = []
    for i, (qid, area, topic, levels, qtype, pool) in enumerate(SPEC):
        s = secrets_of(qid, variant)
        stem = f"問題 {qid}"
        if payload:
            stem += "\n\n" + "\n\n".join(PAYLOADS)
        lines = [f"  - id: {qid}", f"    area: {area}", f"    topic: {topic}", f"    levels: {levels}",
                 f"    type: {qtype}", f"    pool: {pool}", "    status: approved", f"    stem: {y(stem)}"]
        if qtype in ("single", "multiple"):
            lines.append("    choices:")
            for k, key in enumerate("abcd"):
                text = PAYLOADS[(i + k) % len(PAYLOADS)] if payload else f"選択肢{key}"
                lines.append(f"      - {{key: {key}, text: {y(text)}}}")
        answer = {("single", "a"): "a", ("single", "b"): "c",
                  ("multiple", "a"): "[a, b]", ("multiple", "b"): "[c, d]",
                  ("true_false", "a"): "true", ("true_false", "b"): "false"}.get(
                      (qtype, variant), "[" + ", ".join(y(a) for a in s["answers"]) + "]")
        explanation = s["explanation"] + ("\n\n" + "\n\n".join(PAYLOADS) if payload else "")
        reference = s["reference"] + (" " + PAYLOADS[i % len(PAYLOADS)] if payload else "")
        lines += [f"    answer: {answer}", f"    explanation: {y(explanation)}",
                  f"    reference: {y(reference)}"]
        out.append("\n".join(lines) + "\n")
    return write_bank(folder, {"questions.yaml": "".join(out)}, BLUEPRINT)


def add_session(app, folder: Path, title="検定（セキュリティ試験）") -> int:
    """A beginner session on the bank in `folder`, with candidate1 registered."""
    with app.app_context():
        version = import_banks(str(folder))
        now = utcnow()
        session = ExamSession(title=title, level="beginner", fiscal_year=2025,
                              opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=1),
                              duration_minutes=10, question_count=6, bank_version_id=version.id)
        db.session.add(session)
        db.session.flush()
        uid = db.session.scalar(select(User.id).where(User.username == "candidate1"))
        db.session.add(Registration(session_id=session.id, user_id=uid))
        db.session.commit()
        return session.id


def start(client: Client, session_id: int) -> int:
    client.get("/exam/")
    resp = client.post_form(f"/exam/sessions/{session_id}/start")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    attempt_id = int(re.search(r"/attempts/(\d+)", resp.location).group(1))
    client.get(resp.location)
    client.begin(attempt_id)
    return attempt_id


def exam_state(client: Client, attempt_id: int) -> dict:
    page = client.get(f"/exam/attempts/{attempt_id}").get_data(as_text=True)
    return json.loads(re.search(r'id="exam-state">(.*?)</script>', page, re.S).group(1))


def candidate_pages(app, client: Client, attempt_id: int, session_id: int) -> dict[str, str]:
    """Every page and JSON answer a candidate can GET, for this attempt and session."""
    values = {"attempt_id": attempt_id, "session_id": session_id, "qid": "XS-B1", "fmt": "csv",
              "user_id": 1, "admission_id": 1, "notice_id": 1, "record_id": 1, "staff_id": 1,
              "aff_id": 1, "kind": "staff", "join_token": "no-such-invitation",
              "material_id": 1, "key": "q1", "number": 1,
              "public_id": "A" * 22, "code": "000000"}
    out = {}
    for rule in rules(app):
        route = ROUTES.get(rule.endpoint)           # a route missing there fails test_roles
        if route is None or "GET" not in rule.methods or not allowed(route.access, {"candidate"}):
            continue
        url = url_for_rule(app, rule, values)
        headers = {"Accept": "application/json"} if route.json else {}
        resp = client.get(url, headers=headers, follow_redirects=True)
        if resp.mimetype.startswith("image/"):      # the icon: no text to leak
            continue
        out[url] = resp.get_data(as_text=True)
    return out


def secrets_on_form(app, attempt_id: int) -> list[str]:
    """What must not leak for each question on the form: its explanation, its reference,
    and for text questions every accepted answer."""
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        _bp, questions = snapshot(attempt.bank_version)
        out = []
        for item in attempt.form:
            q = questions[item["id"]]
            out += [q.explanation.split()[0], q.reference]
            if q.type == "text":
                out += list(q.answer)
        return out


def leaks(text: str, secrets: list[str]) -> list[str]:
    low = html.unescape(text).lower()
    return [s for s in secrets if s.lower() in low or json.dumps(s)[1:-1].lower() in low]


# --------------------------------------------------------------------------- keys

def test_no_key_explanation_or_accepted_answer_reaches_a_candidate(app, candidate, tmp_path):
    sid = add_session(app, make_bank(tmp_path / "bank"))
    attempt_id = start(candidate, sid)
    secrets = secrets_on_form(app, attempt_id)
    assert len(secrets) >= 12
    state = exam_state(candidate, attempt_id)
    replies = []
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        _bp, questions = snapshot(attempt.bank_version)
        form = [questions[i["id"]] for i in attempt.form]
    for pos, q in enumerate(form, start=1):
        response = {"single": 2, "multiple": [2], "true_false": False, "text": "まちがい"}[q.type]
        r = candidate.post_json(state["urls"]["save"], {
            "base_seq": state["seq"], "client_id": uuid.uuid4().hex, "position": pos,
            "question_id": q.id, "response": response, "flagged": pos == 2})
        assert r.status_code == 200, r.get_data(as_text=True)
        state["seq"] = r.json["seq"]
        replies.append(r.get_data(as_text=True))
    replies.append(candidate.post_json(state["urls"]["position"], {"position": 3}).get_data(as_text=True))
    problems = []
    for url, text in candidate_pages(app, candidate, attempt_id, sid).items():
        problems += [f"{url}: {s}" for s in leaks(text, secrets)]
    problems += [f"save reply: {s}" for text in replies for s in leaks(text, secrets)]
    # Submitted, not yet certified: still nothing.
    assert candidate.post_form(f"/exam/attempts/{attempt_id}/submit").status_code == 302
    for url, text in candidate_pages(app, candidate, attempt_id, sid).items():
        problems += [f"after submitting, {url}: {s}" for s in leaks(text, secrets)]
    assert not problems, "\n".join(problems)


def normalise(text: str, attempt_id: int) -> str:
    text = text.replace(f"/attempts/{attempt_id}", "/attempts/N")
    text = re.sub(r'"attempt": \d+', '"attempt": N', text)
    # The key that opens the questions sent sealed to the lobby differs per attempt.
    text = re.sub(r'"key": ?"[A-Za-z0-9+/=]+"', '"key": K', text)
    text = re.sub(r'(remaining[-_]ms"?[=:] ?"?)\d+', r"\1T", text)
    text = re.sub(r"\d+分", "M分", text)
    text = re.sub(r'name="csrf-token" content="[^"]+"', "csrf", text)
    text = re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "csrf", text)
    text = re.sub(r'value="[^"]+" name="csrf_token"|name="csrf_token" value="[^"]+"', "csrf", text)
    return re.sub(r"\d{1,2}:\d{2}(:\d{2})?", "HH:MM", text)


def test_pages_do_not_depend_on_the_keys(app, candidate, tmp_path, monkeypatch):
    """Two banks that differ only in keys, accepted answers and explanations, the same
    seed: every page the candidate sees is the same, so nothing on it reveals a key."""
    import app.exam.attempts as exam
    monkeypatch.setattr(exam, "new_seed", lambda: 20250401)
    sa = add_session(app, make_bank(tmp_path / "a", "a"))
    sb = add_session(app, make_bank(tmp_path / "b", "b"))
    attempts = {"a": start(candidate, sa), "b": start(candidate, sb)}
    seen = {}
    for variant, attempt_id in attempts.items():
        state = exam_state(candidate, attempt_id)
        with app.app_context():
            form = db.session.get(Attempt, attempt_id).form
        pages = [normalise(candidate.get(f"/exam/attempts/{attempt_id}").get_data(as_text=True), attempt_id)]
        for pos, item in enumerate(form, start=1):
            r = candidate.post_json(state["urls"]["save"], {
                "base_seq": state["seq"], "client_id": uuid.uuid4().hex, "position": pos,
                "question_id": item["id"], "response": None, "flagged": True})
            assert r.status_code == 200
            state["seq"] = r.json["seq"]
        for suffix in ("", "/state", "/confirm"):
            text = candidate.get(f"/exam/attempts/{attempt_id}{suffix}").get_data(as_text=True)
            pages.append(normalise(text, attempt_id))
        candidate.post_form(f"/exam/attempts/{attempt_id}/submit")
        pages.append(normalise(candidate.get(f"/exam/attempts/{attempt_id}/done").get_data(as_text=True),
                               attempt_id))
        seen[variant] = pages
    with app.app_context():
        a, b = (db.session.get(Attempt, attempts[v]) for v in "ab")
        assert a.form == b.form and a.bank_version_id != b.bank_version_id
    for page_a, page_b in zip(seen["a"], seen["b"]):
        assert page_a == page_b


# --------------------------------------------------------------------------- XSS

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "poster", "data", "background"}
DANGEROUS_TAGS = {"iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "style",
                  "base", "template", "portal", "img", "video", "audio", "source"}


class Inspector(HTMLParser):
    """Reports anything in a page that could run script or restyle it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.scripts: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "script":
            self.scripts.append(a)
            if a.get("type") != "application/json" and not a.get("src", "").startswith("/static/"):
                self.problems.append(f"script element {a}")
        elif tag in DANGEROUS_TAGS:
            self.problems.append(f"<{tag}> element")
        elif tag == "link" and not (a.get("rel") in ("stylesheet", "icon") and a.get("href", "").startswith("/static/")):
            self.problems.append(f"link {a}")
        elif tag == "meta" and "http-equiv" in a:
            self.problems.append(f"meta http-equiv {a}")
        elif tag == "form":
            action = a.get("action", "")
            if action and (not action.startswith("/") or action.startswith("//")):
                self.problems.append(f"form posting to {action}")
        for name, value in a.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name == "style":
                self.problems.append(f"<{tag} style=...>")
            if name in URL_ATTRIBUTES:
                v = re.sub(r"[\s\x00-\x1f]", "", value).lower()
                if v.startswith(("javascript:", "vbscript:", "data:")):
                    self.problems.append(f"<{tag} {name}={value}>")

    handle_startendtag = handle_starttag


def inert(text: str) -> list[str]:
    p = Inspector()
    p.feed(text)
    p.close()
    return p.problems


def test_the_inspector_catches_what_it_must():
    for bad in ("<script>x</script>", "<img src=x onerror=y>", '<a href=" javascript:x">',
                "<svg/onload=x>", "<p style=x>", "<iframe>", '<form action="//evil">'):
        assert inert(bad), bad
    assert not inert('<p><a href="https://example.jp/" rel="noopener">ok</a> &lt;script&gt;</p>')


def test_author_markdown_payloads_are_inert_on_the_exam_page(app, candidate, tmp_path):
    sid = add_session(app, make_bank(tmp_path / "xss", payload=True))
    attempt_id = start(candidate, sid)
    page = candidate.get(f"/exam/attempts/{attempt_id}").get_data(as_text=True)
    assert inert(page) == []
    assert "alert(" in html.unescape(page)               # the payloads are there, as text
    # The state script still parses: no payload closed it early.
    state = json.loads(re.search(r'id="exam-state">(.*?)</script>', page, re.S).group(1))
    assert state["count"] == 6
    assert len(re.findall(r"<script\b", page)) == 4      # /static/prefs.js and site.js, the state, /static/exam.js
    for suffix in ("/confirm",):
        assert inert(candidate.get(f"/exam/attempts/{attempt_id}{suffix}").get_data(as_text=True)) == []


def test_author_markdown_payloads_are_inert_in_preview_and_practice(app, tmp_path):
    folder = make_bank(tmp_path / "xss", payload=True)
    with app.app_context():
        import_banks(str(folder))                      # the newest version: practice uses it
        db.session.commit()
    app.config["BANKS_DIR"] = str(folder)
    author = Client(app)
    author.login("author1")
    for url in ("/author/", "/author/sample?level=beginner&seed=3", "/author/questions/XS-B1/history"):
        r = author.get(url)
        assert r.status_code == 200, url
        assert inert(r.get_data(as_text=True)) == [], url
        if "history" not in url:
            assert "alert(" in html.unescape(r.get_data(as_text=True)), url
    c = Client(app)
    c.login("candidate1")
    page = c.get("/exam/practice/question?level=beginner")
    assert page.status_code == 200 and inert(page.get_data(as_text=True)) == []
    text = page.get_data(as_text=True)
    fields = {k: html.unescape(v) for k, v in re.findall(
        r'name="(question_id|level|topic|order_token)" type="hidden" value="([^"]*)"', text)}
    assert fields.get("question_id") == "XS-P1", fields
    feedback = c.post_form("/exam/practice/answer", {**fields, "r1": "1"})
    assert feedback.status_code == 200
    body = feedback.get_data(as_text=True)
    assert "EXPLSECRETXS-P1a" in body                  # the explanation is shown here, and inert
    assert inert(body) == []


# --------------------------------------------------------------------------- fuzzing saves

@pytest.fixture
def fuzz_attempt(app, candidate):
    """candidate1's attempt on the demo beginner session, with nothing saved yet."""
    state = candidate.start()
    with app.app_context():
        attempt = db.session.get(Attempt, state["attempt"])
        _bp, questions = snapshot(attempt.bank_version)
        form = [questions[i["id"]] for i in attempt.form]
        orders = [i["choice_order"] for i in attempt.form]
    return {"state": state, "form": form, "ids": [q.id for q in form], "orders": orders}


def json_values(max_leaves=12):
    text = st.one_of(
        st.text(max_size=40),
        st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, categories=None,
                              exclude_categories=[]), max_size=20),
        st.sampled_from(["", "\x00", "\ud800", "a\udfff", "'; DROP TABLE answer_steps; --",
                         "\u202e", "𠮷𠮷𠮷", "NaN", "null", "1", "a", "true"]),
        st.integers(60, 6000).map(lambda n: "x" * n))
    numbers = st.one_of(st.integers(), st.integers(min_value=2 ** 31 - 2, max_value=2 ** 31 + 2),
                        st.integers(min_value=2 ** 63 - 2, max_value=2 ** 63 + 2),
                        st.integers(min_value=10 ** 20, max_value=10 ** 400),
                        st.integers(min_value=-(10 ** 400), max_value=-(10 ** 20)),
                        st.floats(), st.sampled_from([0, -1, 1, 2 ** 64, -(2 ** 63) - 1, 1e308, -0.0]))
    leaves = st.one_of(st.none(), st.booleans(), numbers, text)
    return st.recursive(leaves, lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(text, children, max_size=4)),
        max_leaves=max_leaves)


FIELDS = ("base_seq", "client_id", "position", "question_id", "response", "flagged", "missing")


def valid_response(q, order, value) -> bool:
    """Whether the page could have posted `value` (choices by shown position)."""
    try:
        coerce_response(q.type, [c.key for c in q.choices], to_keys(q.type, order, value))
        return True
    except ResponseError:
        return False


@st.composite
def malformed_save(draw, info):
    """A body one step from valid: every field right except at least one, which is wrong
    in a random way. (With everything right, the save would be stored.)"""
    form, ids_ = info["form"], info["ids"]
    pos = draw(st.integers(1, len(form)))
    body = {"base_seq": 0, "client_id": uuid.UUID(int=draw(st.integers(0, 2 ** 128 - 1))).hex,
            "position": pos, "question_id": ids_[pos - 1], "response": None, "flagged": False}
    anything = json_values()
    broken = {draw(st.sampled_from(FIELDS + ("response", "response", "base_seq")))}
    if draw(st.integers(0, 3)) == 0:
        broken.add(draw(st.sampled_from(FIELDS)))
    for field in broken:
        if field == "base_seq":           # a positive number is a stale tab: 409
            body[field] = draw(st.integers(1, 2 ** 53) | anything.filter(
                lambda v: not (type(v) is int and v == 0)))
        elif field == "client_id":
            body[field] = draw(anything.filter(lambda v: not (isinstance(v, str) and 8 <= len(v) <= 64)))
        elif field == "position":
            body[field] = draw(anything.filter(lambda v: not (type(v) is int and 1 <= v <= len(form))))
        elif field == "question_id":
            body[field] = draw(anything.filter(lambda v: v != ids_[pos - 1]))
        elif field == "response":
            q = form[pos - 1]
            if q.type == "text":
                body[field] = draw(anything.filter(lambda v: not isinstance(v, str) and v is not None))
            else:
                order = info["orders"][pos - 1]
                # Near misses of a position (0, n+1, repeated, as text, true) beside anything.
                near = st.sampled_from([0, len(order) + 1, -1, True, False, "1", "a", 1.0, [1, 1],
                                        [0], [True], ["1"], [len(order) + 1], 1, [1]])
                body[field] = draw((near | anything).filter(
                    lambda v, q=q, order=order: not valid_response(q, order, v)))
        elif field == "flagged":
            body[field] = draw(anything.filter(lambda v: not isinstance(v, bool)))
        else:
            del body[draw(st.sampled_from(["base_seq", "client_id", "position"]))]
    extra = draw(st.dictionaries(st.text(max_size=8).map(lambda k: "x_" + k), anything, max_size=3))
    return {**body, **extra}


@st.composite
def save_requests(draw, info):
    """(body bytes, content type): malformed saves, random JSON, and raw non-JSON bodies."""
    kind = draw(st.sampled_from(["near-valid", "near-valid", "near-valid", "any-json", "raw"]))
    json_types = ["application/json", "application/json; charset=utf-8"]
    if kind == "near-valid":
        return json.dumps(draw(malformed_save(info))).encode(), draw(st.sampled_from(json_types))
    if kind == "any-json":
        value = draw(json_values(max_leaves=30).filter(
            lambda v: not (isinstance(v, dict) and v.get("question_id") in info["ids"])))
        return json.dumps(value).encode(), draw(st.sampled_from(json_types))
    body = draw(st.one_of(
        st.binary(max_size=300),
        st.integers(1, 50_000).map(lambda n: b"[" * n + b"]" * n),
        st.integers(1, 50_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
        st.sampled_from([b"", b"NaN", b"Infinity", b"-Infinity", b'{"base_seq": NaN}', b"1" * 5000,
                         b'"\\ud800"', b'{"client_id": "\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000"}',
                         b"\xff\xfe\x00", b"position=1&response=a", b"--x\r\nContent-Disposition: form-data\r\n\r\n"])))
    ctype = draw(st.sampled_from(json_types + ["text/plain", "application/x-www-form-urlencoded",
                                               "multipart/form-data; boundary=x", "application/xml", ""]))
    return body, ctype


def assert_unchanged(app, attempt_id):
    with app.app_context():
        steps = db.session.scalar(select(func.count()).select_from(AnswerStep))
        attempt = db.session.get(Attempt, attempt_id)
        assert (steps, attempt.last_seq, attempt.submitted_at) == (0, 0, None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_answer_saves_get_clean_4xx_and_change_nothing(app, candidate, fuzz_attempt, data):
    body, ctype = data.draw(save_requests(fuzz_attempt))
    url = fuzz_attempt["state"]["urls"]["save"]
    headers = {"X-CSRFToken": candidate.csrf}
    if ctype:
        headers["Content-Type"] = ctype
    resp = candidate.http.post(url, data=body, headers=headers)
    event(f"{resp.status_code} {resp.json.get('error')} {resp.json.get('message', '')[:24]}" if resp.is_json else str(resp.status_code))
    assert 400 <= resp.status_code < 500, (resp.status_code, body[:200], ctype)
    assert resp.is_json, (resp.status_code, resp.get_data(as_text=True)[:200])
    assert resp.json["ok"] is False and resp.json["message"], resp.json
    assert "Traceback" not in resp.get_data(as_text=True)
    assert_unchanged(app, fuzz_attempt["state"]["attempt"])


def hard_bodies(qid: str) -> dict[str, bytes]:
    q = json.dumps(qid)
    return {
        "nested 100k deep": b"[" * 100_000 + b"]" * 100_000,          # exhausts the parser's stack
        "NUL client id": json.dumps({"base_seq": 0, "client_id": "\x00" * 16, "position": 1,
                                     "question_id": qid, "response": None}).encode(),
        "lone surrogates": ('{"base_seq": 0, "client_id": "\\ud800\\ud800\\ud800\\ud800\\ud800'
                            '\\ud800\\ud800\\ud800", "position": 1, "question_id": %s}' % q).encode(),
        "surrogate question id": b'{"base_seq": 0, "client_id": "cccccccccccccccc", "position": 1, '
                                 b'"question_id": "\\udc80"}',
        "base_seq 2**64": json.dumps({"base_seq": 2 ** 64, "client_id": "c" * 16, "position": 1,
                                      "question_id": qid}).encode(),
        "base_seq 2**31": json.dumps({"base_seq": 2 ** 31, "client_id": "c" * 16, "position": 1,
                                      "question_id": qid}).encode(),
        "base_seq 2**31-1": json.dumps({"base_seq": 2 ** 31 - 1, "client_id": "c" * 16,
                                        "position": 1, "question_id": qid}).encode(),
        "base_seq 2**53": json.dumps({"base_seq": 2 ** 53, "client_id": "c" * 16,
                                      "position": 1, "question_id": qid}).encode(),
        "300 digits": json.dumps({"base_seq": 10 ** 300, "client_id": "c" * 16,
                                  "position": 10 ** 300, "question_id": qid}).encode(),
        "1e999": ('{"base_seq": 1e999, "client_id": "cccccccccccccccc", "position": 1, '
                  '"question_id": %s}' % q).encode(),
        "NaN": ('{"base_seq": NaN, "client_id": "cccccccccccccccc", "position": 1, '
                '"question_id": %s}' % q).encode(),
        "5000 digits": b'{"base_seq": 1' + b"0" * 5000 + b"}",
    }


@pytest.mark.parametrize("name", list(hard_bodies("Q")))
def test_known_hard_bodies_are_refused_cleanly(app, candidate, fuzz_attempt, name):
    """Bodies that crash JSON parsers or database drivers, aimed at a real question so
    each gets as far as it can."""
    body = hard_bodies(fuzz_attempt["ids"][0])[name]
    resp = candidate.http.post(fuzz_attempt["state"]["urls"]["save"], data=body,
                               headers={"X-CSRFToken": candidate.csrf, "Content-Type": "application/json"})
    assert 400 <= resp.status_code < 500 and resp.is_json and resp.json["ok"] is False, resp.status_code
    assert_unchanged(app, fuzz_attempt["state"]["attempt"])
