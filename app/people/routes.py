"""Secretariat (庶務): affiliations, staff records, sign-in accounts and roles, CSV imports,
and the audit log viewer. Handlers check access, call this package's operations, and commit."""
from __future__ import annotations

import math

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from wtforms.fields.choices import SelectChoice

from scoring.jpdate import format_date_jp

from ..auth.routes import role_required
from ..extensions import db
from ..models import APPOINTED_ROLES, EMPLOYMENT_CATEGORIES, ROLE_NAMES, ROLES, Affiliation, Staff, User
from . import bp
from .accounts import create_login, link_login, reset_password, search_users, set_roles
from .appointments import AppointmentRefused
from .affiliations import affiliations as all_affiliations, head_candidates, save_affiliation
from .auditlog import EVENT_NAMES
from .forms import (NONE, AffiliationForm, CreateLoginForm, LinkLoginForm, ResetPasswordForm,
                    StaffForm, UserRolesForm)
from .rules import MANAGE_ROLES, VIEW_ROLES, PeopleError
from .staff import StaffValues, create_staff, search_staff, update_staff

PER_PAGE = 50


@bp.app_template_filter("date_jp")
def _date_jp(value) -> str:
    return "" if value is None else format_date_jp(value)


@bp.app_context_processor
def _admin_helpers():
    return {"role_names": ROLE_NAMES, "event_names": EVENT_NAMES, "appointed_roles": APPOINTED_ROLES}


def page_number() -> int:
    return max(1, request.args.get("page", 1, type=int))


def pager(total: int, page: int, per_page: int) -> dict:
    return {"page": page, "pages": max(1, math.ceil(total / per_page)), "total": total,
            "args": {k: v for k, v in request.args.items() if k != "page"}}


def commit_or_flash(action) -> bool:
    """Run an operation and commit; on a refusal roll back and show why."""
    try:
        action()
        db.session.commit()
        return True
    except PeopleError as exc:
        db.session.rollback()
        if isinstance(exc, AppointmentRefused):
            exc.record()
        flash(str(exc), "error")
    except IntegrityError:
        # Another person saved the same code or number between our check and the commit.
        db.session.rollback()
        flash("同時に別の変更が保存されたため、保存できませんでした。内容を確かめてもう一度保存してください。", "error")
    return False


@bp.get("/")
@role_required(*VIEW_ROLES)
def home():
    counts = {"staff": db.session.scalar(select(func.count(Staff.id))),
              "affiliations": db.session.scalar(select(func.count(Affiliation.id))),
              "users": db.session.scalar(select(func.count(User.id)))}
    return render_template("admin/home.html", counts=counts,
                           can_manage=current_user.has_role(*MANAGE_ROLES))


@bp.get("/affiliations")
@role_required(*VIEW_ROLES)
def affiliations():
    rows = all_affiliations()
    staff_counts = dict(db.session.execute(
        select(Staff.affiliation_id, func.count(Staff.id)).group_by(Staff.affiliation_id)).all())
    return render_template("admin/affiliations.html", rows=rows, staff_counts=staff_counts,
                           can_manage=current_user.has_role(*MANAGE_ROLES))


def _affiliation_form(aff: Affiliation | None) -> AffiliationForm:
    form = AffiliationForm(obj=None if request.method == "POST" else aff)
    if request.method == "GET" and aff is not None:
        form.head.data = aff.head_user_id or NONE
    form.head.choices = [SelectChoice(NONE, "（なし）")] + [
        SelectChoice(u.id, f"{u.display_name}（{u.username}）") for u in head_candidates()]
    return form


@bp.route("/affiliations/new", methods=["GET", "POST"])
@role_required(*MANAGE_ROLES)
def affiliation_new():
    return _affiliation_edit(None)


@bp.route("/affiliations/<int:aff_id>", methods=["GET", "POST"])
@role_required(*MANAGE_ROLES)
def affiliation_edit(aff_id: int):
    aff = db.session.get(Affiliation, aff_id) or abort(404)
    return _affiliation_edit(aff)


def _affiliation_edit(aff: Affiliation | None):
    form = _affiliation_form(aff)
    if form.validate_on_submit():
        saved = {}

        def save():
            saved["aff"] = save_affiliation(aff, form.code.data, form.name.data,
                                                   form.head.data or None, form.active.data, current_user.id)
        if commit_or_flash(save):
            flash(f"所属「{saved['aff'].name}」を保存しました。", "info")
            return redirect(url_for("admin.affiliations"))
    return render_template("admin/affiliation_form.html", form=form, aff=aff)


@bp.get("/staff")
@role_required(*VIEW_ROLES)
def staff_list():
    q = request.args.get("q", "")
    aff_id = request.args.get("affiliation", type=int)
    category = request.args.get("category", "")
    page = page_number()
    rows, total = search_staff(q, aff_id, category, page, PER_PAGE)
    return render_template("admin/staff_list.html", rows=rows, pager=pager(total, page, PER_PAGE),
                           q=q, affiliation_id=aff_id, category=category,
                           affiliations=all_affiliations(), categories=EMPLOYMENT_CATEGORIES,
                           can_manage=current_user.has_role(*MANAGE_ROLES))


def _staff_form(staff: Staff | None) -> StaffForm:
    form = StaffForm(obj=None if request.method == "POST" else staff)
    if request.method == "GET" and staff is not None:
        form.affiliation.data = staff.affiliation_id or NONE
        form.birth_date.data = staff.birth_date.isoformat()
    current = staff.affiliation_id if staff else None
    form.affiliation.choices = [SelectChoice(NONE, "（なし: 職員以外のみ）")] + [
        SelectChoice(a.id, f"{a.name}（{a.code}）" + ("" if a.active else " [無効]"))
        for a in all_affiliations() if a.active or a.id == current]
    return form


def _values(form: StaffForm) -> StaffValues:
    p = form.parsed
    return StaffValues(
        staff_number=p["staff_number"], name_kanji=p["name_kanji"], name_kana=p["name_kana"],
        birth_date=p["birth_date"], post=p["post"], affiliation_id=form.affiliation.data or None,
        employment_category=form.employment_category.data, email=p.get("email"))


@bp.route("/staff/new", methods=["GET", "POST"])
@role_required(*MANAGE_ROLES)
def staff_new():
    form = _staff_form(None)
    if form.validate_on_submit():
        saved = {}

        def save():
            saved["staff"] = create_staff(_values(form), current_user.id)
        if commit_or_flash(save):
            flash(f"職員「{saved['staff'].name_kanji}」を登録しました。", "info")
            return redirect(url_for("admin.staff_edit", staff_id=saved["staff"].id))
    return render_template("admin/staff_form.html", form=form, staff=None)


@bp.route("/staff/<int:staff_id>", methods=["GET", "POST"])
@role_required(*MANAGE_ROLES)
def staff_edit(staff_id: int):
    staff = db.session.get(Staff, staff_id) or abort(404)
    form = _staff_form(staff)
    if form.validate_on_submit():
        changed = {}

        def save():
            changed.update(update_staff(staff, _values(form), current_user.id))
        if commit_or_flash(save):
            flash("職員情報を保存しました。" if changed else "変更はありませんでした。", "info")
            return redirect(url_for("admin.staff_edit", staff_id=staff.id))
    return render_template("admin/staff_form.html", form=form, staff=staff,
                           login_form=CreateLoginForm(formdata=None), link_form=LinkLoginForm(formdata=None))


@bp.post("/staff/<int:staff_id>/login")
@role_required(*MANAGE_ROLES)
def staff_create_login(staff_id: int):
    staff = db.session.get(Staff, staff_id) or abort(404)
    form = CreateLoginForm()
    if not form.validate_on_submit():
        flash("入力内容を確認してください。", "error")
        return redirect(url_for("admin.staff_edit", staff_id=staff.id))
    made = {}

    def create():
        made["user"], made["password"] = create_login(staff, form.username.data or "", current_user.id)
    if not commit_or_flash(create):
        return redirect(url_for("admin.staff_edit", staff_id=staff.id))
    # Shown in this response only: never flashed (the session cookie is signed, not secret).
    return render_template("admin/password.html", user=made["user"], password=made["password"],
                           staff=staff, created=True)


@bp.post("/staff/<int:staff_id>/link")
@role_required(*MANAGE_ROLES)
def staff_link_login(staff_id: int):
    staff = db.session.get(Staff, staff_id) or abort(404)
    form = LinkLoginForm()
    if form.validate_on_submit():
        if commit_or_flash(lambda: link_login(staff, form.username.data, current_user.id)):
            flash(f"ユーザーID「{form.username.data.strip()}」と紐付けました。", "info")
    else:
        flash("ユーザーIDを入力してください。", "error")
    return redirect(url_for("admin.staff_edit", staff_id=staff.id))


@bp.get("/users")
@role_required(*MANAGE_ROLES)
def users():
    q, role = request.args.get("q", ""), request.args.get("role", "")
    page = page_number()
    rows, total = search_users(q, role if role in ROLES else "", page, PER_PAGE)
    staff_of = {s.user_id: s for s in db.session.scalars(
        select(Staff).where(Staff.user_id.in_([u.id for u in rows])))}
    return render_template("admin/users.html", rows=rows, staff_of=staff_of, q=q, role=role,
                           roles=ROLES, pager=pager(total, page, PER_PAGE))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@role_required(*MANAGE_ROLES)
def user_edit(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    form = UserRolesForm()
    if request.method == "GET":
        form.roles.data = sorted(user.role_set)
        form.active.data = user.active
    elif form.validate_on_submit():
        changed = {}

        def save():
            changed.update(set_roles(user, set(form.roles.data or []), form.active.data, current_user))
        if commit_or_flash(save):
            flash("役割を保存しました。" if changed else "変更はありませんでした。", "info")
            return redirect(url_for("admin.user_edit", user_id=user.id))
    staff = db.session.scalar(select(Staff).where(Staff.user_id == user.id))
    return render_template("admin/user_form.html", user=user, form=form, staff=staff,
                           reset_form=ResetPasswordForm(formdata=None), is_self=user.id == current_user.id)


@bp.post("/users/<int:user_id>/password")
@role_required(*MANAGE_ROLES)
def user_reset_password(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        abort(400)
    if user.id == current_user.id:
        flash("自分自身のパスワードはここでは再発行できません。", "error")
        return redirect(url_for("admin.user_edit", user_id=user.id))
    made = {}

    def reset():
        made["password"] = reset_password(user, current_user.id)
    if not commit_or_flash(reset):
        return redirect(url_for("admin.user_edit", user_id=user.id))
    staff = db.session.scalar(select(Staff).where(Staff.user_id == user.id))
    return render_template("admin/password.html", user=user, password=made["password"],
                           staff=staff, created=False)
