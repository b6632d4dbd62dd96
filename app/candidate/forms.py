"""Candidate forms: plain CSRF-carrying forms for the buttons that change state."""
from flask_wtf import FlaskForm
from wtforms import HiddenField, SubmitField
from wtforms.validators import DataRequired, Length


class StartForm(FlaskForm):
    submit = SubmitField("受検を開始する")


class SubmitAttemptForm(FlaskForm):
    submit = SubmitField("解答を提出する")


class PracticeAnswerForm(FlaskForm):
    question_id = HiddenField(validators=[DataRequired(), Length(max=64)])
    level = HiddenField(validators=[DataRequired(), Length(max=32)])
    topic = HiddenField(validators=[Length(max=64)])
    choice_order = HiddenField(validators=[Length(max=200)])
    submit = SubmitField("解答する")
