"""Shared fixtures: a fresh app and database per test, demo content, signed-in clients."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from app import create_app
from app.demo import DEMO_PASSWORD, seed_demo
from app.extensions import db

ROOT = Path(__file__).resolve().parent.parent
BANKS = ROOT / "question_banks"


def make_app(db_path, instance):
    return create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
                       "BANKS_DIR": str(BANKS)}, instance_path=str(instance))


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory):
    """Demo content seeded once (YAML parsing and password hashing are slow); each test
    gets its own copy of the file, so tests stay independent."""
    folder = tmp_path_factory.mktemp("seed")
    app = make_app(folder / "seed.sqlite", folder / "instance")
    with app.app_context():
        seed_demo(str(BANKS))
        db.session.execute(db.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.remove()
        db.engine.dispose()
    return folder / "seed.sqlite"


@pytest.fixture
def app(tmp_path, seeded_db):
    shutil.copy(seeded_db, tmp_path / "test.sqlite")
    app = make_app(tmp_path / "test.sqlite", tmp_path / "instance")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


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
        return self.post_form("/login", {"username": username, "password": password})

    def start(self, level="beginner"):
        """Start (or resume) the demo session of a level; returns the page state."""
        from app.models import ExamSession
        with self.app.app_context():
            sid = db.session.scalar(db.select(ExamSession.id).where(ExamSession.level == level))
        self.get("/exam/")
        resp = self.post_form(f"/exam/sessions/{sid}/start")
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return self.state(resp.location)

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
