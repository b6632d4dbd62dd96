"""Scoring with the committee's corrections (第3-6): a sheet graded from its stored answers,
with the session's voided questions and corrected keys in force."""
from __future__ import annotations

import json

from sqlalchemy import select

from scoring.grading import score_sheet
from scoring.results import (REKEY, VOID, AnsweredItem, CorrectionRule, apply_corrections,
                             effective_rules, key_as_stored)

from ..banks.versions import snapshot
from ..extensions import db
from ..models import Attempt, Correction, ExamSession, SessionDetail, latest_steps


class ReviewError(Exception):
    """A request the review rules refuse, with a Japanese message for the page."""


def session_format(session_id: int) -> tuple[str, int | None]:
    """(format, written_max); a session without details is computer-based only."""
    detail = db.session.get(SessionDetail, session_id)
    if detail is None:
        return "cbt", None
    return detail.format, detail.written_max


def corrections_of(session_id: int) -> list[Correction]:
    return list(db.session.scalars(select(Correction).where(Correction.session_id == session_id)
                                   .order_by(Correction.made_at, Correction.id)))


def correction_rules(corrections: list[Correction]) -> list[CorrectionRule]:
    return [CorrectionRule(c.question_id, c.action,
                           None if c.answer_json is None else json.loads(c.answer_json))
            for c in corrections]


def _rules_for(questions, rules: list[CorrectionRule]) -> list[CorrectionRule]:
    """Stored keys in the grader's form (JSON turns the bank's tuples into lists)."""
    out = []
    for r in rules:
        q = questions.get(r.question_id)
        answer = key_as_stored(q.type, r.answer) if q is not None and r.answer is not None else r.answer
        out.append(CorrectionRule(r.question_id, r.action, answer))
    return out


def answered_items(attempt: Attempt) -> list[AnsweredItem]:
    """The attempt's questions in shown order with the latest answer of each."""
    # As exam.attempt_questions, without importing exam (which calls this module to score).
    _bp, questions = snapshot(attempt.bank_version)
    steps = latest_steps(attempt.id)
    items = []
    for position, item in enumerate(attempt.form, start=1):
        q = questions[item["id"]]
        step = steps.get(position)
        items.append(AnsweredItem(q.id, q.area, q.topic, q.type, q.answer,
                                  step.response if step else None))
    return items


def graded_positions(attempt: Attempt, rules: list[CorrectionRule] | None = None):
    """(answered items, graded items, correction in force per question), in shown order."""
    if rules is None:
        rules = correction_rules(corrections_of(attempt.session_id))
    _bp, questions = snapshot(attempt.bank_version)
    rules = _rules_for(questions, rules)
    items = answered_items(attempt)
    return items, apply_corrections(items, rules), effective_rules(rules)


def score_with_corrections(attempt: Attempt, rules: list[CorrectionRule] | None = None) -> None:
    """Grade the latest answer of every question, with the session's corrections in force,
    and store the sheet's score. The answers themselves are never touched."""
    _items, graded, in_force = graded_positions(attempt, rules)
    sheet = score_sheet(graded)
    attempt.correct, attempt.total, attempt.passed = sheet.correct, sheet.total, sheet.passed
    data = sheet.to_dict()
    on_form = {g.question_id for g in graded}
    data["voided"] = sorted(q for q, r in in_force.items() if r.action == VOID and q in on_form)
    data["rekeyed"] = sorted(q for q, r in in_force.items() if r.action == REKEY and q in on_form)
    attempt.score_json = json.dumps(data, ensure_ascii=False)


def question_rates(session: ExamSession) -> dict[str, tuple[int, int]]:
    """Per question, (sheets answering it right, sheets counting it) with corrections in
    force; a voided question counts on no sheet."""
    rules = correction_rules(corrections_of(session.id))
    out: dict[str, list[int]] = {}
    for attempt in db.session.scalars(select(Attempt).where(
            Attempt.session_id == session.id, Attempt.submitted_at.is_not(None))):
        for g in graded_positions(attempt, rules)[1]:
            cell = out.setdefault(g.question_id, [0, 0])
            if not g.voided:
                cell[0] += g.correct
                cell[1] += 1
    return {k: (c, t) for k, (c, t) in out.items()}
