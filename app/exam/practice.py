"""Practice mode for candidates: practice-pool questions with immediate feedback."""
from __future__ import annotations

import hashlib
import hmac
import json
import random
import secrets

from flask import abort, current_app, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from scoring.choice_positions import to_keys
from scoring.grading import ResponseError, coerce_response, grade
from scoring.practice import pick, practice_pool, progress

from ..auth.routes import role_required
from ..banks.versions import current_version, snapshot
from ..core.errors import error_response
from ..extensions import db
from ..models import PracticeAnswer
from . import bp
from .forms import PracticeAnswerForm


def _bank():
    version = current_version()
    if version is None:
        abort(404)
    blueprint, questions = snapshot(version)
    return version, blueprint, questions


def _history(level: str | None = None):
    q = select(PracticeAnswer).where(PracticeAnswer.user_id == current_user.id)
    if level:
        q = q.where(PracticeAnswer.level == level)
    return list(db.session.scalars(q.order_by(PracticeAnswer.id)))


@bp.get("/practice/")
@role_required("candidate")
def practice_home():
    _version, blueprint, questions = _bank()
    levels = []
    for key, lv in blueprint.levels.items():
        pool = practice_pool(blueprint, questions, key)
        if not pool:
            continue
        history = [(a.topic, a.correct, a.created_at.date()) for a in _history(key)]
        rows = progress(history, list(lv.topics))
        counts = {t: sum(1 for q in pool if q.topic == t) for t in lv.topics}
        levels.append({"key": key, "level": lv, "rows": [r for r in rows if counts[r.topic]],
                       "counts": counts})
    return render_template("candidate/practice_home.html", levels=levels, blueprint=blueprint)


@bp.get("/practice/question")
@role_required("candidate")
def practice_question():
    version, blueprint, questions = _bank()
    level, topic = request.args.get("level", ""), request.args.get("topic") or None
    pool = practice_pool(blueprint, questions, level, topic)
    if not pool:
        return error_response(404, "この級位・分野の練習問題はありません。")
    recent = {a.question_id for a in _history(level)[-max(1, len(pool) // 2):]}
    q = pick(pool, random.Random(), recent)
    token = secrets.token_urlsafe(16)
    item = {"position": 1, "q": q, "choices": _choices(q, _shown_order(q, token)), "response": None}
    form = PracticeAnswerForm(question_id=q.id, level=level, topic=topic or "", order_token=token)
    return render_template("candidate/practice_question.html", it=item, q=q, form=form,
                           blueprint=blueprint, level=level, topic=topic, feedback=None)


def _shown_order(q, token: str) -> list[str]:
    """The choice keys in the order shown with this token. The page posts choices by
    position, so the server must know the order it showed, and the page must not: the order
    comes from the token and the app's secret, which the page carries and cannot read."""
    keys = [c.key for c in q.choices]
    if q.shuffle:
        secret = current_app.secret_key
        secret = secret.encode() if isinstance(secret, str) else secret
        message = f"practice-order\0{q.id}\0{token}".encode()
        random.Random(hmac.new(secret, message, hashlib.sha256).digest()).shuffle(keys)
    return keys


def _choices(q, order: list[str]):
    by_key = {c.key: c for c in q.choices}
    return [by_key[k] for k in order]


def _position(value: str):
    """A posted choice position as a number; anything else stays as sent, to be refused."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 3 else value


def _read_response(q, form_data):
    name = "r1"
    if q.type == "multiple":
        return [_position(v) for v in form_data.getlist(name)] or None
    value = form_data.get(name)
    if value is None:
        return None
    if q.type == "single":
        return _position(value)
    if q.type == "true_false":
        return {"true": True, "false": False}.get(value, value)
    return value


@bp.post("/practice/answer")
@role_required("candidate")
def practice_answer():
    version, blueprint, questions = _bank()
    form = PracticeAnswerForm()
    if not form.validate_on_submit():
        abort(400)
    q = questions.get(form.question_id.data)
    level = form.level.data
    # Only practice-pool questions can be answered here: exam items never leak through.
    if q is None or q not in practice_pool(blueprint, questions, level):
        return error_response(404, "この練習問題は見つかりません。")
    order = _shown_order(q, form.order_token.data or "")
    try:
        response = coerce_response(q.type, [c.key for c in q.choices],
                                   to_keys(q.type, order, _read_response(q, request.form)))
    except ResponseError as exc:
        return error_response(400, str(exc))
    ok = grade(q.type, q.answer, response)
    db.session.add(PracticeAnswer(user_id=current_user.id, bank_version_id=version.id,
                                  question_id=q.id, level=level, topic=q.topic, correct=ok,
                                  response_json=None if response is None else json.dumps(response, ensure_ascii=False)))
    db.session.commit()
    item = {"position": 1, "q": q, "choices": _choices(q, order), "response": response}
    keyed = set(q.answer) if q.type == "multiple" else {q.answer}
    next_url = url_for(".practice_question", level=level, topic=form.topic.data or None)
    return render_template("candidate/practice_question.html", it=item, q=q, form=None,
                           blueprint=blueprint, level=level, topic=form.topic.data or None,
                           feedback={"correct": ok, "keyed": keyed, "next_url": next_url})
