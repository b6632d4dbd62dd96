"""Who may see a volunteer group's people and who may act for it.

Members' personal data is visible to the group's leader, the liaison officers of the
division in charge (担当所属), the committee and the secretariat only (domain.md). A liaison
is an officer with the liaison role whose staff record belongs to the group's division."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Member, User, VolunteerGroup

# Roles that see every group's members: the committee (the vice-chair and the chair are on
# it) and the secretariat.
OVERSIGHT_ROLES = ("committee", "vice_chair", "chair", "secretariat")


def member_of(user: User) -> Member | None:
    """The user's own member record, if they are an active volunteer."""
    if not user.has_role("volunteer"):
        return None
    return db.session.scalar(select(Member).where(Member.user_id == user.id, Member.active.is_(True)))


def liaison_division(user: User) -> int | None:
    """The affiliation a liaison officer acts for: their staff record's."""
    if not user.has_role("liaison"):
        return None
    staff = getattr(user, "staff", None)
    return staff.affiliation_id if staff is not None else None


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
