"""Forms of the session pages: sessions, registration, the chair's admissions, the exam
room's settings and proctors, and accommodations."""
from wtforms import (BooleanField, DateTimeLocalField, IntegerField, RadioField, SelectField, SelectMultipleField,
                     StringField, SubmitField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.i18n import get_translations
from wtforms.validators import (DataRequired, InputRequired, Length, NumberRange, Optional,
                                ValidationError)

from ..core.forms import AppForm
from ..models import SESSION_FORMATS
from .room_settings import MAX_EXTRA_MINUTES, MAX_EXTRA_PERCENT, START_MODES


class JaForm(AppForm):
    class Meta:
        # WTForms' own messages (a number or date that does not parse, a bad choice) in
        # Japanese; Flask-WTF would give them in English without Flask-Babel.
        def get_translations(self, form):
            return get_translations(["ja"])


# What a datetime-local input sends (seconds only when a step asks for them); the first
# is also how the value is written back into the input.
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
BAD_DATETIME = "日時を「2025-04-01T09:00」の形で入力してください（日本時間）。"


class InRange(NumberRange):
    """NumberRange that stays quiet when the number did not parse (that error is shown)."""

    def __call__(self, form, field):
        if field.data is not None:
            super().__call__(form, field)


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as the choices WTForms wants (tuples are deprecated)."""
    return [SelectChoice(value, label) for value, label in pairs]


class SessionForm(JaForm):
    title = StringField("名称", validators=[DataRequired(message="名称を入力してください。"),
                                          Length(max=200, message="名称は200文字以内にしてください。")])
    bank_version_id = SelectField("問題バージョン", coerce=int,
                                  validators=[InputRequired(message="問題バージョンを選んでください。")])
    level = SelectField("級位", validators=[InputRequired(message="級位を選んでください。")])
    fiscal_year = SelectField("年度", coerce=int, validators=[InputRequired(message="年度を選んでください。")])
    opens_at = DateTimeLocalField("受検期間（開始）", format=DATETIME_FORMATS, invalid_value_message=BAD_DATETIME,
                                  validators=[InputRequired(message="開始日時を入力してください。")])
    closes_at = DateTimeLocalField("受検期間（終了）", format=DATETIME_FORMATS, invalid_value_message=BAD_DATETIME,
                                   validators=[InputRequired(message="終了日時を入力してください。")])
    duration_minutes = IntegerField("試験時間（分）", validators=[
        Optional(), InRange(min=1, max=600, message="試験時間は1分から600分の間で入力してください。")])
    format = SelectField("方式", choices=options(SESSION_FORMATS.items()),
                         validators=[InputRequired(message="方式を選んでください。")])
    written_max = IntegerField("筆記試験の満点", validators=[
        Optional(), InRange(min=1, max=10000, message="満点は1以上の整数で入力してください。")])
    show_review = BooleanField("認定後、受検者に問題ごとの正誤・正答・解説を表示する")
    submit = SubmitField("保存する")


class RegisterForm(JaForm):
    """Register the checked people, or everyone of one affiliation."""
    staff_id = SelectMultipleField("職員", coerce=int, validate_choice=False)
    # Those of them the committee confirmed to register although they hold the level.
    confirm_held = SelectMultipleField("合格済みの職員", coerce=int, validate_choice=False)
    affiliation_id = IntegerField("所属", validators=[Optional()])


class UnregisterForm(JaForm):
    submit = SubmitField("登録を解除")


class AdmissionForm(JaForm):
    staff_id = SelectField("受検を許可する者", coerce=int, validate_choice=False,
                           validators=[InputRequired(message="許可する者を選んでください。")])
    reason = TextAreaField("理由（受検の希望と必要性）", validators=[
        DataRequired(message="許可の理由を入力してください。"),
        Length(max=2000, message="理由は2000文字以内にしてください。")])
    submit = SubmitField("受検を許可する")


class RevokeForm(JaForm):
    submit = SubmitField("許可を取り消す")


class RoomSettingsForm(JaForm):
    """試験会場の設定. The lists are checked line by line by the room's rules
    (scoring/access.py), beside their fields."""
    start_mode = RadioField("開始の方法", choices=options(START_MODES.items()),
                            validators=[InputRequired(message="開始の方法を選んでください。")])
    access_code = StringField("入室コード", validators=[
        Length(max=32, message="入室コードは32文字以内にしてください。")])
    allowed_networks = TextAreaField("受検を許可するネットワーク（1行に1つ）", validators=[
        Length(max=10000, message="受検を許可するネットワークは10000文字以内にしてください。")])
    seb_config_keys = TextAreaField("Safe Exam Browser の Config Key（1行に1つ）", validators=[
        Length(max=10000, message="Config Key は10000文字以内にしてください。")])
    submit = SubmitField("保存する")


class ProctorForm(JaForm):
    user_id = SelectField("試験監督者", coerce=int, validate_choice=False,
                          validators=[InputRequired(message="割り当てる試験監督者を選んでください。")])
    submit = SubmitField("割り当てる")


class RemoveProctorForm(JaForm):
    submit = SubmitField("割り当てを外す")


class AccommodationForm(JaForm):
    """Extra time (合理的配慮) for one registration; the reason is the committee's."""
    extra_minutes = IntegerField("延長時間（分）", validators=[
        Optional(), InRange(min=0, max=MAX_EXTRA_MINUTES,
                            message=f"延長時間（分）は0〜{MAX_EXTRA_MINUTES}の整数で入力してください。")])
    extra_percent = IntegerField("延長の割合（試験時間に対する%）", validators=[
        Optional(), InRange(min=0, max=MAX_EXTRA_PERCENT,
                            message=f"延長の割合（%%）は0〜{MAX_EXTRA_PERCENT}の整数で入力してください。")])
    reason = TextAreaField("理由（委員会・副委員長・委員長だけが閲覧します）", validators=[
        Length(max=2000, message="理由は2000文字以内にしてください。")])
    submit = SubmitField("保存する")

    def validate_reason(self, field):
        if ((self.extra_minutes.data or 0) > 0 or (self.extra_percent.data or 0) > 0) \
                and not (field.data or "").strip():
            raise ValidationError("延長を設定する場合は理由を入力してください。")
