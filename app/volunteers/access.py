"""Who may see a volunteer group's people and who may act for it.

Members' personal data is visible to the group's leader, the liaison officers of the
division in charge (担当所属), the committee and the secretariat only (domain.md). A liaison
is an officer with the liaison role whose staff record belongs to the group's division."""
from __future__ import annotations

from flask import request
from flask_login import current_user
from sqlalchemy import select

from ..core import audit
from ..extensions import db
from ..models import Member, Staff, User, VolunteerGroup

# Roles that see every group's members: the committee (the vice-chair and the chair are on
# it) and the secretariat.
OVERSIGHT_ROLES = ("committee", "vice_chair", "chair", "secretariat")


def member_of(user: User) -> Member | None:
    """The user's own member record, if they are an active volunteer."""
    if not user.has_role("volunteer"):
        return None
    return db.session.scalar(select(Member).where(Member.user_id == user.id, Member.active.is_(True)))


def me() -> User:
    """The signed-in user's row (`current_user` is the request's lightweight Principal)."""
    return db.session.get(User, current_user.id)


def liaison_division(user) -> int | None:
    """The affiliation a liaison officer acts for: their staff record's. `user` is a User or
    the request's Principal (which carries no staff record: read by id)."""
    if not user.has_role("liaison"):
        return None
    return db.session.scalar(select(Staff.affiliation_id).where(Staff.user_id == user.id))


def is_liaison_of(user: User, group: VolunteerGroup) -> bool:
    division = liaison_division(user)
    return division is not None and division == group.division_id


def is_leader_of(user: User, group: VolunteerGroup) -> bool:
    member = member_of(user)
    return member is not None and member.is_leader and member.group_id == group.id


def may_see_people(user: User, group: VolunteerGroup) -> bool:
    """Names, contacts, schools or employers of the group's members."""
    return (user.has_role(*OVERSIGHT_ROLES) or is_liaison_of(user, group)
            or is_leader_of(user, group))


def may_act_for(user: User, group: VolunteerGroup) -> bool:
    """Record the group's activities and requests: its leader and its liaison officers."""
    return is_liaison_of(user, group) or is_leader_of(user, group)


def visible_groups(user: User) -> list[VolunteerGroup]:
    """The groups whose page the user may open: all for the committee and the secretariat,
    the division's groups for a liaison, their own group for a volunteer."""
    query = select(VolunteerGroup).order_by(VolunteerGroup.name)
    if user.has_role(*OVERSIGHT_ROLES):
        return list(db.session.scalars(query))
    groups: dict[int, VolunteerGroup] = {}
    division = liaison_division(user)
    if division is not None:
        groups.update((g.id, g) for g in db.session.scalars(
            query.where(VolunteerGroup.division_id == division)))
    member = member_of(user)
    if member is not None:
        groups[member.group_id] = member.group
    return sorted(groups.values(), key=lambda g: g.name)


class ParticipantRefused(Exception):
    """A volunteer page refused to someone who may not take part: a 403 page that says why
    (app/volunteers/groups.py renders it for every blueprint)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def participation_refusal(user: User, member: Member | None) -> tuple[str, str] | None:
    """(code, Japanese reason) why the user may not take part as a volunteer, or None."""
    if member is None or not user.has_role("volunteer"):
        return "not_member", "このアカウントはボランティア団体の参加者として登録されていません。"
    if not member.active:
        return "left", "団体を退会した参加者は利用できません。再び参加する場合は担当所属の連絡担当にお問い合わせください。"
    if member.minor and member.guardian_consent_on is None:
        return "no_consent", ("18歳未満の参加者は、保護者の同意が記録されるまで活動に参加できません。"
                              "同意書を担当所属の連絡担当に提出してください。")
    return None


def require_participant() -> Member:
    """The signed-in volunteer's member record; anyone who may not take part (no member
    record, left the group, under 18 without a guardian's consent on record) is refused
    with a 403 page that says why, logged as `volunteer_refused`. Pages of volunteers call
    it after their role check."""
    user = me()
    member = db.session.scalar(select(Member).where(Member.user_id == user.id))
    refusal = participation_refusal(user, member)
    if refusal is None:
        return member
    code, message = refusal
    audit.record_now("volunteer_refused", user.id, reason=code, path=request.path,
                     member_id=member.id if member else None)
    raise ParticipantRefused(message)
