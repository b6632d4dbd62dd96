"""Who may sit a session (第3-2, 第3-4): registering staff, and the chair's admissions of
non-staff candidates with their reasons. Handlers commit; these only flush."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select

from scoring.eligibility import EXCLUDED_CATEGORIES, NON_STAFF

from ..core import audit
from ..extensions import db
from ..models import Admission, Affiliation, Attempt, ExamSession, Registration, Staff, User
from .eligibility import holders_of, refusals_for, staff_refusals
from .ops import OperationRefused

ADMISSIBLE_CATEGORIES = EXCLUDED_CATEGORIES + (NON_STAFF,)


def search_staff(q: str = "", affiliation_id: int | None = None, limit: int = 200) -> tuple[list[Staff], int]:
    """Staff with a sign-in account, matching a name, kana, number or affiliation; returns
    (the first `limit` rows, how many match)."""
    query = (select(Staff).outerjoin(Affiliation, Staff.affiliation_id == Affiliation.id)
             .where(Staff.user_id.is_not(None)))
    q = (q or "").strip()
    if q:
        like = f"%{q}%"
        query = query.where(or_(Staff.name_kanji.ilike(like), Staff.name_kana.ilike(like),
                                Staff.staff_number.ilike(like), Affiliation.name.ilike(like),
                                Affiliation.code.ilike(like)))
    if affiliation_id:
        query = query.where(Staff.affiliation_id == affiliation_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = list(db.session.scalars(query.order_by(Affiliation.code, Staff.staff_number).limit(limit)))
    return rows, total


def registration_of(session_id: int, user_id: int) -> Registration | None:
    return db.session.scalar(select(Registration).where(Registration.session_id == session_id,
                                                        Registration.user_id == user_id))


def registered_user_ids(session: ExamSession) -> set[int]:
    return set(db.session.scalars(select(Registration.user_id).where(Registration.session_id == session.id)))


@dataclass
class RegisterOutcome:
    registered: list[Staff] = field(default_factory=list)
    already: list[Staff] = field(default_factory=list)
    refused: list[tuple[Staff, list[str]]] = field(default_factory=list)
    held: list[tuple[Staff, str]] = field(default_factory=list)    # hold the level: to confirm


def account_refusals(staff: Staff) -> list[str]:
    """Reasons the person's sign-in account cannot sit, whatever the rules say."""
    if staff.user_id is None:
        return ["利用者アカウントが紐付いていません（庶務に作成を依頼してください）。"]
    user = db.session.get(User, staff.user_id)
    reasons = []
    if not user.active:
        reasons.append("利用者アカウントが無効になっています。")
    if not user.has_role("candidate"):
        reasons.append("利用者アカウントに受検者の役割がありません（庶務に付与を依頼してください）。")
    return reasons


def register_staff(session: ExamSession, staff: list[Staff], actor: User, now: datetime,
                   confirmed_held: frozenset[int] = frozenset()) -> RegisterOutcome:
    """Register each person who may sit (第3-2, 第3-4); everyone else is listed with the
    reasons and not registered. Someone who already holds the level is registered only
    once the committee confirms it (`confirmed_held`, staff ids): they may sit again, but
    a pass then adds nothing to the register. A closed session takes no one."""
    if session.closes_at <= now:
        raise OperationRefused("受検期間が終了した実施回には登録できません。")
    outcome = RegisterOutcome()
    done = registered_user_ids(session)
    rules = refusals_for(session.level, staff)
    holders = holders_of(session.level, staff)
    for person in staff:
        if person.user_id is not None and person.user_id in done:
            outcome.already.append(person)
            continue
        reasons = account_refusals(person) + rules[person.id]
        if reasons:
            outcome.refused.append((person, reasons))
            audit.record("registration_refused", actor.id, session_id=session.id, staff_id=person.id,
                         reasons=reasons)
            continue
        if person.id in holders and person.id not in confirmed_held:
            outcome.held.append((person, holders[person.id]))
            continue
        db.session.add(Registration(session_id=session.id, user_id=person.user_id))
        done.add(person.user_id)
        outcome.registered.append(person)
        audit.record("registration_added", actor.id, session_id=session.id, staff_id=person.id,
                     candidate_user_id=person.user_id,
                     **({"level_held": holders[person.id]} if person.id in holders else {}))
    db.session.flush()
    return outcome


def unregister(session: ExamSession, user_id: int, actor: User) -> None:
    reg = registration_of(session.id, user_id)
    if reg is None:
        raise OperationRefused("この受検者は登録されていません。")
    if db.session.scalar(select(Attempt.id).where(Attempt.session_id == session.id,
                                                  Attempt.user_id == user_id)) is not None:
        raise OperationRefused("受検を開始しているため、登録を解除できません。")
    db.session.delete(reg)
    db.session.flush()
    audit.record("registration_removed", actor.id, session_id=session.id, candidate_user_id=user_id)


@dataclass
class RegisteredRow:
    user: User
    staff: Staff | None
    attempt: Attempt | None
    refusals: list[str]          # why they could not start now (empty: they can)
    registration: Registration   # with the accommodation (合理的配慮)


def registrations(session: ExamSession) -> list[RegisteredRow]:
    rows = db.session.execute(
        select(User, Staff, Registration).join(Registration, Registration.user_id == User.id)
        .outerjoin(Staff, Staff.user_id == User.id)
        .where(Registration.session_id == session.id)
        .order_by(Staff.staff_number, User.username)).all()
    attempts = {a.user_id: a for a in db.session.scalars(select(Attempt).where(Attempt.session_id == session.id))}
    rules = refusals_for(session.level, [s for _u, s, _r in rows if s is not None])
    return [RegisteredRow(u, s, attempts.get(u.id),
                          rules[s.id] if s is not None else staff_refusals(session.level, None), r)
            for u, s, r in rows]


def admissible_staff() -> list[Staff]:
    """People the chair may admit: non-staff and the excluded categories, not yet admitted."""
    active = select(Admission.staff_id).where(Admission.revoked_at.is_(None))
    return list(db.session.scalars(select(Staff).where(
        Staff.employment_category.in_(ADMISSIBLE_CATEGORIES), Staff.id.not_in(active))
        .order_by(Staff.staff_number)))


def admit(staff: Staff, reason: str, actor: User) -> Admission:
    reason = (reason or "").strip()
    if not reason:
        raise OperationRefused("許可の理由を入力してください。")
    if staff.employment_category not in ADMISSIBLE_CATEGORIES:
        raise OperationRefused(f"{staff.name_kanji}さん（{staff.employment_category}）は受検対象者です。"
                               "委員長の許可は必要ありません。")
    if db.session.scalar(select(Admission.id).where(Admission.staff_id == staff.id,
                                                    Admission.revoked_at.is_(None))) is not None:
        raise OperationRefused(f"{staff.name_kanji}さんは既に受検を許可されています。")
    admission = Admission(staff_id=staff.id, reason=reason, admitted_by=actor.id)
    db.session.add(admission)
    db.session.flush()
    audit.record("admission_granted", actor.id, admission_id=admission.id, staff_id=staff.id,
                 category=staff.employment_category, reason=reason)
    return admission


def revoke(admission: Admission, actor: User, now: datetime) -> None:
    if admission.revoked_at is not None:
        raise OperationRefused("この許可は既に取り消されています。")
    admission.revoked_at = now
    db.session.flush()
    audit.record("admission_revoked", actor.id, admission_id=admission.id, staff_id=admission.staff_id)


def admissions() -> list[Admission]:
    return list(db.session.scalars(select(Admission).order_by(Admission.revoked_at.is_not(None),
                                                              Admission.admitted_at.desc())))
