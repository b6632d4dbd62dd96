"""Forms of a group's activities, requests (要望), good practice and commendations (賞揚).
Who takes part in an activity is read by activities.py from one checkbox and one minutes
box per member, since the members differ per group."""
from wtforms import BooleanField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (DataRequired, InputRequired, Length, NumberRange, Optional, StopValidation,
                                ValidationError)

from ..core.forms import AppForm, JpDateField
from ..models import ACTIVITY_KINDS, COMMENDATION_KINDS

REQUIRED = "入力してください。"
# One record is one sitting, a day at most: a longer figure is a typo (minutes for hours).
MAX_MINUTES = 24 * 60


def _max(n: int) -> Length:
    return Length(max=n, message=f"{n}文字以内で入力してください。")


class NumberField(IntegerField):
    """A whole number, refused in Japanese with the field's own message (WTForms' is English),
    once: the range check does not repeat it."""
    def __init__(self, label, message: str, **kwargs):
        super().__init__(label, **kwargs)
        self.number_message = message

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(self.number_message) from None

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


class ActivityForm(AppForm):
    kind = SelectField("活動の種類", choices=[SelectChoice(k, v) for k, v in ACTIVITY_KINDS.items()],
                       validate_choice=False)
    held_on = JpDateField("実施日", validators=[InputRequired("実施日を入力してください。")])
    place = StringField("場所", validators=[DataRequired(REQUIRED), _max(128)])
    audience = StringField("対象（例: 地域の高齢者、中学生）", validators=[Optional(), _max(128)])
    participants = NumberField(
        "参加者数（対象となった人の数）", "参加者数を半角数字で入力してください（いなければ 0）。",
        validators=[InputRequired("参加者数を半角数字で入力してください（いなければ 0）。"),
                    NumberRange(0, 100000, "参加者数は0から100000までで入力してください。")])
    minutes = NumberField(
        "活動時間（分）", "活動時間を分単位の半角数字で入力してください（例 90）。",
        validators=[InputRequired("活動時間を分単位の半角数字で入力してください（例 90）。"),
                    NumberRange(1, MAX_MINUTES, f"活動時間は1分から{MAX_MINUTES}分（24時間）までで入力してください。")])
    summary = TextAreaField("活動の概要", validators=[DataRequired(REQUIRED), _max(4000)])
    submit = SubmitField("記録する")

    def validate_kind(self, field):
        if field.data not in ACTIVITY_KINDS:
            raise ValidationError("活動の種類を選んでください。")


class GoodPracticeForm(AppForm):
    note = TextAreaField("好事例としての講評（他の団体にも表示されます）", validators=[Optional(), _max(2000)])
    unmark = BooleanField("好事例の指定を取り消す")
    submit = SubmitField("保存する")


class RequestForm(AppForm):
    subject = StringField("件名", validators=[DataRequired(REQUIRED), _max(128)])
    body = TextAreaField("要望の内容", validators=[DataRequired(REQUIRED), _max(4000)])
    submit = SubmitField("要望を送る")


class AnswerForm(AppForm):
    answer = TextAreaField("回答", validators=[DataRequired(REQUIRED), _max(4000)])
    submit = SubmitField("回答する")


class CommendationForm(AppForm):
    # "group:<id>" or "member:<id>", offered for the groups the recorder may commend.
    target = SelectField("賞揚の対象", choices=[], validate_choice=False)
    kind = SelectField("種類", choices=[SelectChoice(k, v) for k, v in COMMENDATION_KINDS.items()],
                       validate_choice=False)
    awarded_on = JpDateField("授与日", validators=[InputRequired("授与日を入力してください。")])
    awarded_by = StringField("授与者（例: 警察本部長、警察署長）", validators=[DataRequired(REQUIRED), _max(64)])
    reason = TextAreaField("理由", validators=[DataRequired(REQUIRED), _max(2000)])
    submit = SubmitField("記録する")

    def validate_kind(self, field):
        if field.data not in COMMENDATION_KINDS:
            raise ValidationError("種類を選んでください。")


class ConsentForm(AppForm):
    publish = BooleanField("賞揚を受けたとき、公開の「表彰・感謝状」のページに氏名を載せることに同意します")
    submit = SubmitField("保存する")


class ConfirmForm(AppForm):
    """A button that changes something (delete): the CSRF token only."""
    submit = SubmitField("削除する")
