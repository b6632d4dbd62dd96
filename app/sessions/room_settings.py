"""A session's exam room as the vice-chair and chair set it up (試験会場の設定): how it
starts, who may enter (the access code, the allowed networks, Safe Exam Browser's Config
Keys), its proctors; and the extra time (合理的配慮) on a registration.

Handlers (routes.py) check access, call these and commit; these only flush. Every change
is in the audit log.

What may change when:
- The start mode, until the room has started (the signal given, or anyone's clock
  running): after that it would only treat latecomers otherwise than the room was told.
- The access rules, at any time: a wrong network or a re-issued SEB configuration found
  during the sitting must be put right at once, or candidates stay locked out. A change
  reaches every app server within a second (the lobby's room cache).
- Extra time, until the candidate's clock starts: the start computes the deadline from
  it. Once started, time is given by the proctor (時間追加 in the room), which moves the
  running deadline and is on the room's record with its reason, instead of a changed
  registration that would silently not change the attempt."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from scoring import access
from scoring.controlchars import normalise_newlines

from ..core import audit
from ..extensions import db
from ..models import Attempt, ExamSession, Proctor, Registration, User, UserRole
from ..room.ops import room_detail
from .ops import OperationRefused

START_MODES = {"self": "各自で開始（受検者が待機画面で開始を押す）",
               "signal": "監督者の合図で開始（待機中の全員が一斉に開始）"}
MAX_EXTRA_MINUTES = 240
MAX_EXTRA_PERCENT = 100
CODE_LENGTHS = (access.MIN_CODE_LENGTH, 16)
_DIGITS = re.compile(r"[0-9]+")


@dataclass
class RoomSettings:
    """The settings as the form holds them: text, "" for none."""
    start_mode: str
    access_code: str
    allowed_networks: str
    seb_config_keys: str


def settings_of(session: ExamSession) -> RoomSettings:
    d = room_detail(session)
    return RoomSettings(d.start_mode, d.access_code or "", d.allowed_networks or "",
                        d.seb_config_keys or "")


def room_started(session: ExamSession) -> bool:
    """The signal has been given, or someone's clock has started (or ended)."""
    if room_detail(session).signal_at is not None:
        return True
    return db.session.scalar(select(Attempt.id).where(
        Attempt.session_id == session.id,
        or_(Attempt.pause_scope.is_(None), Attempt.pause_scope != "lobby")).limit(1)) is not None


def _code(text: str) -> str:
    return access.normalize_code(text)


def check_settings(values: RoomSettings) -> dict[str, list[str]]:
    """Problems by field (Japanese; the lists' problems name their lines)."""
    errors: dict[str, list[str]] = {}
    if values.start_mode not in START_MODES:
        errors["start_mode"] = ["開始の方法を選んでください。"]
    code = _code(values.access_code)
    low, high = CODE_LENGTHS
    if code and not (_DIGITS.fullmatch(code) and low <= len(code) <= high):
        errors["access_code"] = [f"入室コードは{low}〜{high}桁の数字にしてください"
                                 "（読み上げて聞き違えないよう数字だけにしています）。"]
    _nets, problems = access.parse_networks(values.allowed_networks)
    if problems:
        errors["allowed_networks"] = problems
    _keys, problems = access.parse_config_keys(values.seb_config_keys)
    if problems:
        errors["seb_config_keys"] = problems
    return errors


def _text(value: str) -> str | None:
    value = normalise_newlines(value or "").strip()
    return value or None


def save_settings(session: ExamSession, values: RoomSettings, actor: User) -> list[str]:
    """Store the settings; returns the names of what changed. The access code itself is not
    written to the audit log (it is read out in the room; the log says it changed)."""
    errors = check_settings(values)
    if errors:
        raise OperationRefused(" ".join(m for ms in errors.values() for m in ms))
    detail = room_detail(session)
    if values.start_mode != detail.start_mode and room_started(session):
        raise OperationRefused("試験が既に始まっているため、開始の方法は変更できません。")
    before = {"start_mode": detail.start_mode, "access_code": detail.access_code,
              "allowed_networks": detail.allowed_networks, "seb_config_keys": detail.seb_config_keys}
    after = {"start_mode": values.start_mode, "access_code": _code(values.access_code) or None,
             "allowed_networks": _text(values.allowed_networks),
             "seb_config_keys": _text(values.seb_config_keys)}
    changed = [k for k in after if after[k] != before[k]]
    for k in changed:
        setattr(detail, k, after[k])
    db.session.flush()
    if changed:
        audit.record("room_settings_updated", actor.id, session_id=session.id, changed=changed,
                     changes={k: [before[k], after[k]] for k in changed if k != "access_code"})
    return changed


# ---- proctors -----------------------------------------------------------------------------

def proctors_of(session: ExamSession) -> list[tuple[Proctor, User]]:
    return list(db.session.execute(
        select(Proctor, User).join(User, User.id == Proctor.user_id)
        .where(Proctor.session_id == session.id).order_by(User.display_name)).all())


def assignable(session: ExamSession) -> list[User]:
    """Active accounts with the proctor role not yet assigned to the session."""
    assigned = select(Proctor.user_id).where(Proctor.session_id == session.id)
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "proctor", User.active, User.id.not_in(assigned))
        .order_by(User.display_name)))


def assign_proctor(session: ExamSession, user_id: int, actor: User) -> User:
    user = db.session.get(User, user_id)
    if user is None or not user.active or not user.has_role("proctor"):
        raise OperationRefused("試験監督者の役割がある有効な利用者を選んでください。")
    if db.session.scalar(select(Proctor.id).where(Proctor.session_id == session.id,
                                                  Proctor.user_id == user.id)) is not None:
        raise OperationRefused(f"{user.display_name}さんは既にこの実施回の試験監督者です。")
    db.session.add(Proctor(session_id=session.id, user_id=user.id, assigned_by=actor.id))
    db.session.flush()
    audit.record("proctor_assigned", actor.id, session_id=session.id, proctor_user_id=user.id)
    return user


def remove_proctor(session: ExamSession, user_id: int, actor: User) -> None:
    proctor = db.session.scalar(select(Proctor).where(Proctor.session_id == session.id,
                                                      Proctor.user_id == user_id))
    if proctor is None:
        raise OperationRefused("この利用者はこの実施回の試験監督者ではありません。")
    db.session.delete(proctor)
    db.session.flush()
    audit.record("proctor_removed", actor.id, session_id=session.id, proctor_user_id=user_id)


# ---- accommodations (合理的配慮) -------------------------------------------------------------

def accommodation_refusal(registration: Registration) -> str | None:
    """Why the extra time can no longer change, or None (see the module docstring)."""
    attempt = db.session.scalar(select(Attempt).where(Attempt.session_id == registration.session_id,
                                                      Attempt.user_id == registration.user_id))
    if attempt is None or attempt.phase == "lobby":
        return None
    return ("この受検者は既に試験を開始しているため、延長時間は変更できません。受検中に時間が"
            "必要な場合は、試験監督者が試験会場の画面で「時間追加」を行ってください（理由とともに記録されます）。")


def set_accommodation(registration: Registration, minutes: int, percent: int, reason: str | None,
                      actor: User, now: datetime) -> bool:
    """Set the extra time with its reason (required when there is extra time); returns
    whether anything changed. The reason stays out of the audit log, which the
    secretariat reads too: only the committee, the vice-chair and the chair see it."""
    refusal = accommodation_refusal(registration)
    if refusal:
        raise OperationRefused(refusal)
    if not (0 <= minutes <= MAX_EXTRA_MINUTES and 0 <= percent <= MAX_EXTRA_PERCENT):
        raise OperationRefused(f"延長時間は0〜{MAX_EXTRA_MINUTES}分、延長の割合は0〜{MAX_EXTRA_PERCENT}%"
                               "で入力してください。")
    reason = _text(reason or "")
    if (minutes or percent) and not reason:
        raise OperationRefused("延長を設定する場合は理由を入力してください。")
    before = (registration.extra_minutes, registration.extra_percent, registration.accommodation_reason)
    if before == (minutes, percent, reason):
        return False
    registration.extra_minutes, registration.extra_percent = minutes, percent
    registration.accommodation_reason = reason
    registration.accommodation_by, registration.accommodation_at = actor.id, now
    db.session.flush()
    audit.record("accommodation_set", actor.id, session_id=registration.session_id,
                 candidate_user_id=registration.user_id, extra_minutes=minutes,
                 extra_percent=percent, before=[before[0], before[1]],
                 reason_changed=before[2] != reason)
    return True
