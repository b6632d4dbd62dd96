"""Forms of the awareness pages: a new event, its closing, and a participant's answer."""
from wtforms import BooleanField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..core.forms import AppForm, JpDateField
from ..sessions.forms import InRange, JaForm


class EventForm(JaForm):
    group_id = SelectField("団体", coerce=int, validators=[InputRequired(message="団体を選んでください。")])
    source = SelectField("クイズ", validators=[InputRequired(message="クイズを選んでください。")])
    held_on = JpDateField("実施日", validators=[InputRequired(message="実施日を入力してください。")])
    place = StringField("場所", validators=[DataRequired(message="場所を入力してください（例 〇〇地区公民館）。"),
                                          Length(max=128, message="場所は128文字以内にしてください。")])
    audience = StringField("対象", validators=[DataRequired(message="対象を入力してください（例 地域の高齢者）。"),
                                             Length(max=128, message="対象は128文字以内にしてください。")])
    minutes = IntegerField("活動時間（分）", validators=[
        Optional(), InRange(min=1, max=600, message="活動時間は1〜600分で入力してください。")])
    submit = SubmitField("作成してコードを発行")


class CloseForm(AppForm):
    record = BooleanField("活動実績（広報啓発活動）として記録する", default=True)
    minutes = IntegerField("活動時間（分）", validators=[
        InputRequired(message="活動時間を入力してください。"),
        NumberRange(min=1, max=600, message="活動時間は1〜600分で入力してください。")])
    submit = SubmitField("終了する")


class StartForm(AppForm):
    submit = SubmitField("はじめる")


class AnswerForm(AppForm):
    choice = IntegerField("答え", validators=[InputRequired(message="答えを選んでください。")])
