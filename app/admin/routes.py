"""Secretariat (庶務): affiliations, staff records, sign-in accounts and roles, CSV imports,
and the audit log viewer. Handlers check access, call app/admin/people.py, and commit."""
from __future__ import annotations

import json
import math

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from wtforms.fields.choices import SelectChoice

from scoring.csvtable import CsvImportError
from scoring.jpdate import DateParseError, format_date_jp, parse_date, to_jst

from .. import audit
from ..auth.routes import role_required
from ..exports import csv_response
from ..extensions import db
from ..models import ROLE_NAMES, ROLES, User, utcnow
from ..models_register import EMPLOYMENT_CATEGORIES, Affiliation, Staff
from . import people
from .forms import (NONE, AffiliationForm, ConfirmImportForm, CreateLoginForm, LinkLoginForm,
                    ResetPasswordForm, StaffForm, UploadForm, UserRolesForm)
from .people import AUDIT_ROLES, MANAGE_ROLES, VIEW_ROLES, PeopleError

bp = Blueprint("admin", __name__, url_prefix="/admin")
PER_PAGE = 50
AUDIT_PER_PAGE = 100


@bp.app_template_filter("date_jp")
def _date_jp(value) -> str:
    return "" if value is None else format_date_jp(value)


@bp.app_context_processor
def _admin_helpers():
    return {"role_names": ROLE_NAMES, "event_names": people.EVENT_NAMES}


def _page() -> int:
    return max(1, request.args.get("page", 1, type=int))


def _pager(total: int, page: int, per_page: int) -> dict:
    return {"page": page, "pages": max(1, math.ceil(total / per_page)), "total": total,
            "args": {k: v for k, v in request.args.items() if k != "page"}}


def _commit_or_flash(action) -> bool:
    """Run an operation and commit; on a refusal roll back and show why."""
    try:
        action()
        db.session.commit()
        return True
    except PeopleError as exc:
        db.session.rollback()
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


# ---- affiliations ------------------------------------------------------------------------

@bp.get("/affiliations")
@role_required(*VIEW_ROLES)
def affiliations():
    rows = people.affiliations()
    staff_counts = dict(db.session.execute(
        select(Staff.affiliation_id, func.count(Staff.id)).group_by(Staff.affiliation_id)).all())
    return render_template("admin/affiliations.html", rows=rows, staff_counts=staff_counts,
                           can_manage=current_user.has_role(*MANAGE_ROLES))


def _affiliation_form(aff: Affiliation | None) -> AffiliationForm:
    form = AffiliationForm(obj=None if request.method == "POST" else aff)
    if request.method == "GET" and aff is not None:
        form.head.data = aff.head_user_id or NONE
    form.head.choices = [SelectChoice(NONE, "（なし）")] + [
        SelectChoice(u.id, f"{u.display_name}（{u.username}）") for u in people.head_candidates()]
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
            saved["aff"] = people.save_affiliation(aff, form.code.data, form.name.data,
                                                   form.head.data or None, form.active.data, current_user.id)
        if _commit_or_flash(save):
            flash(f"所属「{saved['aff'].name}」を保存しました。", "info")
            return redirect(url_for("admin.affiliations"))
    return render_template("admin/affiliation_form.html", form=form, aff=aff)


# ---- staff records -----------------------------------------------------------------------

@bp.get("/staff")
@role_required(*VIEW_ROLES)
def staff_list():
    q = request.args.get("q", "")
    aff_id = request.args.get("affiliation", type=int)
    category = request.args.get("category", "")
    page = _page()
    rows, total = people.search_staff(q, aff_id, category, page, PER_PAGE)
    return render_template("admin/staff_list.html", rows=rows, pager=_pager(total, page, PER_PAGE),
                           q=q, affiliation_id=aff_id, category=category,
                           affiliations=people.affiliations(), categories=EMPLOYMENT_CATEGORIES,
                           can_manage=current_user.has_role(*MANAGE_ROLES))


def _staff_form(staff: Staff | None) -> StaffForm:
    form = StaffForm(obj=None if request.method == "POST" else staff)
    if request.method == "GET" and staff is not None:
        form.affiliation.data = staff.affiliation_id or NONE
        form.birth_date.data = staff.birth_date.isoformat()
    current = staff.affiliation_id if staff else None
    form.affiliation.choices = [SelectChoice(NONE, "（なし: 職員以外のみ）")] + [
        SelectChoice(a.id, f"{a.name}（{a.code}）" + ("" if a.active else " [無効]"))
        for a in people.affiliations() if a.active or a.id == current]
    return form


def _values(form: StaffForm) -> people.StaffValues:
    p = form.parsed
    return people.StaffValues(
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
            saved["staff"] = people.create_staff(_values(form), current_user.id)
        if _commit_or_flash(save):
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
            changed.update(people.update_staff(staff, _values(form), current_user.id))
        if _commit_or_flash(save):
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
        made["user"], made["password"] = people.create_login(staff, form.username.data or "", current_user.id)
    if not _commit_or_flash(create):
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
        if _commit_or_flash(lambda: people.link_login(staff, form.username.data, current_user.id)):
            flash(f"ユーザーID「{form.username.data.strip()}」と紐付けました。", "info")
    else:
        flash("ユーザーIDを入力してください。", "error")
    return redirect(url_for("admin.staff_edit", staff_id=staff.id))


# ---- CSV imports (staff, affiliations): upload, preview, confirm -------------------------

IMPORTS = {
    "staff": {"plan": lambda raw: people.plan_staff_import(raw, to_jst(utcnow()).date()),
              "apply": people.apply_staff_import, "title": "職員の一括登録（CSV）",
              "columns": people.STAFF_CSV_COLUMNS, "optional": ("email",),
              "done": "admin.staff_list", "labels": people.FIELD_LABELS},
    "affiliations": {"plan": people.plan_affiliation_import, "apply": people.apply_affiliation_import,
                     "title": "所属の一括登録（CSV）", "columns": people.AFFILIATION_CSV_COLUMNS,
                     "optional": ("head_username",), "done": "admin.affiliations",
                     "labels": people.AFFILIATION_LABELS},
}


def _import_page(kind: str, form, problems=None, status: int = 200):
    return render_template("admin/import.html", kind=kind, spec=IMPORTS[kind], form=form,
                           problems=problems, categories=EMPLOYMENT_CATEGORIES), status


@bp.route("/import/<kind>", methods=["GET", "POST"])
@role_required(*MANAGE_ROLES)
def import_upload(kind: str):
    if kind not in IMPORTS:
        abort(404)
    form = UploadForm()
    if not form.validate_on_submit():
        return _import_page(kind, form, status=400 if request.method == "POST" else 200)
    filename = form.file.data.filename or ""
    try:
        plan = IMPORTS[kind]["plan"](form.file.data.read())
    except CsvImportError as exc:
        db.session.rollback()
        return _import_page(kind, form, problems=exc.problems, status=400)
    confirm = ConfirmImportForm(formdata=None, payload=plan.payload, fingerprint=plan.fingerprint,
                                filename=filename)
    return render_template("admin/import_preview.html", kind=kind, spec=IMPORTS[kind], plan=plan,
                           form=confirm, filename=filename)


@bp.post("/import/<kind>/confirm")
@role_required(*MANAGE_ROLES)
def import_confirm(kind: str):
    if kind not in IMPORTS:
        abort(404)
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        plan = IMPORTS[kind]["plan"](people.text_from_payload(form.payload.data))
    except (PeopleError, CsvImportError) as exc:
        db.session.rollback()
        problems = exc.problems if isinstance(exc, CsvImportError) else None
        if problems is None:
            flash(str(exc), "error")
        return _import_page(kind, UploadForm(formdata=None), problems=problems, status=400)
    if plan.fingerprint != form.fingerprint.data:
        # The records changed since the preview: what would be applied is not what was shown.
        flash("確認画面の表示後に登録内容が変わりました。もう一度ファイルを選んで確認してください。", "error")
        return redirect(url_for("admin.import_upload", kind=kind))
    summary = {}

    def apply():
        summary.update(IMPORTS[kind]["apply"](plan, current_user.id, "web", form.filename.data or None))
    if _commit_or_flash(apply):
        flash(f"取り込みました: 新規 {summary['created']}件、更新 {summary['updated']}件、"
              f"変更なし {summary['unchanged']}件。", "info")
        return redirect(url_for(IMPORTS[kind]["done"]))
    return redirect(url_for("admin.import_upload", kind=kind))


@bp.get("/import/<kind>/template.csv")
@role_required(*MANAGE_ROLES)
def import_template(kind: str):
    if kind not in IMPORTS:
        abort(404)
    sample = {"staff": [["123456", "愛知　一郎", "あいち　いちろう", "平成2年4月1日", "巡査部長", "101",
                         "警察官", "ichiro@example.jp"]],
              "affiliations": [["101", "中央警察署", "head1"]]}[kind]
    return csv_response(f"{kind}-template.csv", list(IMPORTS[kind]["columns"]), sample)


# ---- accounts and roles ------------------------------------------------------------------

@bp.get("/users")
@role_required(*MANAGE_ROLES)
def users():
    q, role = request.args.get("q", ""), request.args.get("role", "")
    page = _page()
    rows, total = people.search_users(q, role if role in ROLES else "", page, PER_PAGE)
    staff_of = {s.user_id: s for s in db.session.scalars(
        select(Staff).where(Staff.user_id.in_([u.id for u in rows])))}
    return render_template("admin/users.html", rows=rows, staff_of=staff_of, q=q, role=role,
                           roles=ROLES, pager=_pager(total, page, PER_PAGE))


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
            changed.update(people.set_roles(user, set(form.roles.data or []), form.active.data, current_user))
        if _commit_or_flash(save):
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
        made["password"] = people.reset_password(user, current_user.id)
    if not _commit_or_flash(reset):
        return redirect(url_for("admin.user_edit", user_id=user.id))
    staff = db.session.scalar(select(Staff).where(Staff.user_id == user.id))
    return render_template("admin/password.html", user=user, password=made["password"],
                           staff=staff, created=False)


# ---- audit log (read only: there is no route that edits or deletes it) --------------------

def _audit_filter() -> tuple[people.AuditFilter, list[str]]:
    errors = []
    f = people.AuditFilter(event=request.args.get("event", "").strip(),
                           username=request.args.get("user", "").strip())
    for name, label in (("since", "開始日"), ("until", "終了日")):
        text = request.args.get(name, "").strip()
        if text:
            try:
                setattr(f, name, parse_date(text))
            except DateParseError as exc:
                errors.append(f"{label}: {exc}")
    if f.since and f.until and f.since > f.until:
        errors.append("開始日が終了日より後になっています。")
    return f, errors


def _detail(event) -> dict:
    """The detail as text per key (Japanese kept readable, not \\u-escaped)."""
    try:
        detail = json.loads(event.detail_json or "{}")
    except ValueError:
        return {"raw": event.detail_json}
    if not isinstance(detail, dict):
        return {"raw": event.detail_json}
    return {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in detail.items()}


@bp.get("/audit")
@role_required(*AUDIT_ROLES)
def audit_log():
    f, errors = _audit_filter()
    page = _page()
    rows, total = ([], 0) if errors else people.audit_page(f, page, AUDIT_PER_PAGE)
    return render_template("admin/audit.html", rows=[(e, u, _detail(e)) for e, u in rows], f=f,
                           errors=errors, events=people.audit_events(), args=request.args,
                           pager=_pager(total, page, AUDIT_PER_PAGE))


@bp.get("/audit/export.csv")
@role_required(*AUDIT_ROLES)
def audit_export():
    f, errors = _audit_filter()
    if errors:
        for e in errors:
            flash(e, "error")
        return redirect(url_for("admin.audit_log", **request.args))
    rows = db.session.execute(people.audit_query(f)).all()
    out = [[to_jst(e.at).strftime("%Y-%m-%d %H:%M:%S"), e.event, people.EVENT_NAMES.get(e.event, ""),
            u.username if u else "", u.display_name if u else "", e.ip or "", e.detail_json]
           for e, u in rows]
    # Reading the log out of the system is itself worth answering for.
    audit.record("audit_exported", current_user.id, rows=len(out), filter_event=f.event or None,
                 username=f.username or None, since=f.since, until=f.until)
    db.session.commit()
    return csv_response("audit-log.csv", ["日時（日本時間）", "イベント", "内容", "ユーザーID", "氏名",
                                          "IPアドレス", "詳細"], out)
