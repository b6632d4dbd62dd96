"""Certification (第2-2) and its revocation: only a certified result is a pass, and the
pass record, the notices to heads and the register follow from it.

The committee certifies: each certification belongs to a committee decision (the date of
the meeting or of the written procedure, the members who took part), recorded by the
vice-chair or the chair. A certification made before decisions were recorded has none and
stays valid.

Corrections after certification: a correction (or a written score entered late) may
change a result that was already certified. The certification and its pass record are
never changed silently: the certified result stays as it was, and the session's review
page lists the certified sheets whose current result differs from the certified one
("要確認") until the vice-chair or chair revokes that certification (revoke_certification,
with the reason on record) and certifies the result as it now stands."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from scoring.eligibility import PREREQUISITE
from scoring.jpdate import format_date_jp, to_jst
from scoring.passrules import LEVEL_ORDER
from scoring.results import Result

from ..core import audit
from ..extensions import db
from ..models import (PROCEDURES, AuditEvent, Certification, CommitteeDecision, DecisionMember,
                      ExamSession, PassRecord, User, utcnow)
from ..people.appointments import committee_members, today_jst
from ..register.notices import Withdrawal, notify_passes, withdraw_notices
from ..register.passes import levels_held, pass_snapshot
from .scoring import ReviewError
from .sheets import Row, review_rows


@dataclass
class DecisionInput:
    """What the vice-chair or chair records of the committee's decision."""
    procedure: str                      # PROCEDURES: a meeting, or the written procedure (書面)
    held_on: date | None
    member_ids: list[int]


MIN_MEMBERS = 2      # a decision of the committee, not of one person


def new_decision(session: ExamSession, given: DecisionInput, by: User) -> CommitteeDecision:
    """The decision, checked (not yet added: it is stored with its first certification).
    The members are chosen from the committee of the day (chair, vice-chair, members)."""
    if given.procedure not in PROCEDURES:
        raise ReviewError("委員会の決定の方法（会議又は書面）を選んでください。")
    if given.held_on is None:
        raise ReviewError("会議（書面の場合は決定）の日付を入力してください。")
    if given.held_on > today_jst():
        raise ReviewError("会議（書面の場合は決定）の日付に未来の日付は指定できません。")
    opened = to_jst(session.opens_at).date()
    if given.held_on < opened:
        # A decision on sheets cannot come before the sitting that produced them.
        raise ReviewError(f"会議（書面の場合は決定）の日付が実施回の開始日（{format_date_jp(opened)}）より前です。")
    seats = {u.id: role for u, role in committee_members()}
    ids = list(dict.fromkeys(given.member_ids))
    if any(i not in seats for i in ids):
        raise ReviewError("現在の委員会の構成員（委員長・副委員長・委員）ではない人が選ばれています。")
    if len(ids) < MIN_MEMBERS:
        raise ReviewError(f"決定に加わった委員を{MIN_MEMBERS}人以上選んでください。")
    return CommitteeDecision(session_id=session.id, procedure=given.procedure, held_on=given.held_on,
                             recorded_by=by.id, recorded_at=utcnow(),
                             members=[DecisionMember(user_id=i, role=seats[i]) for i in ids])


@dataclass
class CertifyReport:
    certified: list[Certification] = field(default_factory=list)
    new_passes: list[PassRecord] = field(default_factory=list)
    kept_passes: list[tuple[Row, PassRecord]] = field(default_factory=list)   # held already
    already: int = 0
    skipped: list[tuple[Row | None, str]] = field(default_factory=list)       # with the reason
    notice_ids: list[int] = field(default_factory=list)     # to e-mail after the commit
    decision: CommitteeDecision | None = None


MISSING_NAMES = {"cbt": "電子計算機試験の答案", "written": "筆記試験の得点"}
TERMINATED_IN_BULK = "受検中止の答案は一括では認定しません（答案を個別に選んで認定してください）"


def _terminated(row: Row) -> bool:
    return row.attempt is not None and row.attempt.submitted_by == "terminated"


def certify(session: ExamSession, attempt_ids: list[int], by: User, all_passing: bool = False,
            written_ids: list[int] = (), decision: DecisionInput | None = None) -> CertifyReport:
    """Certify the chosen results (or every uncertified passing one): CBT sheets by attempt
    id, and people without a sheet by their written score's id, as the committee's decision
    (stored only when it certifies something). A pass also enters the register
    (PassRecord); certifying twice changes nothing."""
    rows = {r.key: r for r in review_rows(session)}
    report = CertifyReport(decision=new_decision(session, decision, by) if decision else None)
    if all_passing:
        chosen = [r for r in rows.values() if r.result.passed and r.certification is None]
        # A sheet ended for misconduct is certified only when chosen by itself: the
        # committee decides on it, never a bulk pass.
        report.skipped = [(r, TERMINATED_IN_BULK) for r in chosen if _terminated(r)]
        chosen = [r for r in chosen if not _terminated(r)]
    else:
        keys = [f"a{i}" for i in attempt_ids] + [f"w{i}" for i in written_ids]
        if any(k not in rows for k in keys):
            raise ReviewError("この実施回の答案ではないものが選ばれています。")
        chosen = [rows[k] for k in dict.fromkeys(keys)]
    now = utcnow()
    for row in chosen:
        _certify_row(session, row, by, now, report)
    db.session.flush()
    if report.decision is not None and report.decision.id is not None:
        d = report.decision
        audit.record("committee_decision_recorded", by.id, session_id=session.id, decision_id=d.id,
                     procedure=d.procedure, held_on=d.held_on.isoformat(),
                     member_ids=[m.user_id for m in d.members],
                     certification_ids=[c.id for c in report.certified])
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
    decision = report.decision
    if decision is not None and decision.id is None:       # stored with its first certification
        db.session.add(decision)
        db.session.flush()
    # The CBT sheet when there is one, else the written score (exactly one: ck_certifications_origin).
    cert = Certification(attempt_id=row.attempt.id if row.attempt else None,
                         written_score_id=None if row.attempt else row.written.id,
                         passed=row.result.passed, certified_by=by.id, certified_at=now,
                         decision_id=decision.id if decision is not None else None)
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
                 written_score_id=cert.written_score_id, decision_id=cert.decision_id,
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
    notices (the head is told, app/register/notices.py); a pass the person holds from elsewhere
    stays. The audit row keeps what was removed and why."""
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError("認定を取り消す理由を入力してください。")
    cert = row.certification
    if cert is None:
        raise ReviewError("この答案は認定されていません。")
    report = RevokeReport(row, cert.passed)
    certified = {"passed": cert.passed, "certified_by": cert.certified_by,
                 "certified_at": cert.certified_at, "decision_id": cert.decision_id,
                 "scores": _certified_scores(cert)}
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
