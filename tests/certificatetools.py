"""Test helpers for certificates: completed courses and activities of demo members, and a
certificate issued by the demo liaison (liaison1, サイバー対策課)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from app.extensions import db
from app.models import Activity, ActivityMember, CourseCompletion, Member, User


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def member(username: str) -> Member:
    return db.session.scalar(select(Member).join(User, Member.user_id == User.id)
                             .where(User.username == username))


def completion(m: Member, key="basics", title="ボランティア基礎研修", score=18, total=20,
               minutes=90, at=datetime(2026, 10, 1, 3, 0)) -> CourseCompletion:
    c = CourseCompletion(member_id=m.id, course_key=key, course_title=title, completed_at=at,
                         score=score, total=total, minutes=minutes)
    db.session.add(c)
    db.session.flush()
    return c


def activity(m: Member, kind: str, held_on: date, minutes: int, recorder: User) -> Activity:
    a = Activity(group_id=m.group_id, kind=kind, held_on=held_on, minutes=minutes,
                 place="公民館", audience="高齢者", participants=20, recorded_by=recorder.id)
    a.members.append(ActivityMember(member_id=m.id, minutes=minutes))
    db.session.add(a)
    db.session.flush()
    return a


def issue_demo_certificate(app) -> str:
    """A completion certificate of volunteer1, issued by liaison1; its public id."""
    from app.certificates import operations
    with app.test_request_context():
        c = completion(member("volunteer1"))
        cert = operations.issue_completion(c, user("liaison1"))
        db.session.commit()
        return cert.public_id
