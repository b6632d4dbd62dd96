"""Training pages: the courses and their modules, a module's quiz one question per screen
with the explanation after each answer, the result, and the members' progress.

A volunteer trains as the member they are, and only when they may take part (a minor only
with a guardian's consent on record). A liaison may try the modules to check them: their
attempts count toward nothing. Progress is for whoever may see the group's people."""
from __future__ import annotations

from flask import abort, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from scoring.choice_positions import to_keys
from scoring.courses import course_status
from scoring.grading import ResponseError, coerce_response

from ..auth.routes import role_required
from ..core import audit
from ..core.errors import error_response
from ..extensions import db
from ..models import CourseCompletion, Member, TrainingAttempt
from ..volunteers.access import (
    me as _me,
    OVERSIGHT_ROLES,
    liaison_division,
    may_see_people,
    member_of,
    visible_groups,
)
from . import bp, ops
from .catalogue import catalogue
from .forms import AnswerForm, StartForm

TRAINEES = ("volunteer", "liaison")
READERS = TRAINEES + OVERSIGHT_ROLES


def _catalogue():
    cat = catalogue()
    if not cat.ok:
        # The authors see the FILE:LINE list with `cbt bank validate`; the page says only this.
        abort(make_response(error_response(
            503, "研修の問題または講座の定義に誤りがあるため、現在、研修を利用できません。担当所属に連絡してください。")))
    return cat


def _course(cat, course_key: str):
    course = cat.courses.courses.get(course_key)
    if course is None:
        abort(make_response(error_response(404, "この講座は見つかりません。")))
    return course


def _refuse(reason: str, message: str, **detail):
    audit.record_now("training_refused", current_user.id, reason=reason, path=request.path, **detail)
    abort(make_response(error_response(403, message)))



def _trainee() -> Member | None:
    """The member the user trains as (None for a liaison's try); refuses anyone else."""
    me = _me()
    member = member_of(me)
    if member is not None:
        if not member.may_take_part:
            _refuse("no_guardian_consent", "18歳未満の方は、保護者の同意が記録されるまで研修を受講できません。"
                                           "団体の代表者または担当所属に相談してください。", member_id=member.id)
        return member
    if me.has_role("liaison") and liaison_division(me) is not None:
        return None
    _refuse("not_a_member", "研修を受講できるのは、団体に所属するボランティアと担当所属の連絡担当です。")


def _own_attempt(attempt_id: int) -> TrainingAttempt:
    attempt = db.session.get(TrainingAttempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id:
        # Another person's attempt: refused and logged, shown as not found.
        if attempt is not None:
            audit.record_now("training_refused", current_user.id, reason="not_own_attempt",
                             attempt_id=attempt_id, path=request.path)
        abort(make_response(error_response(404, "この受講記録は見つかりません。")))
    return attempt


def _my_status(course, member: Member | None):
    """The course's modules as this user stands: best passing attempt, tries, an open one."""
    rows = db.session.scalars(select(TrainingAttempt).where(
        TrainingAttempt.user_id == current_user.id, TrainingAttempt.course_key == course.key)
        .order_by(TrainingAttempt.id))
    attempts = list(rows)
    status = course_status(course, ops.results(attempts))
    modules = []
    for m in course.modules:
        mine = [a for a in attempts if a.module_key == m.key]
        open_ = next((a for a in reversed(mine) if not a.finished), None)
        modules.append({"module": m, "best": status.passed.get(m.key),
                        "tries": sum(1 for a in mine if a.finished), "open": open_})
    completion = ops.completion_of(member.id, course.key) if member else None
    return {"course": course, "modules": modules, "status": status, "completion": completion}


@bp.get("/")
@role_required(*READERS)
def index():
    cat = _catalogue()
    trains = current_user.has_role(*TRAINEES)
    member = member_of(_me())
    courses = [_my_status(c, member) for c in cat.courses.courses.values()] if trains else \
        [{"course": c} for c in cat.courses.courses.values()]
    return render_template("training/index.html", courses=courses, trains=trains, member=member,
                           liaison_try=member is None and current_user.has_role("liaison"))


@bp.get("/<course_key>/")
@role_required(*TRAINEES)
def course(course_key: str):
    cat = _catalogue()
    course = _course(cat, course_key)
    member = _trainee()
    return render_template("training/course.html", member=member, form=StartForm(),
                           **_my_status(course, member))


@bp.post("/<course_key>/<module_key>/start")
@role_required(*TRAINEES)
def start(course_key: str, module_key: str):
    cat = _catalogue()
    course = _course(cat, course_key)
    module = course.module(module_key)
    if module is None:
        return error_response(404, "この単元は見つかりません。")
    member = _trainee()
    if not StartForm().validate_on_submit():
        abort(400)
    attempt = ops.start(cat, course, module, current_user.id, member)
    db.session.commit()
    return redirect(url_for(".attempt", attempt_id=attempt.id))


def _question_item(cat, attempt, position: int, response=None):
    qid = attempt.question_ids[position - 1]
    q = cat.bank.questions.get(qid)
    if q is None:
        # The bank changed under an open attempt and the question is gone.
        return None, None
    by_key = {c.key: c for c in q.choices}
    order = ops.shown_order(attempt, q)
    return q, {"position": position, "q": q, "choices": [by_key[k] for k in order],
               "response": response, "order": order}


def _open_attempt(attempt_id: int):
    """The user's own attempt with the bank, course and module it belongs to."""
    cat = _catalogue()
    attempt = _own_attempt(attempt_id)
    course = cat.courses.courses.get(attempt.course_key)
    module = course.module(attempt.module_key) if course else None
    if module is None:
        abort(make_response(error_response(404, "この単元は講座から外されました。")))
    return cat, attempt, course, module


GONE = "問題が更新されたため、この受講は続けられません。単元をもう一度始めてください。"


def _result(cat, attempt, course, module, completion=None):
    answered = []
    for a in attempt.answers:
        q = cat.bank.questions.get(a.question_id)
        answered.append({"answer": a, "q": q})
    return render_template("training/result.html", attempt=attempt, course=course, module=module,
                           answered=answered, completion=completion, form=StartForm(),
                           member=attempt.member)


@bp.get("/attempt/<int:attempt_id>")
@role_required(*TRAINEES)
def attempt(attempt_id: int):
    cat, attempt, course, module = _open_attempt(attempt_id)
    if attempt.finished:
        completion = ops.completion_of(attempt.member_id, course.key) if attempt.member_id else None
        return _result(cat, attempt, course, module, completion)
    _trainee()
    position = len(attempt.answers) + 1
    q, item = _question_item(cat, attempt, position)
    if q is None:
        return error_response(409, GONE)
    return render_template("training/question.html", attempt=attempt, course=course, module=module,
                           it=item, q=q, form=AnswerForm(position=position), feedback=None, error=None)


def _read_response(q, form_data, position: int):
    name = f"r{position}"      # as shared_question.html names the inputs
    value = form_data.get(name)
    if q.type == "multiple":
        value = form_data.getlist(name) or None
    if value is None:
        return None

    def pos(v):
        return int(v) if v.isascii() and v.isdigit() and len(v) <= 3 else v
    if q.type == "single":
        return pos(value)
    if q.type == "multiple":
        return [pos(v) for v in value]
    if q.type == "true_false":
        return {"true": True, "false": False}.get(value, value)
    return value


@bp.post("/attempt/<int:attempt_id>/answer")
@role_required(*TRAINEES)
def answer(attempt_id: int):
    cat, attempt, course, module = _open_attempt(attempt_id)
    member = _trainee()
    form = AnswerForm()
    if not form.validate_on_submit():
        abort(400)
    position = form.position.data
    expected = len(attempt.answers) + 1
    if attempt.finished or position < expected:
        # The same answer sent twice (a double tap, the back button): it counted once.
        return redirect(url_for(".attempt", attempt_id=attempt.id))
    if position > expected:
        return error_response(400, "この問題にはまだ解答できません。")
    q, item = _question_item(cat, attempt, position)
    if q is None:
        return error_response(409, GONE)
    raw = _read_response(q, request.form, position)
    try:
        response = coerce_response(q.type, [c.key for c in q.choices], to_keys(q.type, item["order"], raw))
    except ResponseError as exc:
        return error_response(400, str(exc))
    if response is None:
        return render_template("training/question.html", attempt=attempt, course=course, module=module,
                               it=item, q=q, form=AnswerForm(position=position), feedback=None,
                               error="解答を選んでから「解答する」を押してください。"), 422
    try:
        row = ops.answer(attempt, position, q, response)
        completion = None
        if position == attempt.total:
            ops.finish(attempt, module)
            if member is not None and attempt.passed:
                completion = ops.complete_if_done(cat, course, member)
        db.session.commit()
    except IntegrityError:
        # A concurrent post of the same position won; show where the attempt stands.
        db.session.rollback()
        return redirect(url_for(".attempt", attempt_id=attempt_id))
    item["response"] = response
    keyed = set(q.answer) if q.type == "multiple" else {q.answer}
    return render_template("training/question.html", attempt=attempt, course=course, module=module,
                           it=item, q=q, form=None, error=None,
                           feedback={"correct": row.correct, "keyed": keyed, "last": attempt.finished,
                                     "completion": completion})


def _progress_scope() -> list[tuple]:
    """(group, its members shown): every active member of a group whose people the user may
    see; a volunteer who is not their group's leader sees their own row only."""
    me = _me()
    own = member_of(me)
    scope = []
    for g in visible_groups(me):
        if may_see_people(me, g):
            scope.append((g, [m for m in g.members if m.active]))
        elif own is not None and own.group_id == g.id:
            scope.append((g, [own]))
    return scope


@bp.get("/progress")
@role_required(*READERS)
def progress():
    cat = _catalogue()
    scope = _progress_scope()
    courses = list(cat.courses.courses.values())
    member_ids = [m.id for _g, members in scope for m in members]
    completions = {(c.member_id, c.course_key): c for c in db.session.scalars(
        select(CourseCompletion).where(CourseCompletion.member_id.in_(member_ids)))} if member_ids else {}
    attempts: dict[int, list] = {}
    if member_ids:
        for a in db.session.scalars(select(TrainingAttempt).where(
                TrainingAttempt.member_id.in_(member_ids), TrainingAttempt.finished_at.is_not(None))):
            attempts.setdefault(a.member_id, []).append(a)
    rows = []
    for g, shown in scope:
        members = []
        for m in shown:
            cells = []
            for c in courses:
                mine = ops.results(a for a in attempts.get(m.id, []) if a.course_key == c.key)
                st = course_status(c, mine)
                cells.append({"course": c, "passed": len(st.passed), "tries": len(mine),
                              "passed_titles": [md.title for md in c.modules if md.key in st.passed],
                              "completion": completions.get((m.id, c.key))})
            members.append({"member": m, "cells": cells})
        rows.append({"group": g, "members": members})
    audit.record("training_progress_viewed", group_ids=[g.id for g, _m in scope])
    db.session.commit()
    return render_template("training/progress.html", rows=rows, courses=courses)
