"""Logs: one JSON object per line on stderr (LOG_FORMAT=json, what `cbt serve` uses), or
plain text for a terminal (LOG_FORMAT=text, the default elsewhere: `flask run`, the tests).

Every line has `ts` (ISO-8601, UTC), `level`, `logger` and `msg`, then the record's own
fields (`extra=`). Within a request, the app's lines also carry `request_id`, `method`,
`path`, `remote_addr` and `user_id` (when the request already loaded its user: reading it
never costs a query). gunicorn's error and access logs use the same format through
GunicornLogger; its access line (one per request, the only one: the app writes none of its
own) carries `method`, `path`, `status`, `duration_ms`, `bytes`, `remote_addr`,
`request_id`, `user_id`, `user_agent`. The query string is left out: search forms put names
in it, and names are personal data.

The request id comes from a reverse proxy's `X-Request-ID` when it looks like one (up to
128 characters of letters, digits and ``-_.:=+/@``), else it is made here; either way it is
sent back in the response's `X-Request-ID`, so a proxy's log, the access line and the
app's lines of one request can be joined."""
from __future__ import annotations

import logging
import os
import re
import sys
import time
import traceback

from flask import Flask, g, has_request_context, request
from gunicorn import glogging
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter
from sqlalchemy import inspect as sa_inspect

FORMATS = ("json", "text")
REQUEST_ID_HEADER = "X-Request-ID"
# Set on the WSGI environ by the app, read by GunicornLogger.access (same dict, no lookups).
ENVIRON_REQUEST_ID = "cbt.request_id"
ENVIRON_USER_ID = "cbt.user_id"
_GOOD_REQUEST_ID = re.compile(r"[A-Za-z0-9._:=+/@-]{1,128}")
_RESERVED = frozenset(RESERVED_ATTRS) | {"taskName"}


def _iso_utc(created: float, msecs: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(msecs):03d}Z"


class JsonFormatter(_LibraryJsonFormatter):
    """python-json-logger with this project's field names, `ts` first."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s %(message)s",
                         rename_fields={"levelname": "level", "name": "logger", "message": "msg"})

    def add_fields(self, log_data, record, message_dict) -> None:
        log_data["ts"] = _iso_utc(record.created, record.msecs)
        super().add_fields(log_data, record, message_dict)


class TextFormatter(logging.Formatter):
    """A line for a terminal: time, level, logger, message, then the record's fields as
    key=value (the same fields the JSON line has). An access line is short: time, method,
    path, status, duration and user id; the JSON line has everything."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        if record.name == "gunicorn.access" and hasattr(record, "duration_ms"):
            user = getattr(record, "user_id", None)
            return (f"{record.asctime} {record.getMessage()} {record.duration_ms:.0f} ms"
                    + (f" user={user}" if user is not None else ""))
        line = super().formatMessage(record)
        fields = " ".join(f"{k}={v}" for k, v in record.__dict__.items()
                          if k not in _RESERVED and not k.startswith("_") and v is not None)
        return f"{line} {fields}" if fields else line


def make_formatter(fmt: str) -> logging.Formatter:
    if fmt not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return JsonFormatter() if fmt == "json" else TextFormatter()


def current_user_id() -> int | None:
    """The signed-in user's id if this request has loaded its user; never a query. For an
    ORM object the identity key is read (an object expired by a commit is not refreshed);
    any other user object is read as it is (the anonymous user has no id)."""
    user = g.get("_login_user")              # where Flask-Login keeps the loaded user
    if user is None:
        return None
    state = sa_inspect(user, raiseerr=False)
    if state is None:
        return getattr(user, "id", None)
    return state.identity[0] if state.identity else None


class RequestFields(logging.Filter):
    """Adds the request's fields to every record written inside a request (a field the
    record already has, from `extra=`, is kept)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            d = record.__dict__
            if d.get("request_id") is None:
                d["request_id"] = g.get("request_id")
            d.setdefault("method", request.method)
            d.setdefault("path", request.path)
            d.setdefault("remote_addr", request.remote_addr)
            if d.get("user_id") is None:
                d["user_id"] = current_user_id()
        return True


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record comes (test runners swap it)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr


def make_handler(fmt: str) -> logging.Handler:
    handler = StderrHandler()
    handler.setFormatter(make_formatter(fmt))
    handler.addFilter(RequestFields())
    handler._cbt = True
    return handler


def install_handler(fmt: str) -> None:
    """One handler on the root logger, replacing the one an earlier app put there (the
    logging module is per process: the last app made decides the format)."""
    handler = make_handler(fmt)
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, "_cbt", False)]:
        root.removeHandler(h)
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)


def configure_logging(app: Flask) -> None:
    """The root handler in the app's LOG_FORMAT, and the request id hooks on the app."""
    install_handler(str(app.config.get("LOG_FORMAT") or "text").strip().lower())
    # Flask adds its own stderr handler to app.logger when no handler is above it: ours is.
    from flask.logging import default_handler
    app.logger.removeHandler(default_handler)

    # Every request runs these two (a few microseconds: each proxy is looked up once).
    @app.before_request
    def request_id():
        environ = request.environ
        rid = environ.get("HTTP_X_REQUEST_ID")
        if not rid or not _GOOD_REQUEST_ID.fullmatch(rid):
            rid = os.urandom(16).hex()
        g.request_id = environ[ENVIRON_REQUEST_ID] = rid

    @app.after_request
    def send_request_id(resp):
        ctx = g._get_current_object()
        rid = getattr(ctx, "request_id", None)
        if rid:
            resp.headers[REQUEST_ID_HEADER] = rid
        if getattr(ctx, "_login_user", None) is not None:
            request.environ[ENVIRON_USER_ID] = current_user_id()
        return resp


# What `--access-log quiet` leaves out when it succeeds: static files and the requests an
# open exam or room page makes by itself every few seconds. Pages, form posts and every
# refusal or error are still written.
_BACKGROUND_SUFFIXES = ("/pulse", "/state", "/position", "/answers")
_BACKGROUND_PATHS = frozenset({"/healthz", "/readyz", "/favicon.ico"})


def background_request(path: str) -> bool:
    return (path.startswith("/static/") or path in _BACKGROUND_PATHS
            or path.endswith(_BACKGROUND_SUFFIXES))


class GunicornLogger(glogging.Logger):
    """gunicorn's logs in the app's format (LOG_FORMAT, json unless set), on stderr.

    Why a logger class rather than `access_log_format`: gunicorn fills that template
    without JSON escaping (only `"` is escaped, so a backslash or a decoded control
    character in a path breaks the line), and it builds a dict of every header and environ
    variable per request to do it. Here the access line is one log call with the fields
    taken straight from the environ, formatted by python-json-logger."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        self._quiet = (os.environ.get("CBT_ACCESS_LOG") or "full").strip().lower() == "quiet"
        formatter = make_formatter((os.environ.get("LOG_FORMAT") or "json").strip().lower())
        for log in (self.error_log, self.access_log):
            for h in log.handlers:
                if getattr(h, "_gunicorn", False):
                    h.setFormatter(formatter)
                    if type(h) is logging.StreamHandler and h.stream is sys.stdout:
                        h.setStream(sys.stderr)      # "-": every line on stderr

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        try:
            status = resp.status
            if isinstance(status, str):
                status = status.split(None, 1)[0]
            status = int(status)
            method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
            if status < 400 and self._quiet and background_request(path or ""):
                return
            self.access_log.info("%s %s %s", method, path, status, extra={
                "method": method, "path": path, "status": status,
                "duration_ms": (request_time.seconds * 1_000_000 + request_time.microseconds) / 1000,
                "bytes": getattr(resp, "sent", None),
                "remote_addr": environ.get("REMOTE_ADDR"),
                "request_id": environ.get(ENVIRON_REQUEST_ID) or environ.get("HTTP_X_REQUEST_ID"),
                "user_id": environ.get(ENVIRON_USER_ID),
                "user_agent": environ.get("HTTP_USER_AGENT"),
            })
        except Exception:
            self.error(traceback.format_exc())
