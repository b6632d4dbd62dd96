"""Flask application factory for the CBT engine."""
from __future__ import annotations

import os
import secrets

from flask import Flask

from scoring.timing import CHANNEL_SIGNAL_LEAD_SECONDS, SIGNAL_LEAD_SECONDS

from .core import home, security
from .core.logs import configure_logging
from .db.engine import pool_options
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


def _env_flag(name: str) -> bool | None:
    """An on/off environment switch: None when unset or empty."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return None
    return value not in ("0", "off", "false", "no")


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
        REMEMBER_COOKIE_SAMESITE="Lax",
        # None: secure cookies exactly when PREFERRED_URL_SCHEME is https (see below).
        SECURE_COOKIES=_env_flag("CBT_SECURE_COOKIES"),
        # CBT_PROXY_FIX=N: trust N reverse proxies' X-Forwarded-For/-Proto/-Host.
        PROXY_FIX=os.environ.get("CBT_PROXY_FIX"),
        # Sign-in limits (app/auth/throttle.py); the load benchmark turns them off.
        LOGIN_RATE_LIMIT=_env_flag("CBT_LOGIN_RATE_LIMIT") is not False,
        LOGIN_USER_MAX_FAILURES=5,
        LOGIN_IP_MAX_FAILURES=30,
        LOGIN_WINDOW_SECONDS=15 * 60,
        LOGIN_LOCK_SECONDS=15 * 60,
        SWEEPER=False,
        SWEEP_INTERVAL_SECONDS=5,
        # json: one JSON object per line on stderr (`cbt serve`); text for a terminal.
        LOG_FORMAT=os.environ.get("LOG_FORMAT") or "text",
        # The room's channel (app/channel): a port of the page's own host (`cbt serve`
        # starts it there), or an address: a path a proxy routes to it, or a full URL.
        CHANNEL_PORT=int(os.environ["CBT_CHANNEL_PORT"]) if os.environ.get("CBT_CHANNEL_PORT") else None,
        CHANNEL_URL=os.environ.get("CBT_CHANNEL_URL") or None,
    )
    app.config.from_pyfile("config.py", silent=True)
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or _secret_key(app.instance_path)
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS",
                          pool_options(app.config["SQLALCHEMY_DATABASE_URI"]))
    # Pages that hear the signal pushed need a shorter lead than pages that pulse for it.
    app.config.setdefault("SIGNAL_LEAD_SECONDS", CHANNEL_SIGNAL_LEAD_SECONDS if (
        app.config["CHANNEL_PORT"] or app.config["CHANNEL_URL"]) else SIGNAL_LEAD_SECONDS)
    security.configure(app)
    configure_logging(app)      # first: its request id hook runs before any other
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgres://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://" + \
            app.config["SQLALCHEMY_DATABASE_URI"][len("postgres://"):]

    from . import models  # noqa: F401  (every table on the one metadata)
    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "ログインしてください。"
    # "basic": an officer behind a proxy pool must not be signed out mid-exam by an IP change.
    login_manager.session_protection = "basic"

    from .core import errors, filters
    from .core.forms import refuse_control_characters_in_query
    errors.register(app)
    filters.register(app)
    app.before_request(refuse_control_characters_in_query)

    from .blueprints import register_all
    register_all(app)

    home.register(app)
    security.register(app)
    if app.config["SWEEPER"]:
        from .exam.sweeper import start_sweeper
        start_sweeper(app)
    return app
