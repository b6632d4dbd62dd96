"""Who may sit a session (第3-2, 第3-4), read from the register: one place for registration
(the committee's page) and for the start of an attempt (app/exam.start_attempt).

The rules themselves are pure and live in scoring/eligibility.py; this module gathers what
they need from the database: the staff record, an active admission by the chair, and the
levels held at this moment."""
from __future__ import annotations

from sqlalchemy import select

from scoring.eligibility import LEVEL_NAMES, implied_levels, refusals
from scoring.jpdate import fiscal_year_label

from ..extensions import db
from ..models import PASS_SOURCES, Admission, ExamSession, PassRecord, SessionDetail, Staff, User

# 第3-7: a special pass deems every level below it passed as well. The register normally
# stores those lower passes as `deemed` rows; counting them here too keeps eligibility right
# even for a special pass recorded before its deemed rows were added.
SPECIAL_SOURCES = frozenset({"npa", "imperial_guard", "other_prefecture", "designation"})


def staff_of(user: User) -> Staff | None:
    return db.session.scalar(select(Staff).where(Staff.user_id == user.id))


def is_admitted(staff: Staff) -> bool:
    """An admission by the chair that has not been revoked."""
    return db.session.scalar(select(Admission.id).where(
        Admission.staff_id == staff.id, Admission.revoked_at.is_(None)).limit(1)) is not None


def held_from(records: list[tuple[str, str]]) -> set[str]:
    """Levels held given (level, source) pass records: every recorded level, plus the
    levels below a special pass (第3-7 なお書)."""
    held = set()
    for level, source in records:
        held.add(level)
        if source in SPECIAL_SOURCES:
            held.update(implied_levels(level))
    return held


def levels_held(staff: Staff) -> set[str]:
    rows = db.session.execute(select(PassRecord.level, PassRecord.source)
                              .where(PassRecord.staff_id == staff.id)).all()
    return held_from([(r.level, r.source) for r in rows])


def staff_refusals(level: str, staff: Staff | None) -> list[str]:
    """Why this person may not sit `level` now (Japanese); empty when they may."""
    if staff is None:
        return refusals(level, None, False, set())
    return refusals(level, staff.employment_category, is_admitted(staff), levels_held(staff))


def refusals_for(level: str, people: list[Staff]) -> dict[int, list[str]]:
    """staff_refusals for many people at once (a whole affiliation): three queries, not
    two per person."""
    ids = [p.id for p in people]
    if not ids:
        return {}
    held = _passes_of(ids)
    admitted: set[int] = set()
    for part in _chunks(ids):
        admitted.update(db.session.scalars(select(Admission.staff_id).where(
            Admission.staff_id.in_(part), Admission.revoked_at.is_(None))))
    return {p.id: refusals(level, p.employment_category, p.id in admitted,
                           held_from([(lv, source) for lv, source, _y in held[p.id]]))
            for p in people}


def _chunks(ids: list[int], size: int = 500):
    """Stay under the databases' parameter limits."""
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _passes_of(ids: list[int]) -> dict[int, list[tuple[str, str, int]]]:
    """(level, source, fiscal year) of every pass record of each staff id."""
    held: dict[int, list[tuple[str, str, int]]] = {i: [] for i in ids}
    for part in _chunks(ids):
        for staff_id, lv, source, year in db.session.execute(
                select(PassRecord.staff_id, PassRecord.level, PassRecord.source, PassRecord.fiscal_year)
                .where(PassRecord.staff_id.in_(part))):
            held[staff_id].append((lv, source, year))
    return held


def holders_of(level: str, people: list[Staff]) -> dict[int, str]:
    """Those among `people` who already hold `level` (in the register, or deemed by a
    special pass above it), each with a Japanese note of the pass; sitting it again adds
    no register entry and no notice, so registering them takes a confirmation."""
    out = {}
    for staff_id, records in _passes_of([p.id for p in people]).items():
        if level not in held_from([(lv, source) for lv, source, _y in records]):
            continue
        own = next((r for r in records if r[0] == level), None)
        out[staff_id] = (f"{LEVEL_NAMES.get(level, level)}に合格済み: {fiscal_year_label(own[2])}、"
                         f"{PASS_SOURCES.get(own[1], own[1])}" if own
                         else f"上位の級位の特例により{LEVEL_NAMES.get(level, level)}に合格とみなされています")
    return out


def start_refusals(session: ExamSession, user: User) -> list[str]:
    """The same rules at the moment an attempt starts: the staff record must exist (a user
    without one is refused, whatever their roles), an excluded category or a non-staff
    person needs an admission that is still in force, and the prerequisite level must be
    held now (a pass revoked since registration counts no more). A written-only session has
    no computer part to start."""
    reasons = staff_refusals(session.level, staff_of(user))
    detail = db.session.get(SessionDetail, session.id)
    if detail is not None and detail.format == "written":
        reasons.append("この実施回は筆記試験のみです。電子計算機による試験はありません。")
    return reasons
