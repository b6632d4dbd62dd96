"""Affiliation head forms: CSRF-carrying buttons."""
from wtforms import SubmitField

from ..core.forms import AppForm


class MarkReadForm(AppForm):
    submit = SubmitField("既読にする")
