"""The review's rows: each candidate of a session with their computer and written parts, the
combined result and its certification; what a candidate is shown once certified."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import select

from scoring.eligibility import LEVEL_NAMES
from scoring.results import AreaRate, Part, Result, area_rates, combine

from ..banks.versions import snapshot
from ..core.filters import plain_text
from ..extensions import db
from ..models import (AnswerStep, Attempt, Certification, ExamSession, SessionDetail, Staff, User,
                      WrittenScore, utcnow)
from .scoring import graded_positions, session_format


@dataclass
class Row:
    """One candidate's result in a session: the CBT sheet and/or the written score."""
    user: User | None
    staff: Staff | None
    attempt: Attempt | None
    written: WrittenScore | None
    result: Result
    certification: Certification | None = None
    by_area: dict = field(default_factory=dict)            # area -> (correct, total)

    @property
    def key(self) -> str:
        return f"a{self.attempt.id}" if self.attempt else f"w{self.written.id}"

    @property
    def name(self) -> str:
        if self.staff:
            return self.staff.name_kanji
        return self.user.display_name if self.user else "—"

    @property
    def sort_name(self) -> str:
        return self.staff.name_kana if self.staff else self.name

    @property
    def main(self) -> Part | None:
        """The part the list shows first and the histogram counts."""
        return self.result.cbt if self.result.cbt is not None else self.result.written

    @property
    def when(self):
        if self.attempt:
            return self.attempt.submitted_at
        return self.written.entered_at if self.written else None

    @property
    def cbt_absent(self) -> bool:
        """A session with both parts, closed without this person's CBT sheet: a fail."""
        return self.attempt is None and self.result.format == "both" and self.result.decided

    @property
    def certifiable(self) -> bool:
        # A row without a CBT sheet is certified on its written score (Certification.written_score_id).
        return self.certification is None and self.result.decided

    @property
    def attention(self) -> bool:
        """Certified, but the result as it stands now differs from what was certified."""
        return self.certification is not None and self.certification.passed != self.result.passed


def _by_area(attempt: Attempt) -> dict:
    if not attempt.score_json:
        return {}
    return {k: tuple(v) for k, v in json.loads(attempt.score_json).get("by_area", {}).items()}


def _certifications(attempts: list[Attempt], written: dict[int, WrittenScore]):
    """(by attempt id, by written score id) of the session's certifications."""
    a_ids, w_ids = [a.id for a in attempts], [w.id for w in written.values()]
    if not a_ids and not w_ids:
        return {}, {}
    certs = list(db.session.scalars(select(Certification).where(
        Certification.attempt_id.in_(a_ids) | Certification.written_score_id.in_(w_ids))))
    return ({c.attempt_id: c for c in certs if c.attempt_id is not None},
            {c.written_score_id: c for c in certs if c.written_score_id is not None})


def _written_only_result(session: ExamSession, fmt: str, staff: Staff, w: WrittenScore,
                         sitting: set[int]) -> Result:
    written = Part(w.score, w.max_score)
    if fmt == "both" and session.closes_at <= utcnow() and staff.user_id not in sitting:
        # The window has closed without a CBT sheet: that part can no longer reach 70%.
        # While it is open the person may still sit, so the result stays undecided.
        return Result(fmt, None, written, False)
    return combine(fmt, None, written)


def review_rows(session: ExamSession) -> list[Row]:
    fmt, _max = session_format(session.id)
    attempts = list(db.session.scalars(select(Attempt).where(
        Attempt.session_id == session.id, Attempt.submitted_at.is_not(None))))
    user_ids = [a.user_id for a in attempts]
    staff_by_user = {s.user_id: s for s in db.session.scalars(
        select(Staff).where(Staff.user_id.in_(user_ids)))} if user_ids else {}
    written = {w.staff_id: w for w in db.session.scalars(
        select(WrittenScore).where(WrittenScore.session_id == session.id))}
    certs, written_certs = _certifications(attempts, written)
    rows, used = [], set()
    cbt_counts = fmt in ("cbt", "both")
    for a in attempts:
        staff = staff_by_user.get(a.user_id)
        w = written.get(staff.id) if staff else None
        if w:
            used.add(w.staff_id)
        cbt = Part(a.correct, a.total) if cbt_counts and a.total is not None else None
        wpart = Part(w.score, w.max_score) if w and fmt != "cbt" else None
        # A certification of the written score alone stands if a sheet came later.
        cert = certs.get(a.id) or (written_certs.get(w.id) if wpart else None)
        rows.append(Row(a.user, staff, a, w, combine(fmt, cbt, wpart), cert, _by_area(a)))
    if fmt != "cbt":
        # Written scores of people without a CBT sheet: the written-only sessions' sheets,
        # or, in a session with both parts, someone who has not sat the computer part.
        sitting = set(db.session.scalars(select(Attempt.user_id).where(Attempt.session_id == session.id)))
        for staff_id, w in written.items():
            if staff_id in used:
                continue
            staff = db.session.get(Staff, staff_id)
            rows.append(Row(staff.user, staff, None, w,
                            _written_only_result(session, fmt, staff, w, sitting),
                            written_certs.get(w.id)))
    return rows


def row_for_attempt(session: ExamSession, attempt_id: int) -> Row | None:
    return next((r for r in review_rows(session) if r.attempt and r.attempt.id == attempt_id), None)


def _own_written(session_id: int, user_id: int) -> WrittenScore | None:
    staff = db.session.scalar(select(Staff).where(Staff.user_id == user_id))
    return staff and db.session.scalar(select(WrittenScore).where(
        WrittenScore.session_id == session_id, WrittenScore.staff_id == staff.id))


def certified_result(attempt: Attempt) -> dict | None:
    """The certified result of a candidate's own sheet, or None before certification."""
    fmt, _max = session_format(attempt.session_id)
    w = _own_written(attempt.session_id, attempt.user_id) if fmt != "cbt" else None
    cert = db.session.scalar(select(Certification).where(Certification.attempt_id == attempt.id))
    if cert is None and w is not None:
        # Certified on the written score before this sheet existed (see review_rows).
        cert = db.session.scalar(select(Certification).where(Certification.written_score_id == w.id))
    if cert is None:
        return None
    cbt = Part(attempt.correct, attempt.total) if fmt != "written" and attempt.total else None
    written = Part(w.score, w.max_score) if w else None
    # A correction made after certification can regrade the sheet against the certified
    # verdict: the candidate is then told the result is being re-examined, never shown a
    # score that contradicts it (the committee sees the row as 要確認).
    current = combine(fmt, cbt, written).passed
    rechecking = current is not None and current != cert.passed
    detail = db.session.get(SessionDetail, attempt.session_id)
    return {"passed": cert.passed, "certified_at": cert.certified_at, "cbt": cbt, "written": written,
            "rechecking": rechecking, "level": LEVEL_NAMES.get(attempt.level, attempt.level),
            "areas": sheet_area_rates(attempt) if cbt else [],
            # Per question only on the committee's choice, and never while it re-examines.
            "review": bool(detail and detail.show_review) and cbt is not None and not rechecking}


def sheet_area_rates(attempt: Attempt) -> list[AreaRate]:
    """The sheet's rate per area of Table 2, in the blueprint's order, as last scored."""
    blueprint, _q = snapshot(attempt.bank_version)
    return area_rates(_by_area(attempt), [(k, a.name) for k, a in blueprint.areas.items()])


def certified_written_results(user: User) -> list[dict]:
    """The candidate's certified results that have no CBT sheet (written-only sessions, or
    both parts with the computer part not sat), newest first; the keys of certified_result
    plus the session."""
    rows = db.session.execute(
        select(Certification, WrittenScore, ExamSession)
        .join(WrittenScore, Certification.written_score_id == WrittenScore.id)
        .join(Staff, WrittenScore.staff_id == Staff.id)
        .join(ExamSession, WrittenScore.session_id == ExamSession.id)
        .where(Staff.user_id == user.id)
        .order_by(ExamSession.opens_at.desc(), ExamSession.id.desc())).all()
    return [{"passed": c.passed, "certified_at": c.certified_at, "cbt": None, "session": s,
             "written": Part(w.score, w.max_score), "cbt_absent": session_format(s.id)[0] == "both",
             "level": LEVEL_NAMES.get(s.level, s.level), "areas": [], "review": False}
            for c, w, s in rows]


def save_times(attempt: Attempt) -> dict[int, list[AnswerStep]]:
    """Every save of every position, oldest first (the append-only history)."""
    out: dict[int, list[AnswerStep]] = {}
    for step in db.session.scalars(select(AnswerStep).where(AnswerStep.attempt_id == attempt.id)
                                   .order_by(AnswerStep.seq)):
        out.setdefault(step.position, []).append(step)
    return out


LABELS = "アイウエオカキクケコ"


def describe(q, order, value, bank_keys: bool = True) -> str:
    """An answer or a key in the candidate's labels (ア, イ...) and words; the committee
    also sees the bank's key of each choice in brackets."""
    if value is None:
        return "（未解答）"
    if q.type in ("single", "multiple"):
        keys = [value] if q.type == "single" else list(value)
        by_key = {c.key: c for c in q.choices}

        def one(k):
            label = LABELS[order.index(k)] if k in order else k
            return label + (f"（{k}）" if bank_keys else " ") + (plain_text(by_key[k].text) if k in by_key else "")
        return "、".join(one(k) for k in sorted(keys, key=lambda k: order.index(k) if k in order else 99))
    if q.type == "true_false":
        return "正しい（○）" if value else "誤り（×）"
    if isinstance(value, (list, tuple)):
        return " ／ ".join(value)
    return str(value)


def sheet_items(attempt: Attempt, committee: bool = True) -> list[dict]:
    """Every question of a sheet as shown to the candidate, with their answer, the key in
    force (corrections applied) and the verdict; for the committee also the bank's keys,
    the key before a correction and the time of every save."""
    _bp, questions = snapshot(attempt.bank_version)
    answered, graded, in_force = graded_positions(attempt)
    history = save_times(attempt) if committee else {}
    shown = []
    for position, (item, a, g) in enumerate(zip(attempt.form, answered, graded), start=1):
        q = questions[item["id"]]
        order = item["choice_order"]
        by_key = {c.key: c for c in q.choices}
        rule = in_force.get(q.id)
        rekeyed = rule is not None and rule.action == "rekey"
        shown.append({
            "position": position, "q": q, "choices": [by_key[k] for k in order],
            "response": a.response, "graded": g, "rule": rule,
            "answer_text": describe(q, order, a.response, committee),
            "key_text": describe(q, order, rule.answer if rekeyed else q.answer, committee),
            "original_key_text": describe(q, order, q.answer, committee) if rekeyed else None,
            "steps": [{"seq": s.seq, "at": s.created_at, "flagged": s.flagged,
                       "text": describe(q, order, s.response)} for s in history.get(position, [])],
        })
    return shown


def wrong_only(items: list[dict]) -> list[dict]:
    """The questions the sheet lost a mark on: wrong or unanswered (a voided one counts
    for no one, so it is not among them)."""
    return [it for it in items if not it["graded"].correct and not it["graded"].voided]
