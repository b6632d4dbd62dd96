"""Error pages in Japanese, and JSON errors for the answer API: never a stack trace."""
from __future__ import annotations

import logging

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("cbt.errors")

MESSAGES = {
    400: ("不正なリクエスト", "送信内容を処理できませんでした。画面を再読み込みしてやり直してください。"),
    403: ("権限がありません", "このページを表示する権限がありません。"),
    404: ("ページが見つかりません", "お探しのページは存在しないか、表示できません。"),
    405: ("許可されていない操作", "この操作はできません。"),
    409: ("操作できません", "現在の状態ではこの操作はできません。"),
    413: ("送信内容が大きすぎます", "送信できる大きさを超えています。"),
    429: ("試行回数が多すぎます", "しばらく待ってから再度お試しください。"),
    500: ("システムエラー", "システムでエラーが発生しました。時間をおいて再度お試しください。"),
}


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
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        log.warning("CSRF refused: %s %s: %s", request.method, request.path, exc.description)
        return error_response(400, "画面の有効期限が切れたか、不正な送信です。"
                                   "画面を再読み込みしてからやり直してください。", code="csrf")

    @app.errorhandler(HTTPException)
    def http_error(exc):
        return error_response(exc.code or 500)

    @app.errorhandler(Exception)
    def unexpected(exc):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500)
