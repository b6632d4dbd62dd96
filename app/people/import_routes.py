"""The secretariat's CSV imports of staff and affiliations: upload, preview (every problem by
row and column), confirm; all or nothing."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from scoring.csvtable import CsvImportError
from scoring.jpdate import to_jst

from ..auth.routes import role_required
from ..core.exports import csv_response
from ..extensions import db
from ..models import EMPLOYMENT_CATEGORIES, utcnow
from . import bp
from .forms import ConfirmImportForm, UploadForm
from .imports import (AFFILIATION_CSV_COLUMNS, AFFILIATION_LABELS, STAFF_CSV_COLUMNS,
                      apply_affiliation_import, apply_staff_import, plan_affiliation_import,
                      plan_staff_import, text_from_payload)
from .routes import commit_or_flash
from .rules import MANAGE_ROLES, PeopleError
from .staff import FIELD_LABELS

IMPORTS = {
    "staff": {"plan": lambda raw: plan_staff_import(raw, to_jst(utcnow()).date()),
              "apply": apply_staff_import, "title": "職員の一括登録（CSV）",
              "columns": STAFF_CSV_COLUMNS, "optional": ("email",),
              "done": "admin.staff_list", "labels": FIELD_LABELS},
    "affiliations": {"plan": plan_affiliation_import, "apply": apply_affiliation_import,
                     "title": "所属の一括登録（CSV）", "columns": AFFILIATION_CSV_COLUMNS,
                     "optional": ("head_username",), "done": "admin.affiliations",
                     "labels": AFFILIATION_LABELS},
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
        plan = IMPORTS[kind]["plan"](text_from_payload(form.payload.data))
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
    if commit_or_flash(apply):
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
