"""The committee's decisions on a session's sheets: written scores entered or imported,
corrections of questions (void, corrected key) and regrading, certification in bulk or
singly, and revoking a certification. Only the vice-chair and chair act; every decision is
in the audit log."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from scoring.csvtable import CsvImportError
from scoring.eligibility import LEVEL_NAMES
from scoring.jpdate import format_date_jp
from scoring.results import effective_rules

from ..auth.routes import role_required
from ..banks.versions import snapshot
from ..core import audit
from ..extensions import db
from ..models import PROCEDURES
from ..register import notices as notice_ops
from . import bp, certification
from .corrections import make_correction, regrade_session, session_questions
from .forms import (CertifyForm, CorrectionForm, RegradeForm, RevokeCertificationForm,
                    WrittenImportForm, WrittenScoresForm)
from .routes import (ACT_ROLES, RESULT_NAMES, VIEW_ROLES, can_act, session_or_404, source_name,
                     users_by_id)
from .scoring import ReviewError, correction_rules, corrections_of, question_rates, session_format
from .written import import_written_csv, save_written_scores, written_candidates


def _written_page(session, problems=None, status=200):
    fmt, written_max = session_format(session.id)
    candidates = written_candidates(session) if fmt != "cbt" else []
    users = users_by_id([w.entered_by for _s, _u, w in candidates if w])
    return render_template("review/written.html", session=session, fmt=fmt, written_max=written_max,
                           candidates=candidates,
                           users=users, form=WrittenScoresForm(), import_form=WrittenImportForm(),
                           problems=problems or [], can_act=can_act(), values=request.form), status


@bp.get("/sessions/<int:session_id>/written")
@role_required(*VIEW_ROLES)
def written(session_id: int):
    return _written_page(session_or_404(session_id))


@bp.post("/sessions/<int:session_id>/written")
@role_required(*ACT_ROLES)
def written_save(session_id: int):
    session = session_or_404(session_id)
    if not WrittenScoresForm().validate_on_submit():
        abort(400)
    entries = {}
    for name, value in request.form.items():
        if name.startswith("score-"):
            try:
                entries[int(name[len("score-"):])] = value
            except ValueError:
                abort(400)
    try:
        changed = save_written_scores(session, entries, current_user)
    except ReviewError as exc:
        db.session.rollback()
        return _written_page(session, str(exc).splitlines(), 400)
    db.session.commit()
    flash(f"筆記試験の得点を保存しました（{changed}件を更新）。", "info")
    return redirect(url_for(".written", session_id=session.id))


@bp.post("/sessions/<int:session_id>/written/import")
@role_required(*ACT_ROLES)
def written_import(session_id: int):
    session = session_or_404(session_id)
    form = WrittenImportForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _written_page(session, [e for errs in form.errors.values() for e in errs], 400)
    try:
        changed = import_written_csv(session, form.file.data.read(), current_user)
    except CsvImportError as exc:
        db.session.rollback()
        audit.record("written_scores_import_refused", current_user.id, session_id=session.id,
                     problems=[str(p) for p in exc.problems][:50])
        db.session.commit()
        return _written_page(session, [str(p) for p in exc.problems], 400)
    db.session.commit()
    flash(f"筆記試験の得点を取り込みました（{changed}件を更新）。", "info")
    return redirect(url_for(".written", session_id=session.id))


def _correction_form(session, questions):
    form = CorrectionForm()
    # The shorthand {value: label}: tuples are deprecated in WTForms 3.3.
    form.question_id.choices = {"": "—", **{q.id: f"{q.id}（{q.topic}）" for q, _n in questions}}
    return form


def _corrections_page(session, form, status=200):
    questions = session_questions(session)
    rates = question_rates(session)
    in_force = effective_rules(correction_rules(corrections_of(session.id)))
    corrections = corrections_of(session.id)
    users = users_by_id([c.made_by for c in corrections])
    blueprint, _q = snapshot(session.bank_version)
    return render_template("review/corrections.html", session=session, questions=questions,
                           rates=rates, in_force=in_force, form=form, users=users,
                           corrections=corrections, can_act=can_act(),
                           blueprint=blueprint, regrade_form=RegradeForm()), status


@bp.get("/sessions/<int:session_id>/corrections")
@role_required(*VIEW_ROLES)
def corrections(session_id: int):
    session = session_or_404(session_id)
    return _corrections_page(session, _correction_form(session, session_questions(session)))


@bp.post("/sessions/<int:session_id>/corrections")
@role_required(*ACT_ROLES)
def correction_add(session_id: int):
    session = session_or_404(session_id)
    form = _correction_form(session, session_questions(session))
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _corrections_page(session, form, 400)
    try:
        correction, report = make_correction(
            session, form.question_id.data, form.action.data, form.answer.data, form.reason.data,
            current_user)
    except ReviewError as exc:
        db.session.rollback()
        form.reason.errors = list(form.reason.errors) + [str(exc)]
        return _corrections_page(session, form, 400)
    db.session.commit()
    flash(f"問題「{correction.question_id}」を訂正し、{report.regraded}件の答案を再採点しました"
          f"（合否が変わった答案: {len(report.changed)}件）。", "info")
    if report.attention:
        flash(f"認定済みの答案のうち{len(report.attention)}件は、認定した結果と現在の結果が異なります。"
              "認定はそのままです。答案一覧の「要確認」を確認してください。", "error")
    return redirect(url_for(".corrections", session_id=session.id))


@bp.post("/sessions/<int:session_id>/regrade")
@role_required(*ACT_ROLES)
def regrade(session_id: int):
    session = session_or_404(session_id)
    if not RegradeForm().validate_on_submit():
        abort(400)
    report = regrade_session(session.id)
    audit.record("session_regraded", current_user.id, session_id=session.id, regraded=report.regraded,
                 changed=report.changed, attention=report.attention)
    db.session.commit()
    flash(f"{report.regraded}件の答案を再採点しました（合否が変わった答案: {len(report.changed)}件）。", "info")
    return redirect(url_for(".session_page", session_id=session.id))


@bp.post("/sessions/<int:session_id>/certify")
@role_required(*ACT_ROLES)
def certify(session_id: int):
    session = session_or_404(session_id)
    form = CertifyForm()
    back = url_for(".session_page", session_id=session.id)
    if not form.validate_on_submit():
        form.refusal_flashed()
        return redirect(back)
    try:
        ids = [int(v) for v in request.form.getlist("attempt")]
        written_ids = [int(v) for v in request.form.getlist("written")]
        member_ids = [int(v) for v in request.form.getlist("member")]
    except ValueError:
        abort(400)
    all_passing = bool(form.all_passing.data)
    if not all_passing and not ids and not written_ids:
        flash("認定する答案を選んでください。", "error")
        return redirect(back)
    decision = certification.DecisionInput(form.procedure.data, form.held_on.data, member_ids)
    try:
        report = certification.certify(session, ids, current_user, all_passing=all_passing,
                                       written_ids=written_ids, decision=decision)
    except ReviewError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(back)
    db.session.commit()
    if notice_ops.send_emails(report.notice_ids, current_user.id):    # once the notices are stored
        db.session.commit()
    passed = sum(1 for c in report.certified if c.passed)
    flash(f"{len(report.certified)}件を認定しました（合格{passed}件、不合格{len(report.certified) - passed}件）。"
          + (f"認定済みの{report.already}件はそのままです。" if report.already else ""), "info")
    if report.certified:
        d = report.decision
        flash(f"委員会の決定（{format_date_jp(d.held_on)}、{PROCEDURES[d.procedure]}、委員{len(d.members)}人）"
              "として記録しました。", "info")
    if report.new_passes:
        flash(f"合格者{len(report.new_passes)}人を合格者名簿に記載し、所属の長への通知を作成しました。", "info")
    for row, record in report.kept_passes:
        flash(f"{row.name}さんは既に{LEVEL_NAMES.get(session.level, session.level)}の合格記録"
              f"（{source_name(record.source)}）があるため、合格者名簿の記録はそのままです。", "info")
    for row, reason in report.skipped:
        flash(f"{row.name}さんの答案は認定できません: {reason}", "error")
    return redirect(back)


@bp.post("/sessions/<int:session_id>/certifications/<int:certification_id>/revoke")
@role_required(*ACT_ROLES)
def revoke_certification(session_id: int, certification_id: int):
    session = session_or_404(session_id)
    row = certification.certification_row(session, certification_id)
    if row is None:
        abort(404)
    back = url_for(".session_page", session_id=session.id)
    form = RevokeCertificationForm()
    if not form.validate_on_submit():
        form.refusal_flashed()
        return redirect(back)
    try:
        report = certification.revoke_certification(session, row, form.reason.data, current_user)
    except ReviewError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(back)
    db.session.commit()
    if report.notices:                  # the head is e-mailed once the withdrawal is stored
        notice_ops.send_withdrawals(report.notices, current_user.id)
        db.session.commit()
    for category, message in _revocation_messages(session, report):
        flash(message, category)
    return redirect(back)


def _revocation_messages(session, report):
    """(category, message) for what the revocation did and what it leaves to the committee."""
    row, level = report.row, LEVEL_NAMES.get(session.level, session.level)
    out = [("info", f"{row.name}さんの認定（{RESULT_NAMES[report.certified_passed]}）を取り消しました。"
                    f"現在の結果（{RESULT_NAMES[row.result.passed]}）で改めて認定できます。"
                    "認定するまで受検者には結果が表示されません。")]
    if report.removed_pass:
        out.append(("info", f"合格者名簿から{level}の合格記録を削除しました。"
                    + (f"所属の長への合格者通知{len(report.notices)}件を取り消しました。" if report.notices else "")))
    if report.kept_pass:
        out.append(("info", f"{level}の合格記録（{source_name(report.kept_pass.source)}）はこの認定によるものではないため、"
                            "合格者名簿の記録はそのままです。"))
    for higher in report.stranded:
        out.append(("error", f"注意: {row.name}さんには{LEVEL_NAMES[higher]}の合格記録があり、{level}の合格はその受検資格"
                             f"（第3-4）でした。{LEVEL_NAMES[higher]}の合格記録は変更していません。合格者名簿を確認してください。"))
    mailed = [w for w in report.notices if w.mailed]
    if mailed:
        out.append(("info", f"所属の長に合格者通知の取消しをメールで送信しました（{len(mailed)}件）。"))
    for w in report.notices:
        if w.mail_error:
            out.append(("error", f"所属の長への取消しのメールを送信できませんでした: {w.mail_error}。"
                                 "別の方法で所属の長に連絡してください。"))
        elif not w.mailed and w.emailed_before:
            out.append(("error", "所属の長には合格をメールで通知済みですが、メールサーバが設定されていないため、"
                                 "取消しはシステム上のみです。別の方法で所属の長に連絡してください。"))
    return out
