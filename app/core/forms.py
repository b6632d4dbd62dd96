"""What every form of the app shares: CSRF (Flask-WTF) and the rule on characters
(scoring/controlchars.py), checked for every field before its own validators, so no parser,
query or flash message ever sees a refused character. The search and filter forms sent by
GET are checked here too, on the query string."""
from __future__ import annotations

from flask import abort, flash, request
from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage
from wtforms import DateField, TextAreaField
from wtforms.validators import StopValidation

from scoring import controlchars

from .errors import error_response


def _refuse_control_characters(form, field) -> None:
    multiline = isinstance(field, TextAreaField)
    if multiline and isinstance(field.data, str):
        field.data = controlchars.normalise_newlines(field.data)
    values = [field.data] if isinstance(field.data, str) else list(field.raw_data or [])
    for value in values:
        if isinstance(value, FileStorage):
            # The name the file had on the sender's computer is only kept for the record.
            value.filename = controlchars.scrub(value.filename or "")
            continue
        if not isinstance(value, str):
            continue
        at = controlchars.find_forbidden(value, multiline)
        if at >= 0:
            raise StopValidation(controlchars.message_ja(value[at], field.label.text))


class AppForm(FlaskForm):
    """The base of every form (tests/test_hostile_input.py checks that each one is)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self:
            # First in the chain (a new list: the declared one is shared by every instance).
            field.validators = [_refuse_control_characters, *field.validators]

    def refusal_flashed(self) -> None:
        """For a form posted from a page it redirects back to: a bad CSRF token is a 400,
        any other error is flashed for that page to show."""
        if self.csrf_token.errors:
            abort(400)
        for errors in self.errors.values():
            for e in errors:
                flash(e, "error")


class JpDateField(DateField):
    """A date (the browser's date picker sends YYYY-MM-DD), refused in Japanese."""
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("日付を正しく入力してください（例 2026-04-01）。") from None


def refuse_control_characters_in_query():
    """before_request: a search or filter value with a refused character is a 400."""
    if not request.query_string:
        return None
    for key, value in request.args.items(multi=True):
        if controlchars.find_forbidden(key) >= 0 or controlchars.find_forbidden(value) >= 0:
            return error_response(400, "検索条件（URL）に使用できない制御文字が含まれています。", code="bad_query")
    return None
