"""Who sees a volunteer group's people (domain.md): the group's leader, the liaison officers
of the division in charge, the committee and the secretariat; nobody else."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app.extensions import db
from app.models import Member, User, UserRole, VolunteerGroup
from app.people.accounts import set_roles
from app.volunteers import access

UNIVERSITY = "桜丘大学サイバー防犯ボランティア"
HIGH_SCHOOL = "みどり高校サイバー防犯部"


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def group(name: str) -> VolunteerGroup:
    return db.session.scalar(select(VolunteerGroup).where(VolunteerGroup.name == name))


@pytest.mark.parametrize("username, university, high_school", [
    ("committee1", True, True), ("vicechair", True, True), ("chair", True, True),
    ("secretariat1", True, True),
    ("liaison1", True, False),          # サイバー対策課 is in charge of the university's group
    ("volunteer1", True, False),        # the university group's leader
    ("volunteer2", False, False),       # a member, not the leader
    ("head1", False, False), ("candidate1", False, False), ("proctor1", False, False),
    ("author1", False, False),
])
def test_who_sees_members(app, username, university, high_school):
    with app.app_context():
        u = user(username)
        assert access.may_see_people(u, group(UNIVERSITY)) is university
        assert access.may_see_people(u, group(HIGH_SCHOOL)) is high_school


def test_visible_groups_and_who_acts(app):
    with app.app_context():
        assert [g.name for g in access.visible_groups(user("liaison1"))] == [UNIVERSITY]
        assert [g.name for g in access.visible_groups(user("volunteer2"))] == [UNIVERSITY]
        assert len(access.visible_groups(user("secretariat1"))) == 2
        assert access.visible_groups(user("head1")) == []
        assert access.may_act_for(user("liaison1"), group(UNIVERSITY))
        assert access.may_act_for(user("volunteer1"), group(UNIVERSITY))
        assert not access.may_act_for(user("volunteer2"), group(UNIVERSITY))
        assert not access.may_act_for(user("secretariat1"), group(UNIVERSITY))
        # A liaison moved to another division no longer acts for the group.
        liaison = user("liaison1")
        liaison.staff.affiliation_id = group(HIGH_SCHOOL).division_id
        assert not access.may_act_for(liaison, group(UNIVERSITY))
        assert access.may_act_for(liaison, group(HIGH_SCHOOL))


def test_minor_takes_part_only_with_consent(app):
    with app.app_context():
        minors = {m.name: m for m in db.session.scalars(select(Member).where(Member.minor.is_(True)))}
        assert minors["緑川　さくら"].may_take_part
        assert not minors["青木　蓮"].may_take_part
        # A consent on record names the guardian who gave it.
        minors["青木　蓮"].guardian_consent_on = minors["緑川　さくら"].joined_on
        with pytest.raises(sa.exc.IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_volunteer_role_only_by_invitation(app):
    """The account form neither grants nor takes away the volunteer role."""
    with app.app_context():
        secretariat = user("secretariat1")
        candidate = user("candidate3")
        set_roles(candidate, {"candidate", "volunteer", "liaison"}, True, secretariat)
        assert candidate.role_set == {"candidate", "liaison"}
        volunteer = user("volunteer2")
        set_roles(volunteer, set(), True, secretariat)
        assert volunteer.role_set == {"volunteer"}
        db.session.rollback()
        with pytest.raises(sa.exc.IntegrityError):
            db.session.add(UserRole(user_id=candidate.id, role="guest"))
            db.session.flush()
        db.session.rollback()
