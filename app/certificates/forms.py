"""The liaison's forms: issue a completion or an activity certificate, revoke one."""
from __future__ import annotations

from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from ..core.forms import AppForm, JpDateField


class CompletionForm(AppForm):
    completion = SelectField("修了した研修", coerce=int,
                             validators=[InputRequired("修了した研修を選んでください。")])


class ActivityForm(AppForm):
    member = SelectField("参加者", coerce=int, validators=[InputRequired("参加者を選んでください。")])
    period_from = JpDateField("期間の開始日", validators=[DataRequired("期間の開始日を入力してください。")])
    period_to = JpDateField("期間の終了日", validators=[DataRequired("期間の終了日を入力してください。")])


class RevokeForm(AppForm):
    reason = TextAreaField("失効の理由", validators=[
        DataRequired("失効の理由を入力してください。"),
        Length(max=500, message="失効の理由は500文字以内で入力してください。")])
