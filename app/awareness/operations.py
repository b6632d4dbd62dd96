"""What the awareness pages do to the data; they flush, the request handler commits."""
from __future__ import annotations

import json
import secrets
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from scoring import awareness
from scoring.access import new_code, normalize_code

from ..core import audit
from ..extensions import db
from ..models import (Activity, ActivityMember, AwarenessAnswer, AwarenessEvent,
                      AwarenessParticipant, User, VolunteerGroup, utcnow)
from ..volunteers.access import is_liaison_of, member_of
from . import sources

CODE_LENGTH = 6


def may_run(user: User, group: VolunteerGroup) -> bool:
    """Create, run and close the group's events: its liaisons, and its members who may take
    part (a minor only with a guardian's consent on record)."""
    if is_liaison_of(user, group):
        return True
    member = member_of(user)
    return member is not None and member.group_id == group.id and member.may_take_part


def may_view(user: User, group: VolunteerGroup) -> bool:
    """See the group's events and their counts (no personal data on them): the runners, the
    group's other members, the committee and the secretariat."""
    from ..volunteers.access import OVERSIGHT_ROLES
    member = member_of(user)
    return (may_run(user, group) or user.has_role(*OVERSIGHT_ROLES)
            or (member is not None and member.group_id == group.id))


def find_by_code(code: str) -> AwarenessEvent | None:
    typed = normalize_code(code)
    if not typed or len(typed) > 16:
        return None
    return db.session.scalar(select(AwarenessEvent).where(AwarenessEvent.code == typed))


def create_event(group: VolunteerGroup, ref: str, held_on: date, place: str, audience: str,
                 minutes: int | None, user: User) -> AwarenessEvent:
    """The event with a snapshot of the quiz's questions and a fresh code; SourceError when
    the quiz cannot be used."""
    title, questions = sources.resolve(ref, group)
    choice = next((c for c in sources.quiz_choices(group) if c.ref == ref), None)
    default_minutes = choice.minutes if choice else 30
    for _ in range(20):
        code = new_code(CODE_LENGTH)
        if find_by_code(code) is None:
            break
    event = AwarenessEvent(group_id=group.id, code=code, title=title, source_ref=ref,
                           questions_json=json.dumps(questions, ensure_ascii=False),
                           held_on=held_on, place=place.strip(), audience=audience.strip(),
                           minutes=minutes or default_minutes, created_by=user.id)
    db.session.add(event)
    db.session.flush()
    audit.record("awareness_event_created", user.id, event_id=event.id, group=group.id, source=ref,
                 questions=len(questions))
    return event


def start(event: AwarenessEvent, token: str | None) -> AwarenessParticipant:
    """The participant behind the token, or a new one: one person counted once, however
    often they come back to the start page."""
    if token:
        found = db.session.scalar(select(AwarenessParticipant).where(
            AwarenessParticipant.token == token, AwarenessParticipant.event_id == event.id))
        if found is not None:
            return found
    participant = AwarenessParticipant(event_id=event.id, token=secrets.token_urlsafe(24))
    db.session.add(participant)
    db.session.flush()
    return participant


def participant_of(event: AwarenessEvent, token: str | None) -> AwarenessParticipant | None:
    if not token:
        return None
    return db.session.scalar(select(AwarenessParticipant).where(
        AwarenessParticipant.token == token, AwarenessParticipant.event_id == event.id))


def answers_of(participant: AwarenessParticipant) -> dict[int, AwarenessAnswer]:
    rows = db.session.scalars(select(AwarenessAnswer).where(
        AwarenessAnswer.participant_id == participant.id))
    return {a.position: a for a in rows}


def answer(event: AwarenessEvent, participant: AwarenessParticipant, position: int,
           choice: int) -> AwarenessAnswer:
    """The first answer to a question counts; a second (a reload, a double tap) is ignored."""
    previous = answers_of(participant)
    if position in previous:
        return previous[position]
    question = event.questions[position]
    row = AwarenessAnswer(participant_id=participant.id, event_id=event.id, position=position,
                          choice=choice, correct=choice == question["answer"])
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:          # the same answer sent twice at once
        return answers_of(participant)[position]
    if len(previous) + 1 == len(event.questions) and participant.finished_at is None:
        participant.finished_at = utcnow()
    db.session.flush()
    return row


def counts(event: AwarenessEvent) -> awareness.EventCounts:
    started = db.session.scalar(select(func.count()).select_from(AwarenessParticipant).where(
        AwarenessParticipant.event_id == event.id))
    finished = db.session.scalar(select(func.count()).select_from(AwarenessParticipant).where(
        AwarenessParticipant.event_id == event.id, AwarenessParticipant.finished_at.is_not(None)))
    rows = db.session.execute(select(AwarenessAnswer.participant_id, AwarenessAnswer.position,
                                     AwarenessAnswer.choice, AwarenessAnswer.correct)
                              .where(AwarenessAnswer.event_id == event.id))
    return awareness.count(event.questions, started, finished, [tuple(r) for r in rows])


def close(event: AwarenessEvent, user: User, record: bool, minutes: int) -> Activity | None:
    """Close the event (its code stops working) and, if asked, record the group's awareness
    activity with the event's date, place, audience and the people who answered."""
    tally = counts(event)
    event.status = "closed"
    event.closed_by = user.id
    event.closed_at = utcnow()
    event.minutes = minutes
    activity = None
    if record:
        activity = Activity(
            group_id=event.group_id, kind="awareness", held_on=event.held_on, place=event.place,
            audience=event.audience, participants=tally.answered, minutes=minutes,
            summary=(f"啓発クイズ「{event.title}」（{len(event.questions)}問）: "
                     f"回答 {tally.answered}人、最後まで回答 {tally.finished}人"),
            recorded_by=user.id)
        db.session.add(activity)
        db.session.flush()
        # The runners' own time counts toward their activity certificates.
        runners = {event.created_by, user.id}
        for runner in db.session.scalars(select(User).where(User.id.in_(runners))):
            member = member_of(runner)
            if member is not None and member.group_id == event.group_id:
                db.session.add(ActivityMember(activity_id=activity.id, member_id=member.id,
                                              minutes=minutes))
        event.activity_id = activity.id
    db.session.flush()
    audit.record("awareness_event_closed", user.id, event_id=event.id, group=event.group_id,
                 participants=tally.answered, finished=tally.finished,
                 activity=activity.id if activity else None)
    return activity
