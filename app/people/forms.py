"""Secretariat forms. Field values are parsed by scoring/people.py, the same parsers the CSV
import uses, so a record typed in the browser and one imported obey one set of rules."""
from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, HiddenField, SelectField, SelectMultipleField, StringField,
                     SubmitField, ValidationError)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from scoring import people as parse
from scoring.jpdate import to_jst

from ..core.forms import AppForm, JpDateField
from ..models import APPOINTED_ROLES, EMPLOYMENT_CATEGORIES, INVITED_ROLES, ROLE_NAMES, ROLES, utcnow

NONE = 0          # the "（なし）" choice of an optional select


def _parser(fn):
    """A WTForms validator from a scoring.people parser; the parsed value is kept on the form."""
    def validate(form, fld):
        if not fld.data:
            return
        try:
            form.parsed[fld.name] = fn(fld.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
    return validate


class _ParsedForm(AppForm):
    def __init__(self, *args, **kwargs):
        self.parsed: dict = {}
        super().__init__(*args, **kwargs)


class AffiliationForm(_ParsedForm):
    code = StringField("所属コード", validators=[DataRequired("所属コードを入力してください。"),
                                                _parser(parse.parse_affiliation_code)])
    name = StringField("所属名", validators=[DataRequired("所属名を入力してください。"),
                                            _parser(parse.parse_affiliation_name)])
    # Choices are checked by the operation, which says why in Japanese.
    head = SelectField("所属の長", coerce=int, default=NONE, validate_choice=False)
    active = BooleanField("有効（一覧や取込みで選べる）", default=True)
    submit = SubmitField("保存する")


def _jst_today():
    return to_jst(utcnow()).date()


class StaffForm(_ParsedForm):
    staff_number = StringField("職員番号", validators=[DataRequired("職員番号を入力してください。"),
                                                    _parser(parse.parse_staff_number)])
    name_kanji = StringField("氏名（漢字）", validators=[DataRequired("氏名を入力してください。"),
                                                     _parser(parse.parse_name_kanji)])
    name_kana = StringField("ふりがな", validators=[DataRequired("ふりがなを入力してください。"),
                                                _parser(parse.parse_name_kana)])
    birth_date = StringField("生年月日", validators=[
        DataRequired("生年月日を入力してください。"),
        _parser(lambda s: parse.parse_birth_date(s, _jst_today()))],
        description="西暦（1990-04-01）でも和暦（平成2年4月1日、H2.4.1）でも入力できます。")
    post = StringField("官職（階級）", validators=[DataRequired("官職（階級）を入力してください。"),
                                               _parser(parse.parse_post)])
    affiliation = SelectField("所属", coerce=int, default=NONE, validate_choice=False)
    employment_category = SelectField("勤務形態", choices=[SelectChoice(c, c) for c in EMPLOYMENT_CATEGORIES],
                                      validate_choice=False)
    email = StringField("メールアドレス（任意）", validators=[Optional(), _parser(parse.parse_email)])
    submit = SubmitField("保存する")


class CreateLoginForm(AppForm):
    username = StringField("ユーザーID（空欄なら職員番号）", validators=[Optional(), Length(max=64, message="64文字以内で入力してください。")])
    submit = SubmitField("ログインアカウントを作成する")


class LinkLoginForm(AppForm):
    username = StringField("既存のユーザーID", validators=[DataRequired("ユーザーIDを入力してください。"),
                                                       Length(max=64, message="64文字以内で入力してください。")])
    submit = SubmitField("このアカウントと紐付ける")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserRolesForm(AppForm):
    # Appointed roles are not here: they follow appointments (app/people/appointments.py).
    roles = MultiCheckboxField("役割", choices=[SelectChoice(r, ROLE_NAMES[r]) for r in ROLES
                                              if r not in APPOINTED_ROLES + INVITED_ROLES],
                               validate_choice=False)
    active = BooleanField("利用可能（オフにするとログインできません）")
    submit = SubmitField("保存する")


class AppointForm(AppForm):
    user = StringField("ユーザーID又は職員番号", validators=[DataRequired("任命する人のユーザーID又は職員番号を入力してください。"),
                                                     Length(max=64, message="64文字以内で入力してください。")])
    # Choices are checked by the operation, which says why in Japanese.
    role = SelectField("役割", choices=[SelectChoice("", "（選んでください）")] + [
        SelectChoice(r, ROLE_NAMES[r]) for r in APPOINTED_ROLES], validate_choice=False,
        validators=[DataRequired("役割を選んでください。")])
    started_on = JpDateField("任命日", validators=[Optional()], description="空欄なら今日。発令の日付が過去なら、その日を入力します。")
    note = StringField("根拠・備考（任意）", validators=[Optional(), Length(max=500, message="500文字以内で入力してください。")],
                       description="例: 令和8年4月1日付け人事異動、委員会での指名")
    submit = SubmitField("任命を記録する")


class EndAppointmentForm(AppForm):
    ended_on = JpDateField("終了日", validators=[Optional()], description="空欄なら今日。")
    reason = StringField("終了の理由", validators=[DataRequired("終了の理由を入力してください。"),
                                                 Length(max=500, message="500文字以内で入力してください。")])
    submit = SubmitField("任命の終了を記録する")


class ResetPasswordForm(AppForm):
    submit = SubmitField("パスワードを再発行する")


class UploadForm(AppForm):
    file = FileField("CSVファイル", validators=[FileRequired("CSVファイルを選んでください。")])
    submit = SubmitField("内容を確認する")


class ConfirmImportForm(AppForm):
    payload = HiddenField(validators=[DataRequired()])
    fingerprint = HiddenField(validators=[DataRequired(), Length(max=64)])
    filename = HiddenField(validators=[Length(max=255)])
    submit = SubmitField("この内容で取り込む")
