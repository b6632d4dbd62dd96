"""Scored-sheet review (答案の確認), the written part, corrections with regrading, and
certification (第2-2). Committee members see everything here (names and staff numbers
included: they may, domain.md); only the vice-chair and the chair change anything.

What the pages compute lives in app/review_ops.py (operations) and scoring/results.py
(pure rules); these handlers check access, call them and commit."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from scoring.csvtable import CsvImportError
from scoring.eligibility import LEVEL_NAMES
from scoring.results import histogram, pooled_rates

from .. import audit, notices as notice_ops, review_ops
from ..auth.routes import role_required
from ..banks import snapshot
from ..exam import attempt_questions
from ..exports import csv_response, xlsx_response
from ..extensions import db
from ..filters import jst
from ..models import Attempt, ExamSession, User
from ..models_register import PASS_SOURCES, SESSION_FORMATS, Affiliation, Certification, WrittenScore
from .review_forms import (CertifyForm, CorrectionForm, RegradeForm, RevokeCertificationForm,
                           WrittenImportForm, WrittenScoresForm)

bp = Blueprint("review", __name__, url_prefix="/committee/review")
VIEW_ROLES = ("committee", "vice_chair", "chair")
ACT_ROLES = ("vice_chair", "chair")
LABELS = "アイウエオカキクケコ"
RESULT_NAMES = {True: "合格", False: "不合格", None: "未確定"}
SUBMITTED_BY = {"candidate": "本人", "deadline": "時間切れ"}


def _session(session_id: int) -> ExamSession:
    session = db.session.get(ExamSession, session_id)
    if session is None:
        abort(404)
    return session


def _users(ids) -> dict[int, User]:
    ids = {i for i in ids if i is not None}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def _can_act() -> bool:
    return current_user.has_role(*ACT_ROLES)


def _certified_counts() -> dict[int, int]:
    """Certifications per session: of CBT sheets, and of written scores without a sheet."""
    out: dict[int, int] = {}
    for key, origin in ((Attempt.session_id, Certification.attempt_id == Attempt.id),
                        (WrittenScore.session_id, Certification.written_score_id == WrittenScore.id)):
        for sid, n in db.session.execute(select(key, func.count()).join(Certification, origin)
                                         .group_by(key)).all():
            out[sid] = out.get(sid, 0) + n
    return out


# --- the list ------------------------------------------------------------------------------

def _filtered(rows, args):
    result = args.get("result")
    if result in ("pass", "fail", "pending"):
        want = {"pass": True, "fail": False, "pending": None}[result]
        rows = [r for r in rows if r.result.passed is want]
    aff = args.get("affiliation", type=int)
    if aff:
        rows = [r for r in rows if r.staff is not None and r.staff.affiliation_id == aff]
    cert = args.get("certified")
    if cert in ("yes", "no"):
        rows = [r for r in rows if (r.certification is not None) == (cert == "yes")]
    if args.get("attention") == "1":
        rows = [r for r in rows if r.attention]
    return rows


SORTS = {
    "score": lambda r: (r.main.rate if r.main else -1, r.main.score if r.main else -1),
    "name": lambda r: r.sort_name,
    "submitted": lambda r: (r.when is None, r.when or 0),
}


def _sorted(rows, args):
    key = args.get("sort") if args.get("sort") in SORTS else "submitted"
    desc = args.get("order") == "desc"
    return sorted(rows, key=SORTS[key], reverse=desc), key, desc


def _areas(session, rows):
    """Areas in blueprint order, only those on some sheet: (key, name)."""
    blueprint, _q = snapshot(session.bank_version)
    present = {k for r in rows for k in r.by_area}
    return [(k, a.name) for k, a in blueprint.areas.items() if k in present]


def _listing(session):
    rows = review_ops.review_rows(session)
    shown, sort, desc = _sorted(_filtered(rows, request.args), request.args)
    return rows, shown, sort, desc


def _area_rate(row, area):
    c, t = row.by_area.get(area, (0, 0))
    return c * 100 // t if t else None


# --- charts (inline SVG: attributes only, the CSP allows no inline style) --------------------

def histogram_chart(rows):
    bins = histogram([r.main.rate for r in rows if r.main is not None])
    peak = max([b[2] for b in bins] + [1])
    left, bottom, bar, gap, height = 36, 190, 36, 4, 150
    bars = []
    for i, (low, high, count) in enumerate(bins):
        h = count * height // peak
        bars.append({"x": left + i * (bar + gap), "y": bottom - h, "w": bar, "h": h, "count": count,
                     "label": f"{low}", "title": f"{low}〜{high}%: {count}人", "passing": low >= 70})
    line_x = left + 7 * (bar + gap) - gap // 2
    return {"bars": bars, "bottom": bottom, "top": bottom - height, "left": left, "peak": peak,
            "width": left + len(bins) * (bar + gap) + 10, "height": bottom + 20, "line_x": line_x,
            "n": sum(b[2] for b in bins)}


def area_chart(rows, areas):
    """Horizontal bars, the area names in a column of their own (readable at any rate)."""
    rates = pooled_rates([r.by_area for r in rows])
    label_w, scale, row_h = 250, 3, 28
    left = label_w + 8
    bars = []
    for key, name in areas:
        rate = rates.get(key)
        if rate is None:
            continue
        y = 10 + len(bars) * row_h
        bars.append({"y": y, "w": rate * scale, "rate": rate, "name": name, "key": key,
                     "label_x": left + rate * scale + 6})
    return {"bars": bars, "left": left, "line_x": left + 70 * scale, "scale": scale,
            "width": left + 100 * scale + 50, "height": 20 + len(bars) * row_h}


# --- pages ---------------------------------------------------------------------------------

@bp.get("/")
@role_required(*VIEW_ROLES)
def index():
    sessions = list(db.session.scalars(select(ExamSession).order_by(ExamSession.opens_at.desc())))
    submitted = dict(db.session.execute(
        select(Attempt.session_id, func.count()).where(Attempt.submitted_at.is_not(None))
        .group_by(Attempt.session_id)).all())
    certified = _certified_counts()
    written = dict(db.session.execute(
        select(WrittenScore.session_id, func.count()).group_by(WrittenScore.session_id)).all())
    formats = {s.id: review_ops.session_format(s.id)[0] for s in sessions}
    return render_template("review/index.html", sessions=sessions, submitted=submitted,
                           certified=certified, written=written, formats=formats,
                           format_names=SESSION_FORMATS, level_names=LEVEL_NAMES)


@bp.get("/sessions/<int:session_id>")
@role_required(*VIEW_ROLES)
def session_page(session_id: int):
    session = _session(session_id)
    rows, shown, sort, desc = _listing(session)
    fmt, written_max = review_ops.session_format(session.id)
    areas = _areas(session, rows)
    corrections = review_ops.corrections_of(session.id)
    users = _users([c.made_by for c in corrections])
    affiliations = list(db.session.scalars(select(Affiliation).order_by(Affiliation.code)))
    return render_template(
        "review/session.html", session=session, rows=shown, all_rows=rows, sort=sort, desc=desc,
        fmt=fmt, format_names=SESSION_FORMATS, written_max=written_max, areas=areas,
        area_rate=_area_rate, hist=histogram_chart(shown), area_svg=area_chart(shown, areas),
        corrections=corrections, users=users, affiliations=affiliations, args=request.args,
        attention=[r for r in rows if r.attention], can_act=_can_act(),
        certify_form=CertifyForm(), regrade_form=RegradeForm(), revoke_form=RevokeCertificationForm(),
        result_names=RESULT_NAMES,
        submitted_by=SUBMITTED_BY, level_names=LEVEL_NAMES,
        passing_uncertified=sum(1 for r in rows if r.result.passed and r.certifiable),
        sort_url=lambda key: _sort_url(session, key, sort, desc),
        export_url=lambda fmt: url_for(".export", session_id=session.id, fmt=fmt,
                                       **request.args.to_dict()))


def _sort_url(session, key, sort, desc):
    """A column heading's link: the other direction when already sorted by it."""
    if key == sort:
        order = "asc" if desc else "desc"
    else:
        order = "desc" if key == "score" else "asc"
    args = {**request.args.to_dict(), "sort": key, "order": order}
    return url_for(".session_page", session_id=session.id, **args)


def _export_rows(session, rows, areas, fmt):
    header = ["職員番号", "氏名", "ふりがな", "所属"]
    if fmt != "written":
        header += ["得点", "満点", "正答率(%)"]
    if fmt != "cbt":
        header += ["筆記得点", "筆記満点", "筆記正答率(%)"]
    header += ["結果", "認定", "認定日時", "要確認"] + [f"分野別正答率(%) {name}" for _k, name in areas] + \
        ["提出日時", "提出区分"]
    out = []
    for r in rows:
        line = [r.staff.staff_number if r.staff else "", r.name, r.staff.name_kana if r.staff else "",
                r.staff.affiliation.name if r.staff and r.staff.affiliation else ""]
        for part, wanted in ((r.result.cbt, fmt != "written"), (r.result.written, fmt != "cbt")):
            if wanted:
                line += [part.score, part.max, part.rate] if part else ["", "", ""]
        cert = r.certification
        line += [RESULT_NAMES[r.result.passed],
                 "" if cert is None else ("認定済み（" + RESULT_NAMES[cert.passed] + "）"),
                 "" if cert is None else _jst(cert.certified_at),
                 "要確認" if r.attention else ""]
        line += [_area_rate(r, k) for k, _n in areas]
        line += [_jst(r.attempt.submitted_at) if r.attempt else "",
                 SUBMITTED_BY.get(r.attempt.submitted_by, r.attempt.submitted_by) if r.attempt else ""]
        out.append(line)
    return header, out


def _jst(value):
    return jst(value, "%Y-%m-%d %H:%M:%S")


@bp.get("/sessions/<int:session_id>/export.<fmt>")
@role_required(*VIEW_ROLES)
def export(session_id: int, fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    session = _session(session_id)
    rows, shown, _sort, _desc = _listing(session)
    header, out = _export_rows(session, shown, _areas(session, rows), review_ops.session_format(session.id)[0])
    audit.record("sheets_exported", current_user.id, session_id=session.id, format=fmt, rows=len(out))
    db.session.commit()
    name = f"scored-sheets-{session.id}.{fmt}"
    if fmt == "csv":
        return csv_response(name, header, out)
    return xlsx_response(name, header, out, title="答案一覧")


def _describe(q, order, value) -> str:
    """An answer or a key in the candidate's labels (ア, イ...) and words."""
    if value is None:
        return "（未解答）"
    if q.type in ("single", "multiple"):
        keys = [value] if q.type == "single" else list(value)
        by_key = {c.key: c for c in q.choices}
        return "、".join(f"{LABELS[order.index(k)] if k in order else k}（{k}）{by_key[k].text if k in by_key else ''}"
                        for k in sorted(keys, key=lambda k: order.index(k) if k in order else 99))
    if q.type == "true_false":
        return "正しい（○）" if value else "誤り（×）"
    if isinstance(value, (list, tuple)):
        return " ／ ".join(value)
    return str(value)


@bp.get("/sessions/<int:session_id>/sheets/<int:attempt_id>")
@role_required(*VIEW_ROLES)
def sheet(session_id: int, attempt_id: int):
    session = _session(session_id)
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.session_id != session.id or not attempt.finished:
        abort(404)
    row = review_ops.row_for_attempt(session, attempt.id)
    items, graded, in_force = review_ops.graded_positions(attempt)
    history = review_ops.save_times(attempt)
    shown = []
    for position, ((item, q), answered, g) in enumerate(zip(attempt_questions(attempt), items, graded), start=1):
        order = item["choice_order"]
        by_key = {c.key: c for c in q.choices}
        rule = in_force.get(q.id)
        key = rule.answer if rule is not None and rule.action == "rekey" else q.answer
        shown.append({
            "position": position, "q": q, "choices": [by_key[k] for k in order],
            "response": answered.response, "graded": g, "rule": rule,
            "answer_text": _describe(q, order, answered.response),
            "key_text": _describe(q, order, key),
            "original_key_text": _describe(q, order, q.answer) if rule is not None and rule.action == "rekey" else None,
            "steps": [{"seq": s.seq, "at": s.created_at, "flagged": s.flagged,
                       "text": _describe(q, order, s.response)} for s in history.get(position, [])],
        })
    blueprint, _q = snapshot(attempt.bank_version)
    return render_template("review/sheet.html", session=session, attempt=attempt, row=row, items=shown,
                           blueprint=blueprint, result_names=RESULT_NAMES, submitted_by=SUBMITTED_BY,
                           can_act=_can_act(), revoke_form=RevokeCertificationForm())


# --- the written part ------------------------------------------------------------------------

def _written_page(session, problems=None, status=200):
    fmt, written_max = review_ops.session_format(session.id)
    candidates = review_ops.written_candidates(session) if fmt != "cbt" else []
    users = _users([w.entered_by for _s, _u, w in candidates if w])
    return render_template("review/written.html", session=session, fmt=fmt, written_max=written_max,
                           candidates=candidates,
                           users=users, form=WrittenScoresForm(), import_form=WrittenImportForm(),
                           problems=problems or [], can_act=_can_act(), values=request.form), status


@bp.get("/sessions/<int:session_id>/written")
@role_required(*VIEW_ROLES)
def written(session_id: int):
    return _written_page(_session(session_id))


@bp.post("/sessions/<int:session_id>/written")
@role_required(*ACT_ROLES)
def written_save(session_id: int):
    session = _session(session_id)
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
        changed = review_ops.save_written_scores(session, entries, current_user)
    except review_ops.ReviewError as exc:
        db.session.rollback()
        return _written_page(session, str(exc).splitlines(), 400)
    db.session.commit()
    flash(f"筆記試験の得点を保存しました（{changed}件を更新）。", "info")
    return redirect(url_for(".written", session_id=session.id))


@bp.post("/sessions/<int:session_id>/written/import")
@role_required(*ACT_ROLES)
def written_import(session_id: int):
    session = _session(session_id)
    form = WrittenImportForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _written_page(session, [e for errs in form.errors.values() for e in errs], 400)
    try:
        changed = review_ops.import_written_csv(session, form.file.data.read(), current_user)
    except CsvImportError as exc:
        db.session.rollback()
        audit.record("written_scores_import_refused", current_user.id, session_id=session.id,
                     problems=[str(p) for p in exc.problems][:50])
        db.session.commit()
        return _written_page(session, [str(p) for p in exc.problems], 400)
    db.session.commit()
    flash(f"筆記試験の得点を取り込みました（{changed}件を更新）。", "info")
    return redirect(url_for(".written", session_id=session.id))


# --- corrections -------------------------------------------------------------------------------

def _correction_form(session, questions):
    form = CorrectionForm()
    # The shorthand {value: label}: tuples are deprecated in WTForms 3.3.
    form.question_id.choices = {"": "—", **{q.id: f"{q.id}（{q.topic}）" for q, _n in questions}}
    return form


def _corrections_page(session, form, status=200):
    questions = review_ops.session_questions(session)
    rates = review_ops.question_rates(session)
    in_force = review_ops.effective_rules(review_ops.correction_rules(review_ops.corrections_of(session.id)))
    corrections = review_ops.corrections_of(session.id)
    users = _users([c.made_by for c in corrections])
    blueprint, _q = snapshot(session.bank_version)
    return render_template("review/corrections.html", session=session, questions=questions,
                           rates=rates, in_force=in_force, form=form, users=users,
                           corrections=corrections, can_act=_can_act(),
                           blueprint=blueprint, regrade_form=RegradeForm()), status


@bp.get("/sessions/<int:session_id>/corrections")
@role_required(*VIEW_ROLES)
def corrections(session_id: int):
    session = _session(session_id)
    return _corrections_page(session, _correction_form(session, review_ops.session_questions(session)))


@bp.post("/sessions/<int:session_id>/corrections")
@role_required(*ACT_ROLES)
def correction_add(session_id: int):
    session = _session(session_id)
    form = _correction_form(session, review_ops.session_questions(session))
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _corrections_page(session, form, 400)
    try:
        correction, report = review_ops.make_correction(
            session, form.question_id.data, form.action.data, form.answer.data, form.reason.data,
            current_user)
    except review_ops.ReviewError as exc:
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
    session = _session(session_id)
    if not RegradeForm().validate_on_submit():
        abort(400)
    report = review_ops.regrade_session(session.id)
    audit.record("session_regraded", current_user.id, session_id=session.id, regraded=report.regraded,
                 changed=report.changed, attention=report.attention)
    db.session.commit()
    flash(f"{report.regraded}件の答案を再採点しました（合否が変わった答案: {len(report.changed)}件）。", "info")
    return redirect(url_for(".session_page", session_id=session.id))


# --- certification -----------------------------------------------------------------------------

@bp.post("/sessions/<int:session_id>/certify")
@role_required(*ACT_ROLES)
def certify(session_id: int):
    session = _session(session_id)
    form = CertifyForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        ids = [int(v) for v in request.form.getlist("attempt")]
        written_ids = [int(v) for v in request.form.getlist("written")]
    except ValueError:
        abort(400)
    all_passing = bool(form.all_passing.data)
    if not all_passing and not ids and not written_ids:
        flash("認定する答案を選んでください。", "error")
        return redirect(url_for(".session_page", session_id=session.id))
    try:
        report = review_ops.certify(session, ids, current_user, all_passing=all_passing,
                                    written_ids=written_ids)
    except review_ops.ReviewError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".session_page", session_id=session.id))
    db.session.commit()
    if notice_ops.send_emails(report.notice_ids, current_user.id):    # once the notices are stored
        db.session.commit()
    passed = sum(1 for c in report.certified if c.passed)
    flash(f"{len(report.certified)}件を認定しました（合格{passed}件、不合格{len(report.certified) - passed}件）。"
          + (f"認定済みの{report.already}件はそのままです。" if report.already else ""), "info")
    if report.new_passes:
        flash(f"合格者{len(report.new_passes)}人を合格者名簿に記載し、所属の長への通知を作成しました。", "info")
    for row, record in report.kept_passes:
        flash(f"{row.name}さんは既に{LEVEL_NAMES.get(session.level, session.level)}の合格記録"
              f"（{_source_name(record.source)}）があるため、合格者名簿の記録はそのままです。", "info")
    for row, reason in report.skipped:
        flash(f"{row.name}さんの答案は認定できません: {reason}", "error")
    return redirect(url_for(".session_page", session_id=session.id))


@bp.post("/sessions/<int:session_id>/certifications/<int:certification_id>/revoke")
@role_required(*ACT_ROLES)
def revoke_certification(session_id: int, certification_id: int):
    session = _session(session_id)
    row = review_ops.certification_row(session, certification_id)
    if row is None:
        abort(404)
    back = url_for(".session_page", session_id=session.id)
    form = RevokeCertificationForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        for errors in form.errors.values():
            for e in errors:
                flash(e, "error")
        return redirect(back)
    try:
        report = review_ops.revoke_certification(session, row, form.reason.data, current_user)
    except review_ops.ReviewError as exc:
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
        out.append(("info", f"{level}の合格記録（{_source_name(report.kept_pass.source)}）はこの認定によるものではないため、"
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


def _source_name(source: str) -> str:
    return PASS_SOURCES.get(source, source)


# What the candidate pages show: the result only once certified (第2-2).
@bp.app_template_global("certified_result")
def _certified_result(attempt):
    return review_ops.certified_result(attempt)


@bp.app_template_global("certified_written_results")
def _certified_written_results(user):
    return review_ops.certified_written_results(user) if user.is_authenticated else []
