"""Training forms: CSRF-carrying buttons and the answer to one question."""
from wtforms import IntegerField, SubmitField
from wtforms.validators import DataRequired, NumberRange
from wtforms.widgets import HiddenInput

from ..core.forms import AppForm


class StartForm(AppForm):
    submit = SubmitField("受講する")


class AnswerForm(AppForm):
    # The question's place in the attempt: a second post of the same answer is recognised.
    position = IntegerField(widget=HiddenInput(), validators=[DataRequired(), NumberRange(min=1, max=100)])
    submit = SubmitField("解答する")
