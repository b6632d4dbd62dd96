from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from ..core.forms import AppForm


class LoginForm(AppForm):
    username = StringField("ユーザーID", validators=[
        DataRequired("ユーザーIDを入力してください。"),
        Length(max=64, message="ユーザーIDは64文字以内で入力してください。")])
    password = PasswordField("パスワード", validators=[
        DataRequired("パスワードを入力してください。"),
        Length(max=256, message="パスワードは256文字以内で入力してください。")])
    submit = SubmitField("ログイン")
