"""Committee (委員会): item statistics per session and across sessions.

Scored-sheet review, certification and the register are the committee's other pages
(see the issue "Committee and register")."""
from __future__ import annotations

from flask import abort, render_template, request
from sqlalchemy import select

from scoring.grading import grade, normalize_text
from scoring.stats import Response, analyse

from ..auth.routes import role_required
from ..banks.versions import snapshot
from ..core.exports import csv_response, xlsx_response
from ..extensions import db
from ..models import Attempt, ExamSession, latest_steps
from . import stats_bp as bp

STATS_ROLES = ("committee", "vice_chair", "chair", "author")
MIN_SHEETS = 10


def _choice_label(q, response) -> str | None:
    """What the candidate picked, as the distractor table counts it."""
    if response is None:
        return None
    if q.type == "single":
        return response
    if q.type == "multiple":
        return "+".join(sorted(response))
    if q.type == "true_false":
        return "true" if response else "false"
    return normalize_text(response)[:40]


def _key_label(q) -> str:
    if q.type == "multiple":
        return "+".join(sorted(q.answer))
    if q.type == "true_false":
        return "true" if q.answer else "false"
    if q.type == "text":
        return normalize_text(q.answer[0])
    return q.answer


def collect(attempts: list[Attempt]):
    """Responses of submitted sheets, with each question's key, choices and metadata."""
    responses, key_of, choices_of, meta = [], {}, {}, {}
    for a in attempts:
        _bp, questions = snapshot(a.bank_version)
        steps = latest_steps(a.id)
        for pos, item in enumerate(a.form, start=1):
            q = questions[item["id"]]
            step = steps.get(pos)
            resp = step.response if step else None
            responses.append(Response(str(a.user_id) + "/" + str(a.id), q.id, _choice_label(q, resp),
                                      grade(q.type, q.answer, resp)))
            key_of[q.id] = _key_label(q)
            if q.type == "single":
                choices_of[q.id] = [c.key for c in q.choices]
            elif q.type == "true_false":
                choices_of[q.id] = ["true", "false"]
            meta[q.id] = q
    return responses, key_of, choices_of, meta


def _scope():
    """The sheets asked for: one session (?session=ID) or a level across sessions (?level=).
    A sheet the proctor ended for misconduct (受検中止) is left out: cut short, and its
    answers not the candidate's own work, it would tell about neither the questions nor
    the candidates."""
    sid, level = request.args.get("session", type=int), request.args.get("level")
    query = select(Attempt).where(Attempt.submitted_at.is_not(None),
                                  Attempt.submitted_by.is_distinct_from("terminated"))
    if sid:
        session = db.session.get(ExamSession, sid)
        if session is None:
            abort(404)
        return session.title, list(db.session.scalars(query.where(Attempt.session_id == sid)))
    if level:
        return f"{level}（全実施回）", list(db.session.scalars(query.where(Attempt.level == level)))
    return None, []


@bp.get("/stats")
@role_required(*STATS_ROLES)
def stats():
    sessions = list(db.session.scalars(select(ExamSession).order_by(ExamSession.opens_at.desc())))
    title, attempts = _scope()
    report = meta = None
    if title is not None:
        responses, key_of, choices_of, meta = collect(attempts)
        report = analyse(responses, min_candidates=MIN_SHEETS, key_of=key_of, choices_of=choices_of)
    return render_template("committee/stats.html", sessions=sessions, title=title, report=report,
                           meta=meta, args=request.args, min_sheets=MIN_SHEETS,
                           levels=sorted({s.level for s in sessions}))


HEADER = ["問題ID", "分野", "項目", "形式", "出題回数", "正答率p", "点双列相関(修正)", "上位下位D",
          "フラグ", "選択肢別（全体/上位/下位）"]


def _rows(report, meta):
    rows = []
    for qid, s in report.items.items():
        q = meta[qid]
        counts = "; ".join(f"{c}:{v['all']}/{v['upper']}/{v['lower']}" for c, v in s.choice_counts.items())
        rows.append([qid, q.area, q.topic, q.type, s.n, s.p, s.point_biserial, s.upper_lower_d,
                     ", ".join(s.flags), counts])
    return rows


@bp.get("/stats/export.<fmt>")
@role_required(*STATS_ROLES)
def stats_export(fmt: str):
    title, attempts = _scope()
    if title is None or fmt not in ("csv", "xlsx"):
        abort(404)
    responses, key_of, choices_of, meta = collect(attempts)
    report = analyse(responses, min_candidates=MIN_SHEETS, key_of=key_of, choices_of=choices_of)
    rows = _rows(report, meta)
    summary = [["受検者数", report.n], ["KR-20", report.kr20], ["SEM", report.sem],
               ["平均", report.mean], ["標準偏差", report.sd], ["合格率", report.pass_rate]] + \
              [["注記", n] for n in report.notes]
    name = f"item-statistics.{fmt}"
    if fmt == "csv":
        return csv_response(name, HEADER, rows + [[]] + summary)
    return xlsx_response(name, HEADER, rows + [[]] + summary, title="項目分析")


def note_ja(note: str) -> str:
    """The analysis speaks English (it is shared with the command line); the page, Japanese."""
    import re
    m = re.match(r"too few candidates \(n=(\d+) < (\d+)\)", note)
    if m:
        return f"答案が{m.group(1)}件しかありません（{m.group(2)}件未満）。統計値は意味を持たないため表示しません。"
    m = re.match(r"few candidates fail the 70% mastery cut \((\d+)% fail\)", note)
    if m:
        return (f"70%の合格基準に対し不合格者が少ない（{m.group(1)}%）ため、識別力（点双列相関・D）"
                "の値は参考程度に見てください。")
    if note.startswith("random forms"):
        return "受検者ごとに問題用紙が異なります。各問題の指標はその問題を出題された受検者で計算しています。" + \
            "（" + note + "）"
    if note.startswith("total scores do not vary"):
        return "合計点にばらつきがないため、KR-20とSEMは計算できません。"
    return note


FLAG_JA = {"p<0.2": "正答率が低すぎる（p<0.2）", "p>0.95": "正答率が高すぎる（p>0.95）",
           "negative discrimination": "識別力が負", "discrimination<0.2": "識別力が低い（<0.2）"}


def flag_ja(flag: str) -> str:
    if flag in FLAG_JA:
        return FLAG_JA[flag]
    if flag.startswith("distractor"):
        return "誰も選ばない選択肢 " + flag.split("'")[1] if "'" in flag else flag
    if flag.startswith("exposure<"):
        return "出題回数が少ない（" + flag + "）"
    return flag


@bp.app_template_filter("note_ja")
def _note_filter(note):
    return note_ja(note)


@bp.app_template_filter("flag_ja")
def _flag_filter(flag):
    return flag_ja(flag)
