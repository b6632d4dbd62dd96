"""Forms of the groups, members and invitations pages (every one refuses in Japanese and
says which field)."""
from __future__ import annotations

import re

from wtforms import BooleanField, PasswordField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (DataRequired, EqualTo, InputRequired, Length, Optional, Regexp,
                                ValidationError)

from ..core.forms import AppForm, JpDateField
from ..models import GROUP_KINDS

# One address, no spaces or angle brackets: enough to refuse a typo; the mail server decides.
EMAIL = Regexp(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$",
               message="メールアドレスの形式が正しくありません（例 name@example.jp）。")
PHONE = Regexp(r"^\+?[0-9][0-9\- ]{5,30}$",
               message="電話番号は数字とハイフンで入力してください（例 052-951-1611）。")
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$")
# A phrase the member chooses: long rather than complicated (NIST SP 800-63B), as long as
# the system's generated passwords for staff.
PASSWORD_MIN = 12


class GroupForm(AppForm):
    name = StringField("団体名", validators=[
        DataRequired("団体名を入力してください。"),
        Length(max=128, message="団体名は128文字以内で入力してください。")])
    kind = SelectField("種別", choices=[SelectChoice(k, v) for k, v in GROUP_KINDS.items()],
                       validate_choice=False)
    # Choices of ids as text, set by the page: a liaison has their own division only.
    division = SelectField("担当所属", validate_choice=False)
    purpose = TextAreaField("活動目的", validators=[
        Length(max=2000, message="活動目的は2000文字以内で入力してください。")])
    active = BooleanField("活動中")
    submit = SubmitField("保存する")

    def validate_kind(self, field):
        if field.data not in GROUP_KINDS:
            raise ValidationError("種別を一覧から選んでください。")

    def validate_division(self, field):
        if field.data not in [c.value for c in field.choices]:
            raise ValidationError("担当所属を一覧から選んでください。")


class ContactForm(AppForm):
    """What a group's leader, or the member themself, may keep up to date."""
    email = StringField("メールアドレス", validators=[
        Optional(), Length(max=254, message="メールアドレスは254文字以内で入力してください。"), EMAIL])
    phone = StringField("電話番号", validators=[Optional(), PHONE])
    strengths = TextAreaField("得意分野", validators=[
        Length(max=1000, message="得意分野は1000文字以内で入力してください。")])
    submit = SubmitField("保存する")


class SelfContactForm(ContactForm):
    publish_consent = BooleanField("賞揚されたときに氏名を公表することに同意する")


class MemberForm(ContactForm):
    """The liaison's form: everything the police keep on a member."""
    name = StringField("氏名", validators=[
        DataRequired("氏名を入力してください。"),
        Length(max=64, message="氏名は64文字以内で入力してください。")])
    name_kana = StringField("ふりがな", validators=[
        Length(max=128, message="ふりがなは128文字以内で入力してください。")])
    organisation = StringField("学校・勤務先", validators=[
        Length(max=128, message="学校・勤務先は128文字以内で入力してください。")])
    joined_on = JpDateField("参加日", validators=[InputRequired("参加日を入力してください。")])
    is_leader = BooleanField("団体の代表者")
    minor = BooleanField("18歳未満")
    publish_consent = BooleanField("賞揚されたときに氏名を公表することに同意している")


class ConsentForm(AppForm):
    guardian_name = StringField("保護者の氏名", validators=[
        DataRequired("保護者の氏名を入力してください。"),
        Length(max=64, message="保護者の氏名は64文字以内で入力してください。")])
    consent_on = JpDateField("同意の日付", validators=[InputRequired("同意の日付を入力してください。")])
    submit = SubmitField("保護者の同意を記録する")


class WithdrawConsentForm(AppForm):
    submit = SubmitField("同意の撤回を記録する")


# Dates: InputRequired, not DataRequired, so that a date that does not parse keeps its own
# message ("日付を正しく入力してください") instead of "enter a date".


class LeaveForm(AppForm):
    left_on = JpDateField("退会日", validators=[InputRequired("退会日を入力してください。")])
    submit = SubmitField("退会を記録する")


class ActionForm(AppForm):
    """A button only (招待リンクの発行・取消し): the CSRF token is the whole form."""
    submit = SubmitField("実行")


class JoinForm(AppForm):
    username = StringField("ユーザーID", validators=[DataRequired("ユーザーIDを入力してください。")])
    password = PasswordField("パスワード", validators=[
        DataRequired("パスワードを入力してください。"),
        Length(min=PASSWORD_MIN, max=256,
               message=f"パスワードは{PASSWORD_MIN}文字以上256文字以内で入力してください。")])
    confirm = PasswordField("パスワード（確認）", validators=[
        DataRequired("確認のため、パスワードをもう一度入力してください。"),
        EqualTo("password", message="確認のパスワードが一致しません。")])
    submit = SubmitField("アカウントを作成する")

    def validate_username(self, field):
        if not USERNAME.match(field.data or ""):
            raise ValidationError("ユーザーIDは半角英数字で始まる3〜32文字で、半角英数字と . _ - が使えます。")

    def validate_password(self, field):
        password = field.data or ""
        if len(set(password)) < 4:
            raise ValidationError("パスワードに同じ文字ばかりを使わないでください。")
        name = (self.username.data or "").lower()
        if name and name in password.lower():
            raise ValidationError("パスワードにユーザーIDを含めないでください。")
