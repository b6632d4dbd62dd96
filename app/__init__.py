"""Flask application factory for the CBT engine."""
from __future__ import annotations

import logging
import os
import secrets

from flask import Flask, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import csrf, db, login_manager


def _secret_key(instance_path: str) -> str:
    """Generated once into instance/ so restarts and several workers share it."""
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    with open(path) as fh:
        return fh.read().strip()


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True,
                instance_path=instance_path or os.environ.get("CBT_INSTANCE") or None)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=os.environ.get("DATABASE_URL")
        or "sqlite:///" + os.path.join(app.instance_path, "cbt.sqlite"),
        BANKS_DIR=os.environ.get("CBT_BANKS"),
        MAX_CONTENT_LENGTH=256 * 1024,
        WTF_CSRF_TIME_LIMIT=None,          # a 90-minute exam outlives the default hour
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        SWEEPER=False,
        SWEEP_INTERVAL_SECONDS=5,
    )
    app.config.from_pyfile("config.py", silent=True)
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or _secret_key(app.instance_path)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgres://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://" + \
            app.config["SQLALCHEMY_DATABASE_URI"][len("postgres://"):]

    from . import models, models_register  # noqa: F401  (every table on the one metadata)
    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "ログインしてください。"
    # "basic": an officer behind a proxy pool must not be signed out mid-exam by an IP change.
    login_manager.session_protection = "basic"

    from . import errors, filters
    errors.register(app)
    filters.register(app)

    from .blueprints import register_all
    register_all(app)

    @app.get("/")
    def index():
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        if current_user.has_role("candidate"):
            return redirect(url_for("candidate.home"))
        if current_user.has_role("author", "vice_chair", "chair"):
            return redirect(url_for("author.preview"))
        if current_user.has_role("committee"):
            return redirect(url_for("committee.stats"))
        return render_template("home.html")

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.after_request
    def security_headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
        return resp

    if app.config["SWEEPER"]:
        from .exam import start_sweeper
        start_sweeper(app)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    # WAL lets readers run beside the one writer; the busy timeout queues writers instead
    # of failing them when many candidates save at once.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
