"""Candidate forms: plain CSRF-carrying forms for the buttons that change state."""
from wtforms import HiddenField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from ..core.forms import AppForm


class StartForm(AppForm):
    # Asked only where the room has one, once: the code the proctor reads out in the room.
    access_code = StringField("入室コード", validators=[Optional(), Length(max=32)],
                              render_kw={"autocomplete": "off", "inputmode": "numeric"})
    submit = SubmitField("入室する")


class SubmitAttemptForm(AppForm):
    submit = SubmitField("解答を提出する")


class PracticeAnswerForm(AppForm):
    question_id = HiddenField(validators=[DataRequired(), Length(max=64)])
    level = HiddenField(validators=[DataRequired(), Length(max=32)])
    topic = HiddenField(validators=[Length(max=64)])
    # Names the shown choice order without revealing it (practice._shown_order).
    order_token = HiddenField(validators=[Length(max=64)])
    submit = SubmitField("解答する")
