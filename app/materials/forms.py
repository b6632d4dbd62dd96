"""Forms of the materials pages: the material, a quiz question, the liaison's review, a
withdrawal. Limits come from scoring/materials.py; each refusal names its field."""
from __future__ import annotations

from wtforms import BooleanField, HiddenField, IntegerField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from scoring.materials import LIMITS, MAX_CHOICES

from ..core.forms import AppForm


def _limit(label: str, key: str) -> Length:
    return Length(max=LIMITS[key], message=f"{label}は{LIMITS[key]}文字以内で入力してください。")


class MaterialForm(AppForm):
    kind = RadioField("種類", choices=[SelectChoice("quiz", "クイズ（2〜4択の問題と解説）"),
                                      SelectChoice("handout", "配布資料（文章）")], default="quiz",
                       validate_choice=False)     # checked by the page, in Japanese
    title = StringField("題名", validators=[DataRequired("題名を入力してください。"), _limit("題名", "title")])
    audience = StringField("対象", validators=[Optional(), _limit("対象", "audience")],
                           description="例: 地域の高齢者、中学生と保護者")
    body = TextAreaField("本文", validators=[Optional(), _limit("本文", "body")],
                         description="Markdown が使えます（# 見出し、- 箇条書き、**強調**）。HTML は表示されません。")
    credits = TextAreaField("出典・クレジット", validators=[Optional(), _limit("出典・クレジット", "credits")],
                            description="引用した文章や画像の出典・作者・利用条件。なければ「なし」。")
    submit = SubmitField("保存する")


class QuestionForm(AppForm):
    stem = TextAreaField("問題文", validators=[DataRequired("問題文を入力してください。"), _limit("問題文", "stem")],
                         description="Markdown が使えます。")
    choice1 = StringField("選択肢1", validators=[_limit("選択肢1", "choice")])
    choice2 = StringField("選択肢2", validators=[_limit("選択肢2", "choice")])
    choice3 = StringField("選択肢3（任意）", validators=[_limit("選択肢3", "choice")])
    choice4 = StringField("選択肢4（任意）", validators=[_limit("選択肢4", "choice")])
    answer = RadioField("正解", choices=[SelectChoice(str(i), f"選択肢{i + 1}が正解") for i in range(MAX_CHOICES)],
                        validate_choice=False,     # checked by scoring.materials, in Japanese
                        validators=[InputRequired("正解の選択肢を選んでください。")])
    explanation = TextAreaField("解説", validators=[DataRequired("解説を入力してください。"),
                                                  _limit("解説", "explanation")],
                                description="回答した人に、答えのすぐ後で表示されます。")
    source = TextAreaField("出典・参考", validators=[DataRequired("出典・参考を入力してください。"),
                                                  _limit("出典・参考", "source")],
                           description="根拠にした公的機関の資料やページ（名称とURL）。")
    submit = SubmitField("問題を保存する")

    def choice_fields(self):
        return [self.choice1, self.choice2, self.choice3, self.choice4]


class ActionForm(AppForm):
    """A button that changes something: the CSRF token only."""


class MoveForm(AppForm):
    step = IntegerField(validators=[InputRequired()])


class WithdrawForm(AppForm):
    reason = TextAreaField("取下げの理由", validators=[DataRequired("取下げの理由を入力してください。"),
                                                    _limit("取下げの理由", "reason")])
    submit = SubmitField("取り下げる")


class ReviewForm(AppForm):
    revision = HiddenField()
    overall = TextAreaField("資料全体へのコメント", validators=[Optional(), _limit("資料全体へのコメント", "comment")])
    accuracy = BooleanField("正確性: 内容が正確で、最新の公的な情報と合っていることを確認した")
    copyright = BooleanField("著作権・出典: 引用や画像の出典が示され、著作権を侵害していないことを確認した")
    save = SubmitField("コメントだけ保存する")
    send_back = SubmitField("差し戻す")
    approve = SubmitField("承認する")


def review_form(question_keys: list[str], formdata=None) -> ReviewForm:
    """The review form with a comment field per question (comment_q1...)."""
    class Form(ReviewForm):
        pass
    for number, key in enumerate(question_keys, start=1):
        label = f"第{number}問へのコメント"
        setattr(Form, f"comment_{key}", TextAreaField(label, validators=[Optional(), _limit(label, "comment")]))
    return Form(formdata=formdata) if formdata is not None else Form()
