"""Pages of the awareness materials: the group's members who may take part draft and
submit, the liaison officers of the division in charge review, the committee and the
secretariat read; an approved, published handout has a public page."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from scoring.materials import QuestionInput, changes, check_question

from ..auth.routes import role_required
from ..core import audit
from ..extensions import db
from ..models import MATERIAL_STATES, Material, VolunteerGroup
from ..volunteers.access import (OVERSIGHT_ROLES, is_leader_of, is_liaison_of, me as _me, member_of,
                                 visible_groups)
from . import bp, ops
from .forms import ActionForm, MaterialForm, MoveForm, QuestionForm, WithdrawForm, review_form

READERS = ("volunteer", "liaison", *OVERSIGHT_ROLES)



def _refuse(needs: str):
    audit.record_now("forbidden", current_user.id, path=request.path, method=request.method,
                     needs=[needs])
    abort(403)


def _drafter(group: VolunteerGroup) -> bool:
    """A member of the group who may take part (a minor only with a guardian's consent)."""
    member = member_of(_me())
    return member is not None and member.group_id == group.id and member.may_take_part


def _may_read(group: VolunteerGroup) -> bool:
    return (current_user.has_role(*OVERSIGHT_ROLES) or is_liaison_of(_me(), group)
            or _drafter(group))


def _leader(group: VolunteerGroup) -> bool:
    return _drafter(group) and is_leader_of(_me(), group)


CHECKS = {
    "read": (_may_read, "the group's member, its liaison, the committee or the secretariat"),
    "draft": (_drafter, "a member of the group who may take part"),
    "review": (lambda g: is_liaison_of(_me(), g), "a liaison of the group's division"),
    "lead": (_leader, "the group's leader"),
    "withdraw": (lambda g: is_liaison_of(_me(), g) or _leader(g),
                 "the group's leader or its liaison"),
}


def _material(material_id: int, need: str) -> Material:
    """The material, if the signed-in user may do `need` with its group (403, logged)."""
    material = db.session.get(Material, material_id)
    if material is None:
        abort(404)
    check, who = CHECKS[need]
    if not check(material.group):
        _refuse(who)
    return material


def _to(material: Material, anchor: str | None = None):
    return redirect(url_for("materials.detail", material_id=material.id, _anchor=anchor))


def _refused(material: Material, exc: ops.Refused):
    db.session.rollback()
    flash(str(exc), "error")
    return _to(material)


@bp.route("/")
@role_required(*READERS)
def index():
    groups = [g for g in visible_groups(_me()) if _may_read(g)]
    materials = list(db.session.scalars(
        select(Material).where(Material.group_id.in_([g.id for g in groups]))
        .order_by(Material.updated_at.desc(), Material.id.desc()))) if groups else []
    pending = [m for m in materials if m.state == "submitted" and is_liaison_of(_me(), m.group)]
    member = member_of(_me())
    return render_template("materials/index.html", material_groups=groups, materials=materials, pending=pending,
                           member=member, states=MATERIAL_STATES)


def _fields(form: MaterialForm, kind: str) -> dict:
    handout = kind == "handout"
    return {"title": form.title.data.strip(), "audience": (form.audience.data or "").strip(),
            "body": (form.body.data or "").strip() if handout else "",
            "credits": (form.credits.data or "").strip() if handout else ""}


@bp.route("/new", methods=["GET", "POST"])
@role_required("volunteer")
def new():
    member = member_of(_me())
    if member is None or not member.may_take_part:
        _refuse("a member of a group who may take part")
    form = MaterialForm()
    if form.validate_on_submit():
        if form.kind.data not in ("quiz", "handout"):
            form.kind.errors.append("種類を「クイズ」か「配布資料」から選んでください。")
        else:
            material = ops.create(member.group_id, form.kind.data, _fields(form, form.kind.data), _me())
            db.session.commit()
            flash("資料を作成しました。" + ("問題を追加してください。" if material.kind == "quiz" else ""), "info")
            return _to(material)
    return render_template("materials/material_form.html", form=form, material=None)


@bp.route("/<int:material_id>")
@role_required(*READERS)
def detail(material_id: int):
    material = _material(material_id, "read")
    revisions = ops.revisions(material)
    last = revisions[-1] if revisions else None
    # A returned draft shows the liaison's comments beside what they are about.
    comments = ops.comments_on(material, last) if material.state == "draft" and last and \
        last.decision == "returned" else {}
    group = material.group
    return render_template("materials/detail.html", material=material, revisions=revisions,
                           comments=comments, history=ops.history(material),
                           may_draft=_drafter(group), may_lead=_leader(group),
                           may_review=is_liaison_of(_me(), group),
                           may_withdraw=CHECKS["withdraw"][0](group),
                           withdraw_form=WithdrawForm(formdata=None), action=ActionForm())


@bp.route("/<int:material_id>/edit", methods=["GET", "POST"])
@role_required("volunteer")
def edit(material_id: int):
    material = _material(material_id, "draft")
    try:
        ops.require("edit", material)
    except ops.Refused as exc:
        return _refused(material, exc)
    form = MaterialForm(obj=material if request.method == "GET" else None)
    del form.kind
    if form.validate_on_submit():
        ops.update(material, _fields(form, material.kind))
        db.session.commit()
        flash("保存しました。", "info")
        return _to(material)
    return render_template("materials/material_form.html", form=form, material=material)


def _question_input(form: QuestionForm) -> QuestionInput:
    try:
        answer = int(form.answer.data)
    except (TypeError, ValueError):
        answer = None
    return QuestionInput(stem=form.stem.data or "", choices=tuple(f.data or "" for f in form.choice_fields()),
                         answer=answer, explanation=form.explanation.data or "", source=form.source.data or "")


def _question_page(material: Material, key: str | None):
    try:
        ops.require("edit", material)
    except ops.Refused as exc:
        return _refused(material, exc)
    existing = ops.question(material, key) if key else None
    if key and existing is None:
        abort(404)
    form = QuestionForm()
    if request.method == "GET" and existing is not None:
        form.stem.data, form.explanation.data, form.source.data = existing.stem, existing.explanation, existing.source
        for f, text in zip(form.choice_fields(), existing.choices):
            f.data = text
        form.answer.data = str(existing.answer)
    if form.validate_on_submit():
        checked, problems = check_question(_question_input(form))
        for name, message in problems:
            getattr(form, "choice1" if name == "choices" else name).errors.append(message)
        if checked is not None:
            try:
                saved = ops.save_question(material, checked, existing)
            except ops.Refused as exc:
                return _refused(material, exc)
            db.session.commit()
            flash("問題を保存しました。", "info")
            return _to(material, f"q-{saved.key}")
    number = (material.questions.index(existing) + 1) if existing else len(material.questions) + 1
    return render_template("materials/question_form.html", form=form, material=material, number=number,
                           existing=existing)


@bp.route("/<int:material_id>/questions/new", methods=["GET", "POST"])
@role_required("volunteer")
def question_new(material_id: int):
    material = _material(material_id, "draft")
    if material.kind != "quiz":
        abort(404)
    return _question_page(material, None)


@bp.route("/<int:material_id>/questions/<key>", methods=["GET", "POST"])
@role_required("volunteer")
def question_edit(material_id: int, key: str):
    return _question_page(_material(material_id, "draft"), key)


def _question_action(material_id: int, key: str, act):
    material = _material(material_id, "draft")
    form = MoveForm() if act == "move" else ActionForm()
    if not form.validate_on_submit():
        form.refusal_flashed()
        return _to(material)
    q = ops.question(material, key)
    if q is None:
        abort(404)
    try:
        if act == "move":
            ops.move_question(material, q, 1 if form.step.data > 0 else -1)
        else:
            ops.delete_question(material, q)
    except ops.Refused as exc:
        return _refused(material, exc)
    db.session.commit()
    flash("問題の順番を変えました。" if act == "move" else "問題を削除しました。", "info")
    return _to(material, f"q-{key}" if act == "move" else "questions")


@bp.route("/<int:material_id>/questions/<key>/move", methods=["POST"])
@role_required("volunteer")
def question_move(material_id: int, key: str):
    return _question_action(material_id, key, "move")


@bp.route("/<int:material_id>/questions/<key>/delete", methods=["POST"])
@role_required("volunteer")
def question_delete(material_id: int, key: str):
    return _question_action(material_id, key, "delete")


def _step(material: Material, form, run, done: str):
    if not form.validate_on_submit():
        form.refusal_flashed()
        return _to(material)
    try:
        run()
    except ops.Refused as exc:
        return _refused(material, exc)
    db.session.commit()
    flash(done, "info")
    return _to(material)


@bp.route("/<int:material_id>/submit", methods=["POST"])
@role_required("volunteer")
def submit(material_id: int):
    material = _material(material_id, "draft")
    return _step(material, ActionForm(), lambda: ops.submit(material, _me()),
                 "審査に提出しました。担当所属の確認をお待ちください。")


@bp.route("/<int:material_id>/revise", methods=["POST"])
@role_required("volunteer")
def revise(material_id: int):
    material = _material(material_id, "draft")
    return _step(material, ActionForm(), lambda: ops.revise(material, _me()),
                 "改訂を始めました。承認されるまでは、承認済みの版がそのまま使われます。")


@bp.route("/<int:material_id>/withdraw", methods=["POST"])
@role_required("volunteer", "liaison")
def withdraw(material_id: int):
    material = _material(material_id, "withdraw")
    form = WithdrawForm()
    return _step(material, form, lambda: ops.withdraw(material, _me(), form.reason.data or ""),
                 "取り下げました。この資料は使用・公開されなくなりました。")


@bp.route("/<int:material_id>/publish", methods=["POST"])
@role_required("volunteer")
def publish(material_id: int):
    material = _material(material_id, "lead")
    on = request.form.get("on") == "1"
    return _step(material, ActionForm(), lambda: ops.publish(material, _me(), on),
                 "公開しました。" if on else "公開を停止しました。")


@bp.route("/<int:material_id>/review", methods=["GET", "POST"])
@role_required("liaison")
def review(material_id: int):
    material = _material(material_id, "review")
    revision = ops.under_review(material)
    if revision is None:
        flash(ops.STATE_REFUSALS["review"], "error")
        return _to(material)
    keys = [q["id"] for q in revision.content["questions"]]
    form = review_form(keys, request.form if request.method == "POST" else None)
    if request.method == "GET":
        form.revision.data = str(revision.number)
    if form.validate_on_submit():
        if form.revision.data != str(revision.number):
            flash("審査中の版が変わりました。最新の版を確認してください。", "error")
            return redirect(url_for("materials.review", material_id=material.id))
        decision = "approved" if form.approve.data else "returned" if form.send_back.data else None
        comments = {None: form.overall.data or ""}
        comments.update({k: getattr(form, f"comment_{k}").data or "" for k in keys})
        try:
            ops.review(material, revision, _me(), decision, comments,
                       form.accuracy.data, form.copyright.data)
        except ops.Refused as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash({"approved": "承認しました。この版が使用・公開できるようになりました。",
                   "returned": "コメントを付けて差し戻しました。"}.get(decision, "コメントを保存しました。"), "info")
            return _to(material) if decision else redirect(url_for("materials.review", material_id=material.id))
    previous = next((r for r in ops.revisions(material) if r.number == revision.number - 1), None)
    return render_template("materials/review.html", material=material, revision=revision, form=form,
                           comments=ops.comments_on(material, revision), previous=previous,
                           changed=changes(previous.content if previous else None, revision.content))


@bp.route("/<int:material_id>/revisions/<int:number>")
@role_required(*READERS)
def revision(material_id: int, number: int):
    material = _material(material_id, "read")
    found = next((r for r in ops.revisions(material) if r.number == number), None)
    if found is None:
        abort(404)
    return render_template("materials/revision.html", material=material, revision=found,
                           comments=ops.comments_on(material, found))


@bp.route("/public/<int:material_id>")
def public(material_id: int):
    """A published handout as approved: nothing else is ever shown here."""
    material = db.session.get(Material, material_id)
    if material is None or not material.published or material.in_force is None or material.kind != "handout":
        abort(404)
    return render_template("materials/public.html", material=material, revision=material.in_force)


@bp.context_processor
def _helpers():
    def question_label(revision, key: str) -> str:
        keys = [q["id"] for q in revision.content.get("questions", [])]
        return f"第{keys.index(key) + 1}問" if key in keys else "削除された問題"
    return {"material_content": ops.content_of, "question_label": question_label}
