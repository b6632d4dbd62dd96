from wtforms import SubmitField

from ..core.forms import AppForm


class LoadBanksForm(AppForm):
    submit = SubmitField("現在のファイルを新しいバージョンとして登録")
