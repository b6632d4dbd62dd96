from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Regexp

# Control characters (NUL above all: PostgreSQL refuses it in text) never belong in an ID.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*\Z"


class LoginForm(FlaskForm):
    username = StringField("ユーザーID", validators=[
        DataRequired("ユーザーIDを入力してください。"),
        Length(max=64, message="ユーザーIDは64文字以内で入力してください。"),
        Regexp(NO_CONTROL_CHARACTERS, message="ユーザーIDに使用できない文字が含まれています。")])
    password = PasswordField("パスワード", validators=[
        DataRequired("パスワードを入力してください。"),
        Length(max=256, message="パスワードは256文字以内で入力してください。")])
    submit = SubmitField("ログイン")
