"""Flask application factory for the CBT engine."""
from __future__ import annotations

import os
import secrets

from flask import Flask, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .dbhealth import check_writable, refuse_read_only_sqlite
from .extensions import csrf, db, login_manager
from .logs import configure_logging


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


# Browser features no page needs: refused for the whole site.
PERMISSIONS_POLICY = ", ".join(f"{f}=()" for f in (
    "accelerometer", "autoplay", "camera", "display-capture", "geolocation", "gyroscope",
    "magnetometer", "microphone", "midi", "payment", "publickey-credentials-get",
    "screen-wake-lock", "usb", "xr-spatial-tracking"))
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'")


def _proxies(value) -> int:
    """CBT_PROXY_FIX: a number of proxies, or on/off (on = one proxy)."""
    text = str(value or "").strip().lower()
    if text.isdigit():
        return int(text)
    return 1 if text in ("on", "true", "yes") else 0


def _security_config(app: Flask) -> None:
    """Cookie flags and proxy handling, after every config source is read.

    Secure cookies are off by default because `make run` serves plain http on 127.0.0.1,
    where a browser would drop them and sign-in would fail. Production behind TLS sets
    CBT_SECURE_COOKIES=1 (or SECURE_COOKIES = True, or PREFERRED_URL_SCHEME = "https")."""
    secure = app.config.get("SECURE_COOKIES")
    if secure is None:
        secure = app.config.get("PREFERRED_URL_SCHEME") == "https"
    secure = bool(secure)
    app.config["SECURE_COOKIES"] = secure
    app.config["SESSION_COOKIE_SECURE"] = secure or bool(app.config.get("SESSION_COOKIE_SECURE"))
    app.config["REMEMBER_COOKIE_SECURE"] = secure or bool(app.config.get("REMEMBER_COOKIE_SECURE"))
    proxies = _proxies(app.config.get("PROXY_FIX"))
    if proxies > 0:
        # Behind N reverse proxies: the client's address (the per-address sign-in limit)
        # and the scheme (https) come from their X-Forwarded-* headers.
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)


def _pool_options(url: str) -> dict:
    """Each process's database connections, sized to its request threads (CBT_THREADS, set
    by `cbt serve`): a thread holds one for its request and may take a second to write a
    batch of saves, and the deadline sweeper takes one. A smaller pool makes threads wait
    for each other, and on SQLite a thread holding the write gate could wait for a
    connection held by a thread waiting for the gate (until the pool's 30 s timeout)."""
    if url.rstrip("/") == "sqlite:" or ":memory:" in url:
        return {}           # one connection, kept by SQLAlchemy's own pool for it
    threads = int(os.environ.get("CBT_THREADS") or 4)
    return {"pool_size": threads + 1, "max_overflow": threads + 1}


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
    )
    app.config.from_pyfile("config.py", silent=True)
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or _secret_key(app.instance_path)
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS",
                          _pool_options(app.config["SQLALCHEMY_DATABASE_URI"]))
    _security_config(app)
    configure_logging(app)      # first: its request id hook runs before any other
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
    from .forms import refuse_control_characters_in_query
    errors.register(app)
    filters.register(app)
    app.before_request(refuse_control_characters_in_query)

    from .blueprints import register_all
    register_all(app)

    @app.get("/")
    def index():
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        # Each actor lands on the page of their main task.
        if current_user.has_role("vice_chair", "chair"):
            return redirect(url_for("sessions.index"))
        if current_user.has_role("committee"):
            return redirect(url_for("review.index"))
        if current_user.has_role("secretariat"):
            return redirect(url_for("admin.home"))
        if current_user.has_role("head"):
            return redirect(url_for("head.index"))
        if current_user.has_role("author"):
            return redirect(url_for("author.preview"))
        if current_user.has_role("candidate"):
            return redirect(url_for("candidate.home"))
        return render_template("home.html")

    @app.get("/healthz")
    def healthz():
        """The process serves (kept trivial: the load benchmark's ceiling)."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz():
        """The database takes writes too (a committed write of one row): what a proxy
        should route on. Not ready while saves would fail, ready again once they would not."""
        try:
            check_writable(db)
        except Exception as exc:    # any failure means 'not ready'; the log says why
            # A proxy asks every few seconds: one line with the cause, not a trace each time.
            app.logger.warning("not ready: %s: %s", type(exc).__name__, exc,
                               extra={"reason": "database_unavailable"})
            db.session.rollback()
            return {"status": "database unavailable"}, 503
        return {"status": "ok"}

    @app.after_request
    def security_headers(resp):
        h = resp.headers
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        h.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if app.config["SECURE_COOKIES"]:
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.endpoint != "static":
            # Nothing dynamic is kept by the browser or a proxy: an exam page, a result or
            # a download must not be shown again from the cache of a shared PC.
            h["Cache-Control"] = "no-store"
            h.setdefault("Pragma", "no-cache")
        return resp

    if app.config["SWEEPER"]:
        from .exam import start_sweeper
        start_sweeper(app)
    return app


SQLITE_SYNCHRONOUS = ("NORMAL", "FULL", "EXTRA")


def sqlite_synchronous() -> str:
    value = (os.environ.get("CBT_SQLITE_SYNCHRONOUS") or "NORMAL").strip().upper()
    if value not in SQLITE_SYNCHRONOUS:
        raise RuntimeError(f"CBT_SQLITE_SYNCHRONOUS={value!r}: one of {', '.join(SQLITE_SYNCHRONOUS)}")
    return value


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    # WAL lets readers run beside the one writer; the busy timeout queues writers instead
    # of failing them when many candidates save at once.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        refuse_read_only_sqlite(dbapi_connection)
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        # NORMAL: a commit is in the WAL before the answer is acknowledged, so a server
        # process that dies loses nothing; only a crash of the machine itself (power,
        # kernel) can take back the last commits. FULL also waits for the disk on every
        # commit (about 3 ms here, with writers in a single file): CBT_SQLITE_SYNCHRONOUS.
        cur.execute(f"PRAGMA synchronous={sqlite_synchronous()}")
        # Pages read through a memory map shared by every connection of every worker,
        # rather than copied by a system call into each connection's own page cache.
        cur.execute("PRAGMA mmap_size=268435456")
        cur.close()
