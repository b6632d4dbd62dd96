"""Scored-sheet review operations: scoring with the committee's corrections, regrading a
session, the written part, and certification (第2-2, 第3-5-(3), 第3-6).

Request handlers check access, call these and commit; these only flush.

Corrections after certification: a correction (or a written score entered late) may
change a result that was already certified. The certification and its pass record are
never changed silently: the certified result stays as it was, and the session's review
page lists the certified sheets whose current result differs from the certified one
("要確認") until the vice-chair or chair revokes that certification (revoke_certification,
with the reason on record) and certifies the result as it now stands.
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from scoring.csvtable import CsvImportError, CsvProblem, decode, read_table
from scoring.eligibility import PREREQUISITE
from scoring.grading import score_sheet
from scoring.passrules import LEVEL_ORDER
from scoring.results import (REKEY, VOID, AnsweredItem, CorrectionRule, Part, Result,
                             apply_corrections, combine, effective_rules, key_as_stored, parse_key,
                             same_key)

from . import audit
from .banks import snapshot
from .extensions import db
from .models import AnswerStep, Attempt, AuditEvent, ExamSession, Registration, User, latest_steps, utcnow
from .models_register import (Certification, Correction, PassRecord, SessionDetail, Staff,
                              WrittenScore)
from .notices import Withdrawal, notify_passes, withdraw_notices
from .passes_ops import find_staff, levels_held, pass_snapshot


class ReviewError(Exception):
    """A request the review rules refuse, with a Japanese message for the page."""


# --- the session's format -------------------------------------------------------------

def session_format(session_id: int) -> tuple[str, int | None]:
    """(format, written_max); a session without details is computer-based only."""
    detail = db.session.get(SessionDetail, session_id)
    if detail is None:
        return "cbt", None
    return detail.format, detail.written_max


# --- scoring with corrections -----------------------------------------------------------

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


# --- the review rows ---------------------------------------------------------------------

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


# --- the written part -------------------------------------------------------------------

def written_candidates(session: ExamSession) -> list[tuple[Staff | None, User | None, WrittenScore | None]]:
    """Who may get a written score: the session's registered candidates, and anyone who
    already has one. Candidates without a staff record cannot be scored (the written
    score belongs to a staff record)."""
    scores = {w.staff_id: w for w in db.session.scalars(
        select(WrittenScore).where(WrittenScore.session_id == session.id))}
    users = list(db.session.scalars(select(User).join(Registration, Registration.user_id == User.id)
                                    .where(Registration.session_id == session.id)))
    staff_by_user = {s.user_id: s for s in db.session.scalars(
        select(Staff).where(Staff.user_id.in_([u.id for u in users])))} if users else {}
    out, seen = [], set()
    for u in users:
        s = staff_by_user.get(u.id)
        out.append((s, u, scores.get(s.id) if s else None))
        if s:
            seen.add(s.id)
    for staff_id, w in scores.items():
        if staff_id not in seen:
            s = db.session.get(Staff, staff_id)
            out.append((s, s.user, w))
    return sorted(out, key=lambda t: (t[0] is None, t[0].staff_number if t[0] else t[1].username))


def _require_written(session: ExamSession) -> int:
    fmt, written_max = session_format(session.id)
    if fmt not in ("written", "both"):
        raise ReviewError("この実施回には筆記試験がありません。")
    if not written_max:
        raise ReviewError("この実施回の筆記試験の満点が設定されていません。")
    return written_max


def parse_score(text: str, written_max: int) -> int:
    s = unicodedata.normalize("NFKC", text or "").strip()
    if not s.isdigit():
        raise ValueError(f"「{text}」は0以上の整数ではありません")
    value = int(s)
    if value > written_max:
        raise ValueError(f"{value}点は満点（{written_max}点）を超えています")
    return value


def _store_written(session: ExamSession, staff: Staff, score: int, written_max: int, by: User,
                   existing: WrittenScore | None) -> bool:
    """Insert or update one score; True when something changed."""
    if existing is None:
        db.session.add(WrittenScore(session_id=session.id, staff_id=staff.id, score=score,
                                    max_score=written_max, entered_by=by.id, entered_at=utcnow()))
        return True
    if existing.score == score and existing.max_score == written_max:
        return False
    existing.score, existing.max_score = score, written_max
    existing.entered_by, existing.entered_at = by.id, utcnow()
    return True


def save_written_scores(session: ExamSession, entries: dict[int, str], by: User) -> int:
    """Scores typed in the form, keyed by staff id; blank leaves a score as it is. All or
    nothing: any bad value refuses the whole form (ReviewError listing each)."""
    written_max = _require_written(session)
    allowed = {s.id: (s, w) for s, _u, w in written_candidates(session) if s is not None}
    problems, parsed = [], {}
    for staff_id, text in entries.items():
        if staff_id not in allowed:
            problems.append("この実施回の受検者ではない職員が含まれています。")
            continue
        if not (text or "").strip():
            continue
        try:
            parsed[staff_id] = parse_score(text, written_max)
        except ValueError as exc:
            staff = allowed[staff_id][0]
            problems.append(f"{staff.staff_number} {staff.name_kanji}: {exc}")
    if problems:
        raise ReviewError("\n".join(problems))
    changed = sum(_store_written(session, allowed[sid][0], score, written_max, by, allowed[sid][1])
                  for sid, score in parsed.items())
    db.session.flush()
    audit.record("written_scores_entered", by.id, session_id=session.id, changed=changed,
                 scores={allowed[sid][0].staff_number: score for sid, score in parsed.items()})
    return changed


WRITTEN_COLUMNS = ("staff_number", "score")


def import_written_csv(session: ExamSession, raw: bytes, by: User) -> int:
    """`staff_number,score`, all or nothing (CsvImportError with every row's problems)."""
    try:
        written_max = _require_written(session)
    except ReviewError as exc:
        raise CsvImportError([CsvProblem(1, None, str(exc))]) from None
    # The same people the form offers: a score for anyone else would put them in the
    # session's results (and make them certifiable) without ever being registered.
    allowed = {s.staff_number: (s, w) for s, _u, w in written_candidates(session) if s is not None}
    seen: set[str] = set()

    def staff_number(cell: str) -> tuple[Staff, WrittenScore | None]:
        number = unicodedata.normalize("NFKC", cell).strip()
        if number in seen:
            raise ValueError(f"職員番号「{number}」がファイル内で重複しています")
        seen.add(number)
        if number in allowed:
            return allowed[number]
        if find_staff(number) is None:
            raise ValueError(f"職員番号「{number}」は登録されていません")
        raise ValueError(f"職員番号「{number}」の職員はこの実施回の受検者として登録されていません")

    rows = read_table(decode(raw), {"staff_number": staff_number,
                                    "score": lambda c: parse_score(c, written_max)})
    changed = 0
    for _line, v in rows:
        staff, existing = v["staff_number"]
        changed += _store_written(session, staff, v["score"], written_max, by, existing)
    db.session.flush()
    audit.record("written_scores_imported", by.id, session_id=session.id, rows=len(rows),
                 changed=changed)
    return changed


# --- certification ------------------------------------------------------------------------

@dataclass
class CertifyReport:
    certified: list[Certification] = field(default_factory=list)
    new_passes: list[PassRecord] = field(default_factory=list)
    kept_passes: list[tuple[Row, PassRecord]] = field(default_factory=list)   # held already
    already: int = 0
    skipped: list[tuple[Row | None, str]] = field(default_factory=list)       # with the reason
    notice_ids: list[int] = field(default_factory=list)     # to e-mail after the commit


MISSING_NAMES = {"cbt": "電子計算機試験の答案", "written": "筆記試験の得点"}


def certify(session: ExamSession, attempt_ids: list[int], by: User, all_passing: bool = False,
            written_ids: list[int] = ()) -> CertifyReport:
    """Certify the chosen results (or every uncertified passing one): CBT sheets by attempt
    id, and people without a sheet by their written score's id. A pass also enters the
    register (PassRecord); certifying twice changes nothing."""
    rows = {r.key: r for r in review_rows(session)}
    if all_passing:
        chosen = [r for r in rows.values() if r.result.passed and r.certification is None]
    else:
        keys = [f"a{i}" for i in attempt_ids] + [f"w{i}" for i in written_ids]
        if any(k not in rows for k in keys):
            raise ReviewError("この実施回の答案ではないものが選ばれています。")
        chosen = [rows[k] for k in dict.fromkeys(keys)]
    report = CertifyReport()
    now = utcnow()
    for row in chosen:
        _certify_row(session, row, by, now, report)
    db.session.flush()
    if report.new_passes:
        report.notice_ids = [n.id for n in notify_passes(report.new_passes, by)]
    return report


def _refusal(row: Row) -> str | None:
    if not row.result.decided:
        return ("結果が確定していません（" + "・".join(MISSING_NAMES[m] for m in row.result.missing)
                + "がありません）")
    if row.result.passed and row.staff is None:
        return "職員情報が登録されていないため、合格者名簿に記載できません"
    return None


def _certify_row(session: ExamSession, row: Row, by: User, now, report: CertifyReport) -> None:
    if row.certification is not None:
        report.already += 1
        return
    reason = _refusal(row)
    if reason:
        report.skipped.append((row, reason))
        return
    # The CBT sheet when there is one, else the written score (exactly one: ck_certifications_origin).
    cert = Certification(attempt_id=row.attempt.id if row.attempt else None,
                         written_score_id=None if row.attempt else row.written.id,
                         passed=row.result.passed, certified_by=by.id, certified_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(cert)
            db.session.flush()
    except IntegrityError:
        # Someone else certified it at the same moment: theirs stands.
        report.already += 1
        return
    row.certification = cert
    report.certified.append(cert)
    record, kept = _pass_record(session, row, by, now) if row.result.passed else (None, False)
    if record is not None and kept:
        report.kept_passes.append((row, record))
    elif record is not None:
        report.new_passes.append(record)
    _audit_certified(session, row, cert, record, kept, by)


def _audit_certified(session, row: Row, cert: Certification, record, kept: bool, by: User) -> None:
    r = row.result
    audit.record("sheet_certified", by.id, session_id=session.id, attempt_id=cert.attempt_id,
                 written_score_id=cert.written_score_id,
                 staff_number=row.staff.staff_number if row.staff else None, passed=r.passed,
                 **_scores(r), cbt_absent=row.cbt_absent,
                 pass_record_id=record.id if record else None, pass_record_kept=kept)


def _scores(r: Result) -> dict:
    """The parts of a result as audited: [score, max] or None."""
    return {"cbt": [r.cbt.score, r.cbt.max] if r.cbt else None,
            "written": [r.written.score, r.written.max] if r.written else None}


def _pass_record(session: ExamSession, row: Row, by: User, now) -> tuple[PassRecord, bool]:
    """The register entry for a certified pass; (existing, True) when the person already
    holds the level from another source (that record is kept as it is)."""
    existing = db.session.scalar(select(PassRecord).where(PassRecord.staff_id == row.staff.id,
                                                          PassRecord.level == session.level))
    if existing is not None:
        return existing, True
    # The parts the pass was earned on: the CBT sheet and/or the written score.
    record = PassRecord(staff_id=row.staff.id, level=session.level, fiscal_year=session.fiscal_year,
                        source="exam", affiliation_at_pass_id=row.staff.affiliation_id,
                        post_at_pass=row.staff.post, attempt_id=row.attempt.id if row.attempt else None,
                        written_score_id=row.written.id if row.result.written else None,
                        recorded_by=by.id, recorded_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(record)
            db.session.flush()
    except IntegrityError:
        existing = db.session.scalar(select(PassRecord).where(PassRecord.staff_id == row.staff.id,
                                                              PassRecord.level == session.level))
        return existing, True
    return record, False


# --- revoking a certification ------------------------------------------------------------

@dataclass
class RevokeReport:
    row: Row
    certified_passed: bool
    removed_pass: dict | None = None                 # the register entry removed (its snapshot)
    kept_pass: PassRecord | None = None              # held from elsewhere: left as it is
    notices: list[Withdrawal] = field(default_factory=list)
    stranded: list[str] = field(default_factory=list)    # levels held whose prerequisite went (第3-4)


def certification_row(session: ExamSession, certification_id: int) -> Row | None:
    """The session's row certified by this certification, if any."""
    return next((r for r in review_rows(session)
                 if r.certification is not None and r.certification.id == certification_id), None)


def _made_by(record: PassRecord, cert: Certification) -> bool:
    """Whether this certification created the register entry (see _pass_record): an exam
    pass naming the same origin. Another session's exam pass of the level does not."""
    if record.source != "exam":
        return False
    if cert.attempt_id is not None:
        return record.attempt_id == cert.attempt_id
    return record.attempt_id is None and record.written_score_id == cert.written_score_id


def _certified_scores(cert: Certification) -> dict | None:
    """The scores as certified, from the certification's sheet_certified event (a
    certification stores only its verdict; the sheet may have been regraded since)."""
    key, value = ("attempt_id", cert.attempt_id) if cert.attempt_id is not None else \
        ("written_score_id", cert.written_score_id)
    for detail in db.session.scalars(select(AuditEvent.detail_json).where(
            AuditEvent.event == "sheet_certified", AuditEvent.at >= cert.certified_at)
            .order_by(AuditEvent.id)):
        d = json.loads(detail)
        if d.get(key) == value:
            return {"cbt": d.get("cbt"), "written": d.get("written")}
    return None


def revoke_certification(session: ExamSession, row: Row, reason: str, by: User) -> RevokeReport:
    """Undo one certification, typically after a correction flipped its verdict (Row.attention):
    the row is uncertified again, the candidate sees no result, and it can be certified on
    its current result. The register entry this certification created goes, with its
    notices (the head is told, app/notices.py); a pass the person holds from elsewhere
    stays. The audit row keeps what was removed and why."""
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError("認定を取り消す理由を入力してください。")
    cert = row.certification
    if cert is None:
        raise ReviewError("この答案は認定されていません。")
    report = RevokeReport(row, cert.passed)
    certified = {"passed": cert.passed, "certified_by": cert.certified_by,
                 "certified_at": cert.certified_at, "scores": _certified_scores(cert)}
    # Conditional: of two revocations at once, the second finds nothing and is refused.
    if db.session.execute(delete(Certification).where(Certification.id == cert.id)).rowcount != 1:
        raise ReviewError("この認定は既に取り消されています。")
    record = db.session.scalar(select(PassRecord).where(
        PassRecord.staff_id == row.staff.id, PassRecord.level == session.level)) \
        if cert.passed and row.staff is not None else None
    if record is not None and _made_by(record, cert):
        report.removed_pass = pass_snapshot(record)
        report.notices = withdraw_notices(record, by)
        db.session.execute(delete(PassRecord).where(PassRecord.id == record.id))
        db.session.flush()
        held = levels_held(row.staff.id)
        # Still allowed: the higher pass was earned or recorded on its own; the committee
        # decides what to do about it, so it is warned, not stopped.
        report.stranded = [lv for lv in LEVEL_ORDER if lv in held and PREREQUISITE.get(lv) == session.level]
    elif record is not None:
        report.kept_pass = record
    row.certification = None
    r = row.result
    audit.record("certification_revoked", by.id, session_id=session.id, certification_id=cert.id,
                 attempt_id=cert.attempt_id, written_score_id=cert.written_score_id,
                 staff_number=row.staff.staff_number if row.staff else None, reason=reason,
                 certified=certified,
                 now={"passed": r.passed, **_scores(r)},
                 removed_pass=report.removed_pass,
                 kept_pass_record_id=report.kept_pass.id if report.kept_pass else None,
                 notices_withdrawn=[w.notice_id for w in report.notices],
                 prerequisite_of=report.stranded)
    db.session.flush()
    return report


# --- what the candidate sees ------------------------------------------------------------

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
    return {"passed": cert.passed, "certified_at": cert.certified_at, "cbt": cbt, "written": written,
            "rechecking": rechecking}


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
             "written": Part(w.score, w.max_score), "cbt_absent": session_format(s.id)[0] == "both"}
            for c, w, s in rows]


def save_times(attempt: Attempt) -> dict[int, list[AnswerStep]]:
    """Every save of every position, oldest first (the append-only history)."""
    out: dict[int, list[AnswerStep]] = {}
    for step in db.session.scalars(select(AnswerStep).where(AnswerStep.attempt_id == attempt.id)
                                   .order_by(AnswerStep.seq)):
        out.setdefault(step.position, []).append(step)
    return out
