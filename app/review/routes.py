"""Scored-sheet review (答案の確認), the written part, corrections with regrading, and
certification (第2-2). Committee members see everything here (names and staff numbers
included: they may, domain.md); only the vice-chair and the chair change anything.

What the pages compute lives in this package's operations (sheets.py, scoring.py,
corrections.py, written.py, certification.py) and scoring/results.py
(pure rules); these handlers check access, call them and commit."""
from __future__ import annotations

from flask import abort, render_template, request, url_for
from markupsafe import Markup
from flask_login import current_user
from sqlalchemy import func, select

from scoring.eligibility import LEVEL_NAMES
from scoring.results import area_rates, histogram, pooled, pooled_rates

from ..auth.routes import role_required
from ..banks.versions import snapshot
from ..core import audit
from ..core.exports import csv_response, xlsx_response
from ..core.filters import jst
from ..extensions import db
from ..models import (PASS_SOURCES, PROCEDURES, ROLE_NAMES, SESSION_FORMATS, Affiliation, Attempt,
                      Certification, CommitteeDecision, ExamSession, User, WrittenScore)
from ..people.appointments import committee_members, today_jst
from ..room.ops import ACTION_NAMES, room_flags, sheet_events
from . import bp
from .forms import CertifyForm, RegradeForm, RevokeCertificationForm
from .scoring import corrections_of, session_format
from .sheets import (certified_result, certified_written_results, review_rows, row_for_attempt,
                     sheet_items, wrong_only)

VIEW_ROLES = ("committee", "vice_chair", "chair")


ACT_ROLES = ("vice_chair", "chair")


RESULT_NAMES = {True: "合格", False: "不合格", None: "未確定"}


SUBMITTED_BY = {"candidate": "本人", "deadline": "時間切れ", "terminated": "受検中止"}


def session_or_404(session_id: int) -> ExamSession:
    session = db.session.get(ExamSession, session_id)
    if session is None:
        abort(404)
    return session


def users_by_id(ids) -> dict[int, User]:
    ids = {i for i in ids if i is not None}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def can_act() -> bool:
    return current_user.has_role(*ACT_ROLES)


def session_decisions(session_id: int) -> list[tuple[CommitteeDecision, int]]:
    """The committee's decisions on a session's sheets, the latest first, with the number of
    certifications each still stands for (a revoked one no longer counts)."""
    counts = dict(db.session.execute(
        select(Certification.decision_id, func.count()).join(CommitteeDecision)
        .where(CommitteeDecision.session_id == session_id).group_by(Certification.decision_id)).all())
    decisions = db.session.scalars(select(CommitteeDecision).where(CommitteeDecision.session_id == session_id)
                                   .order_by(CommitteeDecision.held_on.desc(), CommitteeDecision.id.desc()))
    return [(d, counts.get(d.id, 0)) for d in decisions]


def _certified_counts() -> dict[int, int]:
    """Certifications per session: of CBT sheets, and of written scores without a sheet."""
    out: dict[int, int] = {}
    for key, origin in ((Attempt.session_id, Certification.attempt_id == Attempt.id),
                        (WrittenScore.session_id, Certification.written_score_id == WrittenScore.id)):
        for sid, n in db.session.execute(select(key, func.count()).join(Certification, origin)
                                         .group_by(key)).all():
            out[sid] = out.get(sid, 0) + n
    return out


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
    rows = review_rows(session)
    shown, sort, desc = _sorted(_filtered(rows, request.args), request.args)
    return rows, shown, sort, desc


def _area_rate(row, area):
    c, t = row.by_area.get(area, (0, 0))
    return c * 100 // t if t else None


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


# Where a Japanese label may wrap: after these, and before those (Table 2's names read
# "…の / …ネットワーク / に関する知識"); never inside a word.
BREAK_AFTER = ("の", "及び", "並びに", "、")
BREAK_BEFORE = ("に関する",)


def phrases(text: str) -> list[str]:
    """A Japanese label cut where a line may break (BREAK_AFTER, BREAK_BEFORE)."""
    pieces, start = [], 0
    for i in range(1, len(text)):
        after = text[:i].endswith(BREAK_AFTER) and not text.startswith("他", i)   # その他の
        if after or text.startswith(BREAK_BEFORE, i):
            pieces.append(text[start:i])
            start = i
    pieces.append(text[start:])
    return pieces


def wrap_label(text: str, width: int = 14) -> list[str]:
    """A label in lines of about `width` characters, broken only at phrase boundaries; a
    phrase longer than `width` stays whole on its line."""
    lines: list[str] = []
    for piece in phrases(text):
        if lines and len(lines[-1]) + len(piece) <= width:
            lines[-1] += piece
        else:
            lines.append(piece)
    return lines


def area_chart(rows, areas):
    """Horizontal bars, the whole area names wrapped in a column of their own."""
    rates = pooled_rates([r.by_area for r in rows])
    font, line_h, scale = 11, 14, 3
    labelled = [(key, name, wrap_label(name)) for key, name in areas if rates.get(key) is not None]
    widest = max((len(line) for _k, _n, lines in labelled for line in lines), default=0)
    left = widest * (font + 1) + 12          # full-width characters: about one em each
    bars, y = [], 8
    for key, name, lines in labelled:
        rate = rates[key]
        h = max(28, len(lines) * line_h + 10)
        bars.append({"y": y + (h - 18) // 2, "w": rate * scale, "rate": rate, "name": name,
                     "key": key, "lines": lines, "label_x": left + rate * scale + 6,
                     "text_y": y + (h - len(lines) * line_h) // 2 + font})
        y += h
    return {"bars": bars, "left": left, "line_x": left + 70 * scale, "scale": scale,
            "line_h": line_h, "width": left + 100 * scale + 50, "height": y + 8,
            # The same figures as a table: full names at any width, and numbers to read out.
            "table": area_rates(pooled([r.by_area for r in rows]), areas)}


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
    formats = {s.id: session_format(s.id)[0] for s in sessions}
    return render_template("review/index.html", sessions=sessions, submitted=submitted,
                           certified=certified, written=written, formats=formats,
                           format_names=SESSION_FORMATS, level_names=LEVEL_NAMES)


@bp.get("/sessions/<int:session_id>")
@role_required(*VIEW_ROLES)
def session_page(session_id: int):
    session = session_or_404(session_id)
    rows, shown, sort, desc = _listing(session)
    fmt, written_max = session_format(session.id)
    areas = _areas(session, rows)
    corrections = corrections_of(session.id)
    users = users_by_id([c.made_by for c in corrections])
    affiliations = list(db.session.scalars(select(Affiliation).order_by(Affiliation.code)))
    return render_template(
        "review/session.html", session=session, rows=shown, all_rows=rows, sort=sort, desc=desc,
        fmt=fmt, format_names=SESSION_FORMATS, written_max=written_max, areas=areas,
        area_rate=_area_rate, hist=histogram_chart(shown), area_svg=area_chart(shown, areas),
        corrections=corrections, users=users, affiliations=affiliations, args=request.args,
        flags=room_flags(session.id),
        attention=[r for r in rows if r.attention], can_act=can_act(),
        certify_form=CertifyForm(formdata=None, held_on=today_jst()), regrade_form=RegradeForm(),
        revoke_form=RevokeCertificationForm(), result_names=RESULT_NAMES,
        decisions=session_decisions(session.id), members=committee_members(),
        seat_names=ROLE_NAMES, undecided=sum(1 for r in rows if r.certification and r.certification.decision_id is None),
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
    header += ["結果", "認定", "認定日時", "委員会の決定", "要確認"] + [f"分野別正答率(%) {name}" for _k, name in areas] + \
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
                 "" if cert is None else _jst(cert.certified_at), _decision_text(cert),
                 "要確認" if r.attention else ""]
        line += [_area_rate(r, k) for k, _n in areas]
        line += [_jst(r.attempt.submitted_at) if r.attempt else "",
                 SUBMITTED_BY.get(r.attempt.submitted_by, r.attempt.submitted_by) if r.attempt else ""]
        out.append(line)
    return header, out


def _decision_text(cert) -> str:
    """The committee's decision of a certification, for the export (第2-2)."""
    if cert is None:
        return ""
    d = cert.decision
    if d is None:
        return "記録なし"
    return (f"{d.held_on.isoformat()} {PROCEDURES[d.procedure]}（"
            + "、".join(m.user.display_name for m in d.members) + "）")


def _jst(value):
    return jst(value, "%Y-%m-%d %H:%M:%S")


@bp.get("/sessions/<int:session_id>/export.<fmt>")
@role_required(*VIEW_ROLES)
def export(session_id: int, fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    session = session_or_404(session_id)
    rows, shown, _sort, _desc = _listing(session)
    header, out = _export_rows(session, shown, _areas(session, rows), session_format(session.id)[0])
    audit.record("sheets_exported", current_user.id, session_id=session.id, format=fmt, rows=len(out))
    db.session.commit()
    name = f"scored-sheets-{session.id}.{fmt}"
    if fmt == "csv":
        return csv_response(name, header, out)
    return xlsx_response(name, header, out, title="答案一覧")


@bp.get("/sessions/<int:session_id>/sheets/<int:attempt_id>")
@role_required(*VIEW_ROLES)
def sheet(session_id: int, attempt_id: int):
    session = session_or_404(session_id)
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.session_id != session.id or not attempt.finished:
        abort(404)
    row = row_for_attempt(session, attempt.id)
    items = sheet_items(attempt)
    wrong = wrong_only(items)
    # 誤答のみ: a plain GET parameter, so the filter works without script and can be linked.
    only_wrong = request.args.get("wrong") == "1"
    blueprint, _q = snapshot(attempt.bank_version)
    events = sheet_events(attempt)
    return render_template("review/sheet.html", session=session, attempt=attempt, row=row,
                           items=wrong if only_wrong else items, only_wrong=only_wrong,
                           counts={"all": len(items), "wrong": len(wrong)},
                           areas=area_rates(row.by_area, [(k, a.name) for k, a in blueprint.areas.items()]),
                           blueprint=blueprint, result_names=RESULT_NAMES, submitted_by=SUBMITTED_BY,
                           can_act=can_act(), revoke_form=RevokeCertificationForm(),
                           events=events, action_names=ACTION_NAMES, event_time=_event_time,
                           event_users=users_by_id(e.by for e in events),
                           terminated=next((e for e in reversed(events) if e.action == "terminate"), None))


def _duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}分" + (f"{rest}秒" if rest else "") if minutes else f"{rest}秒"


def _event_time(event) -> str:
    """The time an entry of the room's log gave the candidate, in words."""
    if not event.seconds or event.action not in ("add_time", "move", "resume"):
        return ""
    why = {"add_time": "", "move": "（失われた時間の返還）", "resume": "（中断していた時間）"}[event.action]
    return f"+{_duration(event.seconds)}{why}"


def source_name(source: str) -> str:
    return PASS_SOURCES.get(source, source)


@bp.app_template_filter("phrase_breaks")
def _phrase_breaks(text):
    """The label with <wbr> between its phrases: with `word-break: keep-all` (CSS) a
    narrow cell wraps it there rather than anywhere inside a word."""
    return Markup("<wbr>").join(phrases(text))


# A committee decision's procedure as the review pages name it (会議, 書面).
bp.add_app_template_global(PROCEDURES, "procedure_names")


# What the candidate pages show: the result only once certified (第2-2).
@bp.app_template_global("certified_result")
def _certified_result(attempt):
    return certified_result(attempt)


@bp.app_template_global("certified_written_results")
def _certified_written_results(user):
    return certified_written_results(user) if user.is_authenticated else []
