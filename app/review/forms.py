"""Forms of the scored-sheet review: CSRF-carrying buttons, the correction, the written part."""
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..core.forms import AppForm, JpDateField
from ..models import PROCEDURES


class CertifyForm(AppForm):
    """The sheets come as checkboxes named `attempt` (CBT sheets) and `written` (written
    scores of people without a sheet), and the committee members who took part in the
    decision as checkboxes named `member`: variable lists, read from the request."""
    # The choice is checked by the operation, which says why in Japanese.
    procedure = RadioField("委員会の決定の方法", choices=PROCEDURES, default="meeting", validate_choice=False)
    held_on = JpDateField("会議の日付（書面の場合は決定の日付）",
                          # InputRequired, not DataRequired: that one would hide the date's own error.
                          validators=[InputRequired(message="会議（書面の場合は決定）の日付を入力してください。")])
    certify = SubmitField("選択した答案を認定する")
    all_passing = SubmitField("合格の答案をすべて認定する")


class CorrectionForm(AppForm):
    question_id = SelectField("問題", validators=[DataRequired()], validate_choice=True)
    action = RadioField("訂正の種類", choices={"void": "問題を無効にする（全員の採点から除外）",
                                              "rekey": "正答を訂正する"},
                        validators=[DataRequired(message="訂正の種類を選んでください。")])
    answer = StringField("訂正後の正答", validators=[Optional(), Length(max=500)],
                         description="単一選択: 記号（例 b）、複数選択: カンマ区切り（例 a,c）、"
                                     "正誤: 正 または 誤、記述: 正答を | で区切る")
    reason = TextAreaField("理由", validators=[DataRequired(message="訂正の理由を入力してください。"),
                                             Length(max=2000)])
    submit = SubmitField("訂正して再採点する")


class RegradeForm(AppForm):
    submit = SubmitField("この実施回の答案をすべて再採点する")


class WrittenScoresForm(AppForm):
    """The scores come as fields named `score-<staff id>` (one per candidate)."""
    submit = SubmitField("筆記試験の得点を保存する")


class WrittenImportForm(AppForm):
    file = FileField("CSVファイル（列: staff_number,score）",
                     validators=[FileRequired(message="CSVファイルを選んでください。")])
    submit = SubmitField("取り込む")


class RevokeCertificationForm(AppForm):
    """Revoking one certification: the reason is required and stays on record."""
    reason = TextAreaField("取消の理由", validators=[DataRequired(message="認定を取り消す理由を入力してください。"),
                                                Length(max=2000)])
    submit = SubmitField("認定を取り消す")
