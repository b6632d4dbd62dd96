"""Periodic training (定期講習, 第3-10): attendance of intermediate passers, and who has
not attended this fiscal year. The reading of "at least once a year" is in
scoring/passrules.py: every fiscal year after the intermediate pass was recorded here (or
after the pass's own year, when later) counts.

Operations flush; the caller commits."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from scoring.csvtable import CsvImportError, CsvProblem, decode, read_table
from scoring.jpdate import DateParseError, fiscal_year, format_date_jp, parse_date, to_jst
from scoring.passrules import TrainingStatus, training_status

from ..core import audit
from ..extensions import db
from ..models import PassRecord, Staff, TrainingRecord
from .passes import current_fiscal_year, find_staff, today_jst

DEFAULT_COURSE = "定期講習"
TRAINING_COLUMNS = ["staff_number", "attended_on", "course"]


class TrainingError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


def _date(text: str) -> date:
    try:
        return parse_date(text)
    except DateParseError as exc:
        raise ValueError(str(exc)) from None


def intermediate_pass(staff_id: int) -> PassRecord | None:
    return db.session.scalar(select(PassRecord).where(PassRecord.staff_id == staff_id,
                                                      PassRecord.level == "intermediate"))


def _check(staff: Staff, attended_on: date, course: str, today: date) -> list[tuple[str, str]]:
    problems = []
    if intermediate_pass(staff.id) is None:
        problems.append(("staff_number", f"{staff.name_kanji}（{staff.staff_number}）は中級の合格者ではありません"
                                         "（定期講習は中級合格者が対象です。第3-10）"))
    if attended_on > today:
        problems.append(("attended_on", f"受講日{format_date_jp(attended_on)}は未来の日付です"))
    if len(course) > 128:
        problems.append(("course", "講習名が長すぎます（128文字まで）"))
    if db.session.scalar(select(TrainingRecord.id).where(
            TrainingRecord.staff_id == staff.id, TrainingRecord.attended_on == attended_on,
            TrainingRecord.course == course)):
        problems.append(("attended_on", f"{staff.name_kanji}の{format_date_jp(attended_on)}「{course}」は登録済みです"))
    return problems


def _add(staff: Staff, attended_on: date, course: str, by_user_id: int) -> TrainingRecord:
    row = TrainingRecord(staff_id=staff.id, attended_on=attended_on, fiscal_year=fiscal_year(attended_on),
                         course=course, recorded_by=by_user_id)
    db.session.add(row)
    return row


def record_attendance(staff: Staff, attended_on: date, course: str | None, by_user_id: int) -> TrainingRecord:
    course = (course or "").strip() or DEFAULT_COURSE
    problems = _check(staff, attended_on, course, today_jst())
    if problems:
        field, message = problems[0]
        raise TrainingError(message, field)
    row = _add(staff, attended_on, course, by_user_id)
    db.session.flush()
    audit.record("training_recorded", by_user_id, training_record_id=row.id, staff_number=staff.staff_number,
                 attended_on=attended_on, course=course)
    return row


def import_training(raw: bytes | str, by_user_id: int, filename: str = "") -> list[TrainingRecord]:
    """Attendance from CSV (staff_number,attended_on,course; course may be blank): all
    rows or none, every problem named by row and column."""
    text = decode(raw) if isinstance(raw, bytes) else raw
    rows = read_table(text, {"staff_number": str, "attended_on": _date, "course": str},
                      optional={"course"})
    today = today_jst()
    problems: list[CsvProblem] = []
    seen: dict[tuple, int] = {}
    accepted = []
    for line, v in rows:
        staff = find_staff(v["staff_number"])
        course = v["course"] or DEFAULT_COURSE
        if staff is None:
            problems.append(CsvProblem(line, "staff_number", f"職員番号「{v['staff_number']}」の職員が登録されていません"))
            continue
        key = (staff.id, v["attended_on"], course)
        if key in seen:
            problems.append(CsvProblem(line, "attended_on", f"{seen[key]}行目と同じ職員・受講日・講習名の行です（重複）"))
            continue
        seen[key] = line
        found = _check(staff, v["attended_on"], course, today)
        problems += [CsvProblem(line, field, message) for field, message in found]
        accepted.append((staff, v["attended_on"], course))
    if problems:
        raise CsvImportError(sorted(problems, key=lambda p: (p.line, TRAINING_COLUMNS.index(p.column)
                                                             if p.column in TRAINING_COLUMNS else -1)))
    added = [_add(staff, day, course, by_user_id) for staff, day, course in accepted]
    db.session.flush()
    audit.record("training_imported", by_user_id, file=filename, rows=len(added),
                 training_record_ids=[r.id for r in added])
    return added


@dataclass(frozen=True)
class TrainingRow:
    staff: Staff
    intermediate: PassRecord
    last_attended: date | None
    status: TrainingStatus


def training_rows(affiliation_ids: list[int] | None = None, current_year: int | None = None) -> list[TrainingRow]:
    """Every intermediate passer (any source) with their 第3-10 status; only those of the
    given affiliations when `affiliation_ids` is set (an affiliation head's view)."""
    year = current_year if current_year is not None else current_fiscal_year()
    query = (select(Staff, PassRecord).join(PassRecord, PassRecord.staff_id == Staff.id)
             .where(PassRecord.level == "intermediate"))
    if affiliation_ids is not None:
        if not affiliation_ids:
            return []
        query = query.where(Staff.affiliation_id.in_(affiliation_ids))
    pairs = list(db.session.execute(query.order_by(Staff.name_kana, Staff.staff_number)))
    attended: dict[int, list[date]] = {}
    ids = [s.id for s, _p in pairs]
    if ids:
        for sid, day in db.session.execute(select(TrainingRecord.staff_id, TrainingRecord.attended_on)
                                           .where(TrainingRecord.staff_id.in_(ids))):
            attended.setdefault(sid, []).append(day)
    rows = []
    for staff, record in pairs:
        days = attended.get(staff.id, [])
        st = training_status(record.fiscal_year, fiscal_year(to_jst(record.recorded_at).date()),
                             {fiscal_year(d) for d in days}, year)
        rows.append(TrainingRow(staff, record, max(days) if days else None, st))
    return rows


def recent_records(limit: int = 50) -> list[TrainingRecord]:
    return list(db.session.scalars(select(TrainingRecord).order_by(TrainingRecord.recorded_at.desc(),
                                                                   TrainingRecord.id.desc()).limit(limit)))
