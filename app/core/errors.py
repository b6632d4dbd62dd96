"""Error pages in Japanese, and JSON errors for the answer API: never a stack trace."""
from __future__ import annotations

import json
import logging
import math

from flask import current_app, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError
from itsdangerous import BadData
from sqlalchemy.exc import DataError, DBAPIError
from werkzeug.exceptions import HTTPException

from ..db.health import DatabaseUnavailable, unavailable
from ..extensions import db

# Each line also carries the request's fields (request_id, method, path, remote_addr,
# user_id: app/core/logs.py); `reason` is the code the client gets.
log = logging.getLogger("cbt.errors")

MESSAGES = {
    400: ("不正なリクエスト", "送信内容を処理できませんでした。画面を再読み込みしてやり直してください。"),
    401: ("ログインが必要です", "ログインの有効期限が切れました。画面を再読み込みして、ログインし直してください。"),
    403: ("権限がありません", "このページを表示する権限がありません。"),
    404: ("ページが見つかりません", "お探しのページは存在しないか、表示できません。"),
    405: ("許可されていない操作", "この操作はできません。"),
    409: ("操作できません", "現在の状態ではこの操作はできません。"),
    413: ("送信内容が大きすぎます", "送信できる大きさを超えています。"),
    429: ("試行回数が多すぎます", "しばらく待ってから再度お試しください。"),
    500: ("システムエラー", "システムでエラーが発生しました。時間をおいて再度お試しください。"),
    503: ("一時的に利用できません", "データベースに一時的に書き込めません。少し待ってからもう一度お試しください。"
                              "解答は自動的に再送信されます。"),
}

# Request JSON deeper than this is refused: no answer needs more than two levels.
MAX_JSON_DEPTH = 32
# The largest integer a browser sends exactly (JavaScript's Number.MAX_SAFE_INTEGER): a
# larger one in a request is not from our pages, and could overflow a database driver.
MAX_JSON_INT = 2 ** 53 - 1


class StrictJSONProvider(DefaultJSONProvider):
    """Request bodies are parsed strictly: anything the standard parser or a database
    driver would choke on later (nesting deep enough to exhaust the stack, lone UTF-16
    surrogates and NUL that the databases cannot store, integers no browser sends,
    NaN/Infinity that JSON does not have) is a ValueError, so
    `request.get_json(silent=True)` gives None and the view answers 400 as for any
    malformed body."""

    def loads(self, s, **kwargs):
        kwargs.setdefault("parse_constant", _refuse_constant)
        kwargs.setdefault("parse_int", _bounded_int)
        kwargs.setdefault("parse_float", _finite_float)
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        _check_json(value)
        return value


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _bounded_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_JSON_INT:
        raise ValueError("integer out of range")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value) or math.isnan(value):
        raise ValueError("number out of range")
    return value


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise ValueError("NUL in a JSON string")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("lone surrogate in a JSON string") from None


def _check_json(value) -> None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, (list, dict)):
            if depth > MAX_JSON_DEPTH:
                raise ValueError("JSON nested too deeply")
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


class _SessionJSON(TaggedJSONSerializer):
    """Flask's session serializer on the standard JSON parser: Flask's own would use app.json,
    whose strictness is for request bodies. A flash message quoting stored text with a NUL
    in it made every later request of that browser fail to read its session (500 until the
    cookie was cleared)."""

    def dumps(self, value) -> str:
        return json.dumps(self.tag(value), separators=(",", ":"), sort_keys=True)

    def loads(self, value: str):
        return json.loads(value, object_hook=self.untag)


class SessionInterface(SecureCookieSessionInterface):
    serializer = _SessionJSON()

    def open_session(self, app, request):
        try:
            return super().open_session(app, request)
        except BadData:
            # Correctly signed but unreadable: start afresh (signed out) rather than answer
            # this browser with a 500 on every request.
            log.warning("unreadable session cookie ignored", extra={"reason": "bad_session"})
            return self.session_class()


def wants_json() -> bool:
    return request.is_json or request.path.endswith("/answers") or \
        request.accept_mimetypes.best == "application/json"


def error_response(status: int, message: str | None = None, code: str | None = None, **extra):
    title, default = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    message = message or default
    if wants_json():
        return jsonify(ok=False, error=code or title, message=message, **extra), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def register(app) -> None:
    app.json = StrictJSONProvider(app)
    app.session_interface = SessionInterface()

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        log.warning("CSRF refused: %s %s", request.method, request.path,
                    extra={"reason": "csrf", "description": exc.description})
        return error_response(400, "画面の有効期限が切れたか、不正な送信です。"
                                   "画面を再読み込みしてからやり直してください。", code="csrf")

    @app.errorhandler(413)
    def too_large(exc):
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        size = f"（上限 {limit // 1024}KB）" if limit else ""
        log.warning("request too large: %s %s", request.method, request.path,
                    extra={"reason": "too_large", "content_length": request.content_length})
        return error_response(413, f"送信内容が大きすぎます{size}。内容を減らしてから送信してください。",
                              code="too_large")

    @app.errorhandler(DataError)
    def data_error(exc):
        # A value the database refuses for its column (a number out of range, say) came
        # from the request as far as the client can tell: a clean 400 and nothing stored.
        # Logged with the trace, since a handler should have refused it earlier.
        db.session.rollback()
        log.warning("database refused a value on %s %s", request.method, request.path,
                    exc_info=exc, extra={"reason": "bad_value"})
        return error_response(400, "送信内容に処理できない値が含まれています。", code="bad_value")

    @app.errorhandler(DBAPIError)
    @app.errorhandler(DatabaseUnavailable)
    def database_error(exc):
        # The connection is gone or cannot write (app/db/health.py): 503, which the exam page
        # retries, with nothing acknowledged; anything else is the usual 500.
        db.session.rollback()
        if not unavailable(exc):
            return unexpected(exc)
        log.error("database unavailable on %s %s", request.method, request.path, exc_info=exc,
                  extra={"reason": "database_unavailable"})
        resp = error_response(503, code="database_unavailable")
        return resp[0], resp[1], {"Retry-After": "5"}

    @app.errorhandler(HTTPException)
    def http_error(exc):
        return error_response(exc.code or 500)

    @app.errorhandler(Exception)
    def unexpected(exc):
        log.exception("unhandled error on %s %s", request.method, request.path,
                      extra={"reason": "unhandled"})
        return error_response(500)
