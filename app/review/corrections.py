"""Corrections of a session's questions (a voided question, a corrected key) and regrading:
every affected sheet scored again from its stored answers; the correction, who made it and
why stay on record (append-only). Handlers commit; these only flush."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import select

from scoring.results import REKEY, VOID, effective_rules, key_as_stored, parse_key, same_key

from ..banks.versions import snapshot
from ..core import audit
from ..extensions import db
from ..models import Attempt, Correction, ExamSession, User, utcnow
from .scoring import ReviewError, correction_rules, corrections_of, score_with_corrections
from .sheets import review_rows


@dataclass
class RegradeReport:
    regraded: int = 0
    changed: list[int] = field(default_factory=list)       # attempts whose CBT pass/fail changed
    attention: list[int] = field(default_factory=list)     # certified sheets now differing


def regrade_session(session_id: int, question_id: str | None = None) -> RegradeReport:
    """Score again every submitted sheet of the session (or only those showing
    `question_id`) from the stored answers, with every correction in force."""
    rules = correction_rules(corrections_of(session_id))
    report = RegradeReport()
    attempts = db.session.scalars(select(Attempt).where(
        Attempt.session_id == session_id, Attempt.submitted_at.is_not(None)).order_by(Attempt.id))
    for attempt in attempts:
        if question_id is not None and all(i["id"] != question_id for i in attempt.form):
            continue
        before = attempt.passed
        score_with_corrections(attempt, rules)
        report.regraded += 1
        if before != attempt.passed:
            report.changed.append(attempt.id)
    db.session.flush()
    report.attention = [r.attempt.id for r in review_rows(db.session.get(ExamSession, session_id))
                        if r.attention and r.attempt is not None]
    return report


def session_questions(session: ExamSession) -> list:
    """The questions that appear on at least one submitted sheet of the session, with
    how many sheets show each, in bank order."""
    shown: dict[str, int] = {}
    for form_json in db.session.scalars(select(Attempt.form_json).where(
            Attempt.session_id == session.id, Attempt.submitted_at.is_not(None))):
        for item in json.loads(form_json):
            shown[item["id"]] = shown.get(item["id"], 0) + 1
    _bp, questions = snapshot(session.bank_version)
    return [(q, shown[qid]) for qid, q in questions.items() if qid in shown]


def make_correction(session: ExamSession, question_id: str, action: str, answer_text: str | None,
                    reason: str, by: User) -> tuple[Correction, RegradeReport]:
    """Record a void or a corrected key for one session and regrade the sheets it touches."""
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError("訂正の理由を入力してください。")
    if action not in (VOID, REKEY):
        raise ReviewError("訂正の種類が正しくありません。")
    shown = {q.id: q for q, _n in session_questions(session)}
    q = shown.get(question_id)
    if q is None:
        raise ReviewError(f"問題「{question_id}」はこの実施回の答案にありません。")
    current = effective_rules(correction_rules(corrections_of(session.id))).get(question_id)
    answer_json = None
    if action == VOID:
        if current is not None and current.action == VOID:
            raise ReviewError(f"問題「{question_id}」は既に無効（全員除外）になっています。")
    else:
        try:
            key = parse_key(q.type, [c.key for c in q.choices], answer_text or "")
        except ValueError as exc:
            raise ReviewError(str(exc)) from None
        in_force = q.answer if current is None or current.action == VOID else \
            key_as_stored(q.type, current.answer)
        if (current is None or current.action != VOID) and same_key(q.type, key, in_force):
            raise ReviewError("現在の正答と同じです。")
        answer_json = json.dumps(list(key) if isinstance(key, tuple) else key, ensure_ascii=False)
    correction = Correction(session_id=session.id, question_id=question_id, action=action,
                            answer_json=answer_json, reason=reason, made_by=by.id, made_at=utcnow())
    db.session.add(correction)
    db.session.flush()
    report = regrade_session(session.id, question_id)
    correction.sheets_regraded = report.regraded
    audit.record("correction_made", by.id, session_id=session.id, correction_id=correction.id,
                 question_id=question_id, action=action, answer=answer_json, reason=reason,
                 sheets_regraded=report.regraded, changed=report.changed, attention=report.attention)
    db.session.flush()
    return correction, report
