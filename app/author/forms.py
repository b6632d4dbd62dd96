from flask_wtf import FlaskForm
from wtforms import SubmitField


class LoadBanksForm(FlaskForm):
    submit = SubmitField("現在のファイルを新しいバージョンとして登録")
