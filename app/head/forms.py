"""Affiliation head forms: CSRF-carrying buttons."""
from flask_wtf import FlaskForm
from wtforms import SubmitField


class MarkReadForm(FlaskForm):
    submit = SubmitField("既読にする")
