"""Candidate forms: plain CSRF-carrying forms for the buttons that change state."""
from flask_wtf import FlaskForm
from wtforms import SubmitField


class StartForm(FlaskForm):
    submit = SubmitField("受検を開始する")


class SubmitAttemptForm(FlaskForm):
    submit = SubmitField("解答を提出する")
