"""Affiliation head forms: CSRF-carrying buttons and the invitation to sit."""
from wtforms import SelectMultipleField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional

from ..core.forms import AppForm


class MarkReadForm(AppForm):
    submit = SubmitField("既読にする")


class InviteForm(AppForm):
    """受検の奨励 (第3-11): the head's chosen staff and a few words of their own."""
    staff_id = SelectMultipleField("職員", coerce=int, validate_choice=False)
    message = TextAreaField("職員へのひとこと（任意）",
                            validators=[Optional(), Length(max=500, message="500文字以内で入力してください。")])
    submit = SubmitField("選択した職員に受検を奨励する")
