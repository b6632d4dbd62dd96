"""Appointments (任命・指名, 第2-3, 第2-4(2)): who holds the chair, the vice-chair, a seat on
the committee or an author's role, appointed by whom, from when and until when.

The rules, as the regulation gives them:
- the chair is the サイバー局長 and the vice-chair the 情報技術戦略課長: posts with one holder
  each. The personnel order (人事異動) fills the post; the engine records the holder on the
  word of the other post's holder or of the outgoing holder (the chair or the vice-chair),
  never the person themself or the secretariat. A new holder ends the previous one's
  appointment (引継ぎ). With both posts empty (a new installation) the command line
  records them (`cbt appointments record`).
- committee members (委員) are nominated by the chair or the vice-chair;
- question authors (問題作成者) by the vice-chair, from the staff of 情報技術戦略課;
- the secretariat keeps the accounts but grants none of these roles.
Every appointment and its end stay on record; the role (UserRole) follows the appointment."""
from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import select

from scoring.jpdate import to_jst

from ..core import audit
from ..extensions import db
from ..models import APPOINTED_ROLES, POSTS, ROLE_NAMES, Affiliation, Appointment, Staff, User, UserRole, utcnow
from .rules import DEFAULT_IT_STRATEGY_AFFILIATION, PeopleError

# Who may appoint to each role, and who may end an appointment (第2-3(2), 第2-4(2)).
APPOINTERS = {"chair": ("chair", "vice_chair"), "vice_chair": ("chair", "vice_chair"),
              "committee": ("chair", "vice_chair"), "author": ("vice_chair",)}
ENDERS = {"chair": ("chair", "vice_chair"), "vice_chair": ("chair", "vice_chair"),
          "committee": ("chair", "vice_chair"), "author": ("vice_chair", "chair")}
POST_TITLES = {"chair": "サイバー局長", "vice_chair": "情報技術戦略課長"}
HANDOVER = "後任の任命による交代"


def today_jst() -> date:
    return to_jst(utcnow()).date()


def it_strategy_affiliation() -> Affiliation | None:
    code = current_app.config.get("IT_STRATEGY_AFFILIATION") or DEFAULT_IT_STRATEGY_AFFILIATION
    return db.session.scalar(select(Affiliation).where(Affiliation.code == code))


def current(role: str | None = None, user_id: int | None = None) -> list[Appointment]:
    query = select(Appointment).where(Appointment.ended_at.is_(None))
    if role:
        query = query.where(Appointment.role == role)
    if user_id:
        query = query.where(Appointment.user_id == user_id)
    rows = db.session.scalars(query.order_by(Appointment.started_on, Appointment.id))
    return sorted(rows, key=lambda a: APPOINTED_ROLES.index(a.role))       # posts first, as the text lists them


def history() -> list[Appointment]:
    """Ended appointments, the latest end first (a committee sees a few dozen a year)."""
    return list(db.session.scalars(select(Appointment).where(Appointment.ended_at.is_not(None))
                                   .order_by(Appointment.ended_at.desc(), Appointment.id.desc())))


def committee_members() -> list[tuple[User, str]]:
    """The committee today (第2-3(1)): the chair, the vice-chair and the members, each once,
    with the highest seat they hold."""
    order = {"chair": 0, "vice_chair": 1, "committee": 2}
    seats: dict[int, Appointment] = {}
    for a in current():
        if a.role in order and (a.user_id not in seats or order[a.role] < order[seats[a.user_id].role]):
            seats[a.user_id] = a
    return [(a.user, a.role) for a in sorted(seats.values(), key=lambda a: (order[a.role], a.user.username))
            if a.user.active]


def may_appoint(by: User, role: str) -> bool:
    return by.has_role(*APPOINTERS[role])


class AppointmentRefused(PeopleError):
    """A refusal that stays on record: the handler rolls back, then calls record()."""
    def __init__(self, message: str, by_id: int | None, detail: dict):
        super().__init__(message)
        self.by_id, self.detail = by_id, detail

    def record(self) -> None:
        audit.record_now("appointment_refused", self.by_id, reason=str(self), **self.detail)


def _refuse(message: str, by: User | None, **detail):
    raise AppointmentRefused(message, by.id if by else None, detail)


def _checked_date(value: date | None, label: str) -> date:
    day = value or today_jst()
    if day > today_jst():
        raise PeopleError(f"{label}に未来の日付は指定できません（その日になってから記録してください）。")
    return day


def appoint(user: User, role: str, by: User | None, started_on: date | None = None,
            note: str = "") -> Appointment:
    """Record an appointment and grant its role. `by` None: the command line (posts only)."""
    if role not in APPOINTED_ROLES:
        raise PeopleError("任命できない役割です。")
    detail = {"target_user_id": user.id, "username": user.username, "role": role}
    if by is None and role not in POSTS:
        raise PeopleError("コマンドラインで記録できるのは委員長と副委員長だけです。")
    if by is not None:
        if not may_appoint(by, role):
            who = "委員長又は副委員長" if len(APPOINTERS[role]) == 2 else "副委員長"
            _refuse(f"{ROLE_NAMES[role]}の任命・指名は{who}が行います（第2-3、第2-4(2)）。", by,
                    needs=list(APPOINTERS[role]), **detail)
        if by.id == user.id:
            _refuse("自分自身を任命・指名することはできません。", by, **detail)
    if not user.active:
        raise PeopleError("利用停止中のアカウントは任命できません。")
    if current(role, user.id):
        raise PeopleError(f"{user.display_name}さんは既に{ROLE_NAMES[role]}です。")
    if role == "author":
        _check_author(user, by, detail)
    started_on = _checked_date(started_on, "任命日")
    note = (note or "").strip()
    if len(note) > 500:
        raise PeopleError("備考は500文字以内にしてください。")
    if role in POSTS:
        for previous in current(role):
            if previous.started_on > started_on:
                raise PeopleError("任命日が現在の在任者の任命日より前です。")
            _end(previous, by, started_on, HANDOVER)
        db.session.flush()          # the previous holder's seat is free before the new one takes it
    appointment = Appointment(user_id=user.id, role=role, started_on=started_on, note=note,
                              appointed_by=by.id if by else None, appointed_at=utcnow())
    db.session.add(appointment)
    if role not in user.role_set:
        user.roles.append(UserRole(role=role))
    db.session.flush()
    audit.record("appointment_made", by.id if by else None, appointment_id=appointment.id,
                 started_on=started_on.isoformat(), note=note, **detail)
    return appointment


def _check_author(user: User, by: User | None, detail: dict) -> None:
    division = it_strategy_affiliation()
    if division is None:
        raise PeopleError("情報技術戦略課の所属（設定 IT_STRATEGY_AFFILIATION の所属コード）が登録されていません。")
    staff = db.session.scalar(select(Staff).where(Staff.user_id == user.id))
    if staff is None or staff.affiliation_id != division.id:
        _refuse(f"問題作成者は{division.name}の職員から指名します（第2-4(2)）。"
                f"{user.display_name}さんは{division.name}の職員として登録されていません。", by,
                reason_code="not_it_strategy_staff", **detail)


def end_appointment(appointment: Appointment, by: User, reason: str, ended_on: date | None = None) -> None:
    """End an appointment: the role goes, the record stays."""
    detail = {"target_user_id": appointment.user_id, "username": appointment.user.username,
              "role": appointment.role, "appointment_id": appointment.id}
    if appointment.ended_at is not None:
        raise PeopleError("この任命は既に終了しています。")
    if not by.has_role(*ENDERS[appointment.role]):
        _refuse(f"{ROLE_NAMES[appointment.role]}の任命の終了は"
                + "又は".join(ROLE_NAMES[r] for r in ENDERS[appointment.role]) + "が行います。", by,
                needs=list(ENDERS[appointment.role]), action="end", **detail)
    if by.id == appointment.user_id:
        _refuse("自分自身の任命は終了できません。", by, action="end", **detail)
    reason = (reason or "").strip()
    if not reason:
        raise PeopleError("終了の理由を入力してください。")
    if len(reason) > 500:
        raise PeopleError("終了の理由は500文字以内にしてください。")
    ended_on = _checked_date(ended_on, "終了日")
    if ended_on < appointment.started_on:
        raise PeopleError("終了日が任命日より前です。")
    _end(appointment, by, ended_on, reason)
    db.session.flush()


def _end(appointment: Appointment, by: User | None, ended_on: date, reason: str) -> None:
    appointment.ended_on, appointment.end_reason = ended_on, reason
    appointment.ended_by, appointment.ended_at = (by.id if by else None), utcnow()
    user = appointment.user
    for r in list(user.roles):
        if r.role == appointment.role:
            user.roles.remove(r)
    audit.record("appointment_ended", by.id if by else None, appointment_id=appointment.id,
                 target_user_id=user.id, username=user.username, role=appointment.role,
                 ended_on=ended_on.isoformat(), reason=reason)


def record_setup(user: User, roles, note: str) -> None:
    """Appointments for roles given when an account is set up outside the pages (the demo's
    accounts): on record from today, by nobody."""
    for role in roles:
        if role in APPOINTED_ROLES and not current(role, user.id):
            db.session.add(Appointment(user_id=user.id, role=role, started_on=today_jst(), note=note))
    db.session.flush()

