"""The liaison's forms: issue a completion or an activity certificate, revoke one."""
from __future__ import annotations

from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from ..core.forms import AppForm, JpDateField


class RecordField(SelectField):
    """A record chosen by its id; anything else is refused in Japanese."""
    def __init__(self, label, **kwargs):
        # The choices are checked by the operation (a record of another division is refused
        # and logged), not by WTForms, whose refusal would be in English.
        super().__init__(label, coerce=int, validate_choice=False, **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(f"{self.label.text}を一覧から選んでください。") from None


class CompletionForm(AppForm):
    completion = RecordField("修了した研修",
                             validators=[InputRequired("修了した研修を選んでください。")])


class ActivityForm(AppForm):
    member = RecordField("参加者", validators=[InputRequired("参加者を選んでください。")])
    # InputRequired, not DataRequired: that one would hide the date's own error.
    period_from = JpDateField("期間の開始日", validators=[InputRequired("期間の開始日を入力してください。")])
    period_to = JpDateField("期間の終了日", validators=[InputRequired("期間の終了日を入力してください。")])


class RevokeForm(AppForm):
    reason = TextAreaField("失効の理由", validators=[
        DataRequired("失効の理由を入力してください。"),
        Length(max=500, message="失効の理由は500文字以内で入力してください。")])
