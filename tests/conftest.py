"""Shared fixtures: a fresh app and database per test, demo content, signed-in clients."""
from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

from app import create_app
from app.cli.demo import DEMO_PASSWORD, seed_demo
from app.extensions import db

# Property tests check what the code answers, never how fast: Hypothesis's default 200 ms
# deadline per example and its "generation too slow" check fail a correct test when the
# machine's cores are busy (speed is measured in bench/, not here).
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")

ROOT = Path(__file__).resolve().parent.parent
BANKS = ROOT / "question_banks"


# The suite runs on SQLite by default and on PostgreSQL when CBT_TEST_DATABASE_URL names a
# server (`make test` does both): each test gets its own database either way.
PG_URL = os.environ.get("CBT_TEST_DATABASE_URL", "")
# Browser tests of pages whose database work the HTTP tests cover on both databases: run
# once, in the SQLite half of `make test` (the PostgreSQL half would only repeat the browser).
BROWSER_ONCE = pytest.mark.skipif(bool(PG_URL), reason="the pages' database work is checked on "
                                  "PostgreSQL by the HTTP tests; the browser runs in the SQLite half")


def make_app(db_url, instance):
    return create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                       "SQLALCHEMY_DATABASE_URI": str(db_url),
                       "BANKS_DIR": str(BANKS)}, instance_path=str(instance))


class PgServer:
    """Databases on the test server, made by copying a template (fast in PostgreSQL)."""

    def __init__(self, url: str):
        self.url = sa.engine.make_url(url)
        self.admin = sa.create_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT",
                                      poolclass=sa.pool.NullPool)

    def create(self, name: str, template: str | None = None) -> str:
        with self.admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, name: str) -> None:
        with self.admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg():
    return PgServer(PG_URL) if PG_URL else None


@pytest.fixture
def fresh_db_url(pg, tmp_path):
    """An empty database for code that creates its own tables (the CLI)."""
    if pg is None:
        yield f"sqlite:///{tmp_path / 'fresh.sqlite'}"
        return
    name = f"cbt_fresh_{uuid.uuid4().hex[:12]}"
    yield pg.create(name)
    pg.drop(name)


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory, pg):
    """Demo content seeded once (YAML parsing and password hashing are slow); each test
    gets its own copy, so tests stay independent."""
    folder = tmp_path_factory.mktemp("seed")
    url = pg.create("cbt_seed") if pg else f"sqlite:///{folder / 'seed.sqlite'}"
    app = make_app(url, folder / "instance")
    with app.app_context():
        seed_demo(str(BANKS), passes=False)     # tests make the passes they need
        if not pg:
            db.session.execute(db.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.remove()
        db.engine.dispose()
    yield folder / "seed.sqlite" if not pg else "cbt_seed"
    if pg:
        pg.drop("cbt_seed")


@pytest.fixture
def app(tmp_path, seeded_db, pg):
    if pg:
        name = f"cbt_t_{uuid.uuid4().hex[:12]}"
        url = pg.create(name, template=seeded_db)
    else:
        shutil.copy(seeded_db, tmp_path / "test.sqlite")
        url = f"sqlite:///{tmp_path / 'test.sqlite'}"
    app = make_app(url, tmp_path / "instance")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if pg:
        pg.drop(name)


class Client:
    """A browser-like client: keeps the CSRF token the pages carry."""

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()
        self.csrf = None

    def _remember(self, resp):
        if not resp.mimetype.startswith("text/html"):
            return resp
        m = re.search(r'name="csrf-token" content="([^"]+)"', resp.get_data(as_text=True))
        if m:
            self.csrf = m.group(1)
        return resp

    def get(self, url, **kw):
        return self._remember(self.http.get(url, **kw))

    def post_form(self, url, data=None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf)
        return self._remember(self.http.post(url, data=data, **kw))

    def post_json(self, url, body, csrf=True):
        headers = {"X-CSRFToken": self.csrf} if csrf else {}
        return self.http.post(url, json=body, headers=headers)

    def login(self, username, password=DEMO_PASSWORD):
        self.get("/login")
        resp = self.post_form("/login", {"username": username, "password": password})
        if resp.status_code == 302:
            # As a browser does: the page signed in to carries the new session's CSRF token
            # (the session, and the token with it, is new at every sign-in).
            self._remember(self.http.get(resp.location, follow_redirects=True))
        return resp

    def start(self, level="beginner"):
        """Start (or resume) the demo session of a level; returns the page state."""
        from app.models import ExamSession
        with self.app.app_context():
            sid = db.session.scalar(db.select(ExamSession.id).where(ExamSession.level == level))
        self.get("/exam/")
        resp = self.post_form(f"/exam/sessions/{sid}/start")       # into the lobby
        assert resp.status_code == 302, resp.get_data(as_text=True)
        lobby = self.state(resp.location)
        if lobby["phase"] == "lobby":
            self.begin(lobby["attempt"])
        return self.state(resp.location)

    def begin(self, attempt_id: int) -> dict:
        """The candidate's 開始 in the lobby; returns the attempt's state."""
        began = self.http.post(f"/exam/attempts/{attempt_id}/begin", json={},
                               headers={"X-CSRFToken": self.csrf})
        assert began.status_code == 200, began.get_data(as_text=True)
        return began.json

    def state(self, url):
        page = self.get(url)
        assert page.status_code == 200
        return json.loads(re.search(r'id="exam-state">(.*?)</script>',
                                    page.get_data(as_text=True), re.S).group(1))


@pytest.fixture
def client(app):
    return Client(app)


@pytest.fixture
def candidate(app):
    c = Client(app)
    assert c.login("candidate1").status_code == 302
    return c
