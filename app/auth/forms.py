from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField("ユーザーID", validators=[DataRequired("ユーザーIDを入力してください。"),
                                                   Length(max=64)])
    password = PasswordField("パスワード", validators=[DataRequired("パスワードを入力してください。"),
                                                   Length(max=256)])
    submit = SubmitField("ログイン")
