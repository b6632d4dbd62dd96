"""Sign-in accounts: created for staff, linked, passwords reset, roles and deactivation."""
from __future__ import annotations

import secrets

from sqlalchemy import func, or_, select

from ..auth.throttle import clear_user
from ..core import audit
from ..extensions import db
from ..models import (APPOINTED_ROLES, INVITED_ROLES, ROLE_NAMES, ROLES, Affiliation, Staff, User,
                      UserRole)
from .appointments import AppointmentRefused
from .rules import PeopleError

# Password characters a person can read off a screen without confusing 0/O or 1/l/I.
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_password(length: int = 12) -> str:
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def create_login(staff: Staff, username: str, by: int | None) -> tuple[User, str]:
    """A candidate account for a staff member; the password is returned to be shown once."""
    username = username.strip() or staff.staff_number
    if staff.user_id is not None:
        raise PeopleError("この職員には既にログインアカウントがあります。")
    if len(username) > 64:
        raise PeopleError("ユーザーIDは64文字以内にしてください。")
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise PeopleError(f"ユーザーID「{username}」は既に使われています。")
    password = new_password()
    user = User(username=username, display_name=staff.name_kanji)
    user.set_password(password)
    user.roles.append(UserRole(role="candidate"))
    db.session.add(user)
    db.session.flush()
    staff.user_id = user.id
    db.session.flush()
    audit.record("user_created", by, target_user_id=user.id, username=username,
                 staff_id=staff.id, roles=["candidate"])
    return user, password


def link_login(staff: Staff, username: str, by: int | None) -> User:
    """Attach an existing account (made before the staff record) to a staff member."""
    if staff.user_id is not None:
        raise PeopleError("この職員には既にログインアカウントがあります。")
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        raise PeopleError(f"ユーザーID「{username}」は見つかりません。")
    other = db.session.scalar(select(Staff).where(Staff.user_id == user.id))
    if other is not None:
        raise PeopleError(f"ユーザーID「{user.username}」は既に職員番号「{other.staff_number}」と紐付いています。")
    staff.user_id = user.id
    db.session.flush()
    audit.record("user_linked", by, target_user_id=user.id, username=user.username, staff_id=staff.id)
    return user


def reset_password(user: User, by: int | None) -> str:
    password = new_password()
    user.set_password(password)
    # A new password also ends a sign-in lock: the lock message sends people to the secretariat.
    clear_user(user.username)
    db.session.flush()
    audit.record("password_reset", by, target_user_id=user.id, username=user.username)
    return password


def set_roles(user: User, roles: set[str], active: bool, by: User) -> dict:
    """Grant and withdraw roles. Nobody edits their own account: no one raises their own
    rights or locks themself out, and every change has a second person behind it."""
    if user.id == by.id:
        raise PeopleError("自分自身の役割や利用状態は変更できません。別の担当者に依頼してください。")
    unknown = roles - set(ROLES)
    if unknown:
        raise PeopleError("不明な役割です: " + "、".join(sorted(unknown)))
    before = user.role_set
    # Appointed roles come and go with appointments only (app/people/appointments.py): the
    # form does not offer them, and one asked for here is refused and logged.
    granted = (roles - before) & set(APPOINTED_ROLES)
    if granted:
        raise AppointmentRefused(
            "「" + "」「".join(ROLE_NAMES[r] for r in sorted(granted)) + "」は任命・指名によってのみ付与されます"
            "（任命の記録のページで、委員長・副委員長が行います）。", by.id,
            {"target_user_id": user.id, "username": user.username, "roles": sorted(granted),
             "via": "account_form"})
    roles = (roles - set(APPOINTED_ROLES)) | (before & set(APPOINTED_ROLES))
    # The volunteer role comes with a liaison's invitation only: kept as it is here.
    roles = (roles - set(INVITED_ROLES)) | (before & set(INVITED_ROLES))
    if "head" in before and "head" not in roles:
        headed = db.session.scalars(select(Affiliation).where(Affiliation.head_user_id == user.id)).all()
        if headed:
            raise PeopleError("「" + "」「".join(a.name for a in headed) + "」の長に設定されています。"
                              "先に所属の長を変更してください。")
    for r in list(user.roles):
        if r.role not in roles:
            user.roles.remove(r)
    for role in sorted(roles - before):
        user.roles.append(UserRole(role=role))
    changed = {}
    if roles != before:
        changed["added"] = sorted(roles - before)
        changed["removed"] = sorted(before - roles)
    if user.active != active:
        changed["active"] = [user.active, active]
        user.active = active
        if not active:      # and enabling again does not bring back a session from before
            user.end_sessions()
    db.session.flush()
    if changed:
        audit.record("user_roles_changed", by.id, target_user_id=user.id, username=user.username,
                     **changed)
    return changed


def search_users(q: str = "", role: str = "", page: int = 1, per_page: int = 50):
    query = select(User)
    if q.strip():
        query = query.where(or_(User.username.contains(q.strip()), User.display_name.contains(q.strip())))
    if role:
        query = query.where(User.roles.any(UserRole.role == role))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(User.username).offset((page - 1) * per_page).limit(per_page))
    return list(rows), total
