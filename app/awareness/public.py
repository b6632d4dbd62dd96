"""The participants' pages: no sign-in and no personal data. A participant is a random
token kept in the session cookie the site already sets (for its forms), so one person is
counted once; nothing else about them is stored or sent anywhere."""
from __future__ import annotations

from flask import redirect, render_template, request, session, url_for

from ..extensions import db
from ..models import AwarenessEvent
from . import operations, public_bp
from .forms import AnswerForm, StartForm

# The tokens of the few events this browser answered lately (a hall, then another hall).
KEPT_EVENTS = 5

UNKNOWN = "このコードのクイズは見つかりません。数字を確かめて、もう一度入力してください。"
CLOSED = "このクイズは終了しました。ご参加ありがとうございました。"


def _token(event: AwarenessEvent) -> str | None:
    return (session.get("aw") or {}).get(str(event.id))


def _keep(event: AwarenessEvent, token: str) -> None:
    kept = {k: v for k, v in (session.get("aw") or {}).items() if k != str(event.id)}
    kept = dict(list(kept.items())[-(KEPT_EVENTS - 1):])
    kept[str(event.id)] = token
    session["aw"] = kept


def _entry(message: str | None = None, status: int = 200, code: str = ""):
    return render_template("awareness/public_entry.html", message=message, code=code), status


def _open_event(code: str):
    """(event, None) for an open event; (None, refusal page) otherwise."""
    event = operations.find_by_code(code)
    if event is None:
        return None, _entry(UNKNOWN, 404, code[:16])
    if not event.is_open:
        return None, _entry(CLOSED, 410)
    return event, None


@public_bp.route("/")
def enter():
    """One input: the code read out in the hall (or typed from the handout)."""
    code = request.args.get("code")
    if code is None:
        return _entry()
    if not code.strip():
        return _entry("参加コードを入力してください。", 400)
    event, refusal = _open_event(code)
    if refusal:
        return refusal
    return redirect(url_for("quiz.start", code=event.code))


@public_bp.route("/<code>", methods=["GET", "POST"])
def start(code: str):
    event, refusal = _open_event(code)
    if refusal:
        return refusal
    form = StartForm()
    if request.method == "POST" and form.validate_on_submit():
        participant = operations.start(event, _token(event))
        db.session.commit()
        _keep(event, participant.token)
        answered = operations.answers_of(participant)
        following = next((i for i in range(len(event.questions)) if i not in answered), None)
        if following is None:
            return redirect(url_for("quiz.result", code=event.code))
        return redirect(url_for("quiz.question", code=event.code, number=following + 1))
    return render_template("awareness/public_start.html", event=event, form=form,
                           total=len(event.questions),
                           resuming=operations.participant_of(event, _token(event)) is not None)


@public_bp.route("/<code>/<int:number>", methods=["GET", "POST"])
def question(code: str, number: int):
    event, refusal = _open_event(code)
    if refusal:
        return refusal
    participant = operations.participant_of(event, _token(event))
    questions = event.questions
    if participant is None or not 1 <= number <= len(questions):
        return redirect(url_for("quiz.start", code=event.code))
    position = number - 1
    q = questions[position]
    form = AnswerForm()
    error = None
    if request.method == "POST":
        if form.validate_on_submit() and 0 <= form.choice.data < len(q["choices"]):
            operations.answer(event, participant, position, form.choice.data)
            db.session.commit()
            return redirect(url_for("quiz.question", code=event.code, number=number))
        error = "答えをひとつ選んで、ボタンを押してください。"
    given = operations.answers_of(participant).get(position)
    return render_template("awareness/public_question.html", event=event, q=q, number=number,
                           total=len(questions), given=given, form=form, error=error), \
        400 if error else 200


@public_bp.route("/<code>/result")
def result(code: str):
    """The number right and where to get help; still shown once the event has closed."""
    event = operations.find_by_code(code)
    if event is None:
        return _entry(UNKNOWN, 404, code[:16])
    participant = operations.participant_of(event, _token(event))
    if participant is None:
        return redirect(url_for("quiz.start", code=event.code)) if event.is_open else _entry(CLOSED, 410)
    answers = operations.answers_of(participant)
    return render_template("awareness/public_result.html", event=event,
                           right=sum(a.correct for a in answers.values()),
                           answered=len(answers), total=len(event.questions))
