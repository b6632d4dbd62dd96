"""The register of passers (別表第3), special and transitional passes (第3-7, 第4), notices
to affiliation heads (第3-8) and periodic training (第3-10).

Who does what: the committee and the secretariat read the register; the vice-chair and the
chair record special passes and send notices; the secretariat records training. Handlers
check access, call an operation (passes.py, notices.py, training.py)
and commit, rolling back on any error."""
from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from scoring.csvtable import CsvImportError
from scoring.eligibility import LEVEL_NAMES
from scoring.jpdate import DateParseError, format_date_jp, parse_date, to_jst
from scoring.passrules import LEVEL_ORDER, REGULATION_REFERENCE, SPECIAL_SOURCES, parse_fiscal_year

from ..auth.routes import role_required
from ..core import audit, mailer
from ..core.exports import csv_response, xlsx_response
from ..core.forms import AppForm
from ..extensions import db
from ..models import PASS_SOURCES, Notice, PassRecord
from . import bp, notices as notice_ops, passes as passes_ops, training as training_ops

REGISTER_ROLES = ("committee", "vice_chair", "chair", "secretariat")   # personal data: domain.md
PASS_EDIT_ROLES = ("vice_chair", "chair")                             # 第3-9: the vice-chair keeps it
NOTICE_ROLES = ("vice_chair", "chair")                                # 第3-8: the vice-chair notifies
TRAINING_EDIT_ROLES = ("secretariat",)                                # 庶務 keeps training records
REQUIRED = "入力してください"


# ---- forms ------------------------------------------------------------------------------

class SpecialPassForm(AppForm):
    staff_number = StringField("職員番号", validators=[DataRequired(REQUIRED), Length(max=32)])
    # Choices are checked by the operation, with Japanese messages (WTForms' are English).
    level = SelectField("級位", choices=[SelectChoice(k, LEVEL_NAMES[k]) for k in LEVEL_ORDER],
                        validate_choice=False)
    source = SelectField("合格の根拠", choices=[SelectChoice(k, PASS_SOURCES[k]) for k in SPECIAL_SOURCES],
                         validate_choice=False)
    source_detail = StringField("根拠の詳細（他都道府県警察は都道府県名）", validators=[Optional(), Length(max=128)])
    fiscal_year = StringField("合格年度（2025、令和7、R7）", validators=[DataRequired(REQUIRED), Length(max=16)])
    evidence = TextAreaField("根拠資料（合格証、通知文書の番号等）", validators=[DataRequired(REQUIRED), Length(max=2000)])
    affiliation_at_pass = SelectField("合格時の所属（分かる場合）", choices=[], validate_choice=False)
    submit = SubmitField("特例合格を記録する")

    def fill(self):
        self.affiliation_at_pass.choices = [SelectChoice("", "（記録しない）")] + \
            [SelectChoice(str(a.id), f"{a.code} {a.name}") for a in passes_ops.affiliations()]
        return self


class CsvUploadForm(AppForm):
    file = FileField("CSVファイル", validators=[FileRequired("ファイルを選んでください")])
    dry_run = BooleanField("確認のみ（登録しない）")
    submit = SubmitField("取り込む")


class RevokeForm(AppForm):
    reason = TextAreaField("取消の理由", validators=[DataRequired(REQUIRED), Length(max=2000)])
    submit = SubmitField("取り消す")


class ResendForm(AppForm):
    submit = SubmitField("メールを再送")


class TrainingForm(AppForm):
    staff_number = StringField("職員番号", validators=[DataRequired(REQUIRED), Length(max=32)])
    attended_on = StringField("受講日（2025-06-01、令和7年6月1日）", validators=[DataRequired(REQUIRED), Length(max=32)])
    course = StringField("講習名", default=training_ops.DEFAULT_COURSE, validators=[Optional(), Length(max=128)])
    submit = SubmitField("受講を記録する")


def _form_errors(form: AppForm) -> None:
    for name, errors in form.errors.items():
        label = getattr(form, name).label.text if hasattr(form, name) else name
        for e in errors:
            flash(e if e.startswith(label) else f"{label}: {e}", "error")


# ---- the register -----------------------------------------------------------------------

def _filter() -> passes_ops.RegisterFilter:
    level = request.args.get("level") or None
    source = request.args.get("source") or None
    return passes_ops.RegisterFilter(
        level=level if level in LEVEL_ORDER else None,
        fiscal_year=request.args.get("fiscal_year", type=int),
        source=source if source in PASS_SOURCES else None,
        affiliation_id=request.args.get("affiliation", type=int),
        q=(request.args.get("q") or "").strip()[:64])


@bp.get("/")
@role_required(*REGISTER_ROLES)
def index():
    f = _filter()
    rows = passes_ops.register_rows(f)
    return render_template("register/index.html", rows=rows, f=f, levels=LEVEL_ORDER,
                           level_names=LEVEL_NAMES, sources=PASS_SOURCES,
                           years=passes_ops.register_years(), affiliations=passes_ops.affiliations(),
                           detail=passes_ops.source_detail_text)


@bp.get("/export.<fmt>")
@role_required(*REGISTER_ROLES)
def export(fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    f = _filter()
    rows = passes_ops.register_rows(f)
    # Personal data leaving the system: who took which part of the register is on record.
    audit.record("register_exported", current_user.id, format=fmt, rows=len(rows), **f.as_args())
    db.session.commit()
    name = f"合格者名簿_{LEVEL_NAMES[f.level] if f.level else '全級位'}.{fmt}"
    cells = [r.cells() for r in rows]
    if fmt == "csv":
        return csv_response(name, passes_ops.REGISTER_HEADER, cells)
    return xlsx_response(name, passes_ops.REGISTER_HEADER, cells, title="合格者名簿")


# ---- special and transitional passes ----------------------------------------------------

def _special_page(form=None, upload=None, problems=None, status=200):
    records = passes_ops.special_passes()
    can_edit = current_user.has_role(*PASS_EDIT_ROLES)
    return render_template("register/special.html", records=records,
                           deemed=passes_ops.deemed_by([r.id for r in records]),
                           form=(form or SpecialPassForm()).fill() if can_edit else None,
                           upload=(upload or CsvUploadForm()) if can_edit else None,
                           revoke=RevokeForm() if can_edit else None, problems=problems,
                           level_names=LEVEL_NAMES, sources=PASS_SOURCES,
                           detail=passes_ops.source_detail_text), status


@bp.get("/special")
@role_required(*REGISTER_ROLES)
def special():
    return _special_page()


@bp.post("/special")
@role_required(*PASS_EDIT_ROLES)
def special_record():
    form = SpecialPassForm().fill()
    if not form.validate_on_submit():
        _form_errors(form)
        return _special_page(form=form, status=400)
    staff = passes_ops.find_staff(form.staff_number.data)
    try:
        if staff is None:
            raise passes_ops.PassError(f"職員番号「{form.staff_number.data}」の職員が登録されていません", "staff_number")
        if form.level.data not in LEVEL_ORDER:
            raise passes_ops.PassError(f"級位「{form.level.data}」は不明です", "level")
        try:
            year = parse_fiscal_year(form.fiscal_year.data)
        except ValueError as exc:
            raise passes_ops.PassError(str(exc), "fiscal_year") from None
        at_pass = form.affiliation_at_pass.data
        record, implied = passes_ops.record_special_pass(
            passes_ops.SpecialPass(staff, form.level.data, form.source.data, form.source_detail.data,
                                   year, form.evidence.data),
            current_user.id, affiliation_at_pass_id=int(at_pass) if at_pass and at_pass.isdigit() else None)
        db.session.commit()
    except passes_ops.PassError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _special_page(form=form, status=400)
    except IntegrityError:
        db.session.rollback()
        flash("同じ職員・級位の合格記録が同時に登録されました。一覧を確認してください。", "error")
        return _special_page(form=form, status=409)
    deemed = "、".join(LEVEL_NAMES[r.level] for r in implied)
    flash(f"{staff.name_kanji}の{LEVEL_NAMES[record.level]}（{PASS_SOURCES[record.source]}）を記録しました。"
          + (f"下位の{deemed}も合格とみなしました。" if deemed else ""), "info")
    return redirect(url_for(".special"))


@bp.post("/special/import")
@role_required(*PASS_EDIT_ROLES)
def special_import():
    upload = CsvUploadForm()
    if not upload.validate_on_submit():
        _form_errors(upload)
        return _special_page(upload=upload, status=400)
    name = upload.file.data.filename or ""
    try:
        result = passes_ops.import_special_passes(upload.file.data.read(), current_user.id, filename=name)
    except CsvImportError as exc:
        db.session.rollback()
        return _special_page(upload=upload, problems=exc.problems, status=400)
    except IntegrityError:
        db.session.rollback()
        flash("取込中に同じ合格記録が登録されました。もう一度取り込んでください。", "error")
        return _special_page(upload=upload, status=409)
    summary = f"{len(result.records)}件の特例合格と、みなし合格{len(result.implied)}件"
    if upload.dry_run.data:
        db.session.rollback()        # the same checks and writes, undone: nothing is stored
        flash(f"確認のみ: エラーはありません。取り込むと{summary}が登録されます。", "info")
        return _special_page(upload=upload)
    db.session.commit()
    flash(f"{summary}を登録しました。", "info")
    return redirect(url_for(".special"))


@bp.post("/special/<int:record_id>/revoke")
@role_required(*PASS_EDIT_ROLES)
def special_revoke(record_id: int):
    record = db.session.get(PassRecord, record_id)
    if record is None:
        abort(404)
    form = RevokeForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return redirect(url_for(".special"))
    try:
        removed = passes_ops.revoke_special_pass(record, form.reason.data, current_user.id)
        db.session.commit()
    except passes_ops.PassError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".special"))
    flash(f"合格記録{len(removed)}件（みなし合格を含む）を取り消しました。", "info")
    return redirect(url_for(".special"))


# ---- notices ------------------------------------------------------------------------------

@bp.get("/notices")
@role_required(*NOTICE_ROLES)
def notices():
    return render_template("register/notices.html", notices=notice_ops.all_notices(),
                           status=notice_ops.status, resend=ResendForm(), level_names=LEVEL_NAMES,
                           mail_on=mailer.configured(current_app.config),
                           affiliation_names={a.id: a.name for a in passes_ops.affiliations()})


@bp.post("/notices/<int:notice_id>/resend")
@role_required(*NOTICE_ROLES)
def notice_resend(notice_id: int):
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        abort(404)
    if not ResendForm().validate_on_submit():
        abort(400)
    try:
        notice_ops.resend(notice, current_user.id)
        db.session.commit()
    except notice_ops.NoticeError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".notices"))
    [notice] = notice_ops.send_emails([notice_id], current_user.id)   # nothing written meanwhile
    db.session.commit()
    if notice.emailed_at:
        flash("メールを送信しました。", "info")
    else:
        flash(f"メールを送信できませんでした: {notice.email_error}", "error")
    return redirect(url_for(".notices"))


@bp.get("/notices/print")
@role_required(*NOTICE_ROLES)
def notice_print():
    ids = [int(i) for i in request.args.getlist("id") if i.isdigit()][:200]
    chosen = list(db.session.scalars(select(Notice).where(Notice.id.in_(ids)).order_by(Notice.id))) if ids else []
    if not chosen:
        abort(404)
    audit.record("notice_printed", current_user.id, notice_ids=[n.id for n in chosen])
    db.session.commit()
    return render_template("register/notice_print.html", notices=chosen, level_names=LEVEL_NAMES,
                           reference=REGULATION_REFERENCE,
                           affiliation_names={a.id: a.name for a in passes_ops.affiliations()},
                           day=lambda n: format_date_jp(to_jst(n.created_at).date()))


@bp.get("/notices/print.css")
@role_required(*NOTICE_ROLES)
def notice_css():
    # Served from here: the content security policy forbids inline styles.
    return Response(render_template("register/notice_print.css"), mimetype="text/css")


# ---- periodic training ------------------------------------------------------------------

def _training_page(form=None, upload=None, problems=None, status=200):
    only_due = request.args.get("due") == "1"
    affiliation_id = request.args.get("affiliation", type=int)
    year = passes_ops.current_fiscal_year()
    rows = training_ops.training_rows(current_year=year)
    if affiliation_id:
        rows = [r for r in rows if r.staff.affiliation_id == affiliation_id]
    due_count = sum(1 for r in rows if r.status.due_this_year)
    if only_due:
        rows = [r for r in rows if r.status.due_this_year]
    can_edit = current_user.has_role(*TRAINING_EDIT_ROLES)
    return render_template("register/training.html", rows=rows, year=year, only_due=only_due,
                           due_count=due_count, affiliation_id=affiliation_id,
                           affiliations=passes_ops.affiliations(),
                           form=(form or TrainingForm()) if can_edit else None,
                           upload=(upload or CsvUploadForm()) if can_edit else None,
                           problems=problems, recent=training_ops.recent_records(20)), status


@bp.get("/training")
@role_required(*REGISTER_ROLES)
def training():
    return _training_page()


@bp.post("/training")
@role_required(*TRAINING_EDIT_ROLES)
def training_record():
    form = TrainingForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return _training_page(form=form, status=400)
    try:
        staff = passes_ops.find_staff(form.staff_number.data)
        if staff is None:
            raise training_ops.TrainingError(f"職員番号「{form.staff_number.data}」の職員が登録されていません")
        try:
            day = parse_date(form.attended_on.data)
        except DateParseError as exc:
            raise training_ops.TrainingError(str(exc), "attended_on") from None
        training_ops.record_attendance(staff, day, form.course.data, current_user.id)
        db.session.commit()
    except training_ops.TrainingError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _training_page(form=form, status=400)
    except IntegrityError:
        db.session.rollback()
        flash("同じ受講記録が同時に登録されました。", "error")
        return _training_page(form=form, status=409)
    flash(f"{staff.name_kanji}の{format_date_jp(day)}の受講を記録しました。", "info")
    return redirect(url_for(".training"))


@bp.post("/training/import")
@role_required(*TRAINING_EDIT_ROLES)
def training_import():
    upload = CsvUploadForm()
    if not upload.validate_on_submit():
        _form_errors(upload)
        return _training_page(upload=upload, status=400)
    name = upload.file.data.filename or ""
    try:
        added = training_ops.import_training(upload.file.data.read(), current_user.id, filename=name)
    except CsvImportError as exc:
        db.session.rollback()
        return _training_page(upload=upload, problems=exc.problems, status=400)
    except IntegrityError:
        db.session.rollback()
        flash("取込中に同じ受講記録が登録されました。もう一度取り込んでください。", "error")
        return _training_page(upload=upload, status=409)
    if upload.dry_run.data:
        db.session.rollback()
        flash(f"確認のみ: エラーはありません。取り込むと{len(added)}件の受講記録が登録されます。", "info")
        return _training_page(upload=upload)
    db.session.commit()
    flash(f"{len(added)}件の受講記録を登録しました。", "info")
    return redirect(url_for(".training"))


@bp.app_template_filter("register_level")
def _level_name(level):
    return LEVEL_NAMES.get(level, level)


@bp.app_template_filter("register_date")
def _date_jp(day):
    return "" if day is None else format_date_jp(day)
