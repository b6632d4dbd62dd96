"""Training operations: start an attempt, record an answer, finish it, and record the
course's completion once. They only flush; the request handler commits."""
from __future__ import annotations

import json
import random
import secrets

from sqlalchemy import select

from scoring.courses import AttemptResult, Course, Module, course_status, draw
from scoring.grading import grade

from ..core import audit
from ..extensions import db
from ..models import CourseCompletion, Member, TrainingAnswer, TrainingAttempt, utcnow
from .catalogue import Catalogue


def start(cat: Catalogue, course: Course, module: Module, user_id: int,
          member: Member | None) -> TrainingAttempt:
    """A new attempt with a fresh draw; questions of the user's previous attempt at the
    module are avoided where the bank has enough others."""
    previous = db.session.scalar(
        select(TrainingAttempt).where(TrainingAttempt.user_id == user_id,
                                      TrainingAttempt.course_key == course.key,
                                      TrainingAttempt.module_key == module.key)
        .order_by(TrainingAttempt.id.desc()).limit(1))
    avoid = frozenset(previous.question_ids) if previous else frozenset()
    ids = draw(module, cat.bank.questions.values(), random.SystemRandom(), avoid)
    attempt = TrainingAttempt(user_id=user_id, member_id=member.id if member else None,
                              course_key=course.key, module_key=module.key, bank_hash=cat.digest,
                              question_ids_json=json.dumps(ids), order_seed=secrets.token_hex(16),
                              total=len(ids))
    db.session.add(attempt)
    db.session.flush()
    return attempt


def shown_order(attempt: TrainingAttempt, q) -> list[str]:
    """The choice keys in the order this attempt shows them: from the attempt's secret
    seed, so the page carries positions only and a reload shows the same order."""
    keys = [c.key for c in q.choices]
    if q.shuffle:
        random.Random(f"{attempt.order_seed}\0{q.id}").shuffle(keys)
    return keys


def answer(attempt: TrainingAttempt, position: int, q, response) -> TrainingAnswer:
    row = TrainingAnswer(attempt=attempt, position=position, question_id=q.id,
                         response_json=json.dumps(response, ensure_ascii=False),
                         correct=grade(q.type, q.answer, response))
    db.session.add(row)
    db.session.flush()
    return row


def finish(attempt: TrainingAttempt, module: Module) -> None:
    attempt.correct = sum(1 for a in attempt.answers if a.correct)
    attempt.passed = module.passes(attempt.correct, attempt.total)
    attempt.finished_at = utcnow()
    db.session.flush()


def results(attempts) -> list[AttemptResult]:
    """The finished ones among `attempts`, as completion counts them."""
    return [AttemptResult(a.module_key, a.correct, a.total, bool(a.passed))
            for a in attempts if a.finished]


def member_results(member_id: int, course_key: str) -> list[AttemptResult]:
    return results(db.session.scalars(
        select(TrainingAttempt).where(TrainingAttempt.member_id == member_id,
                                      TrainingAttempt.course_key == course_key)
        .order_by(TrainingAttempt.id)))


def completion_of(member_id: int, course_key: str) -> CourseCompletion | None:
    return db.session.scalar(select(CourseCompletion).where(CourseCompletion.member_id == member_id,
                                                            CourseCompletion.course_key == course_key))


def complete_if_done(cat: Catalogue, course: Course, member: Member) -> CourseCompletion | None:
    """Record the completion when every module is passed, once: a retake afterwards adds
    nothing. Returns the new record, or None."""
    if completion_of(member.id, course.key) is not None:
        return None
    status = course_status(course, member_results(member.id, course.key))
    if not status.complete:
        return None
    done = CourseCompletion(member_id=member.id, course_key=course.key, course_title=course.title,
                            score=status.score, total=status.total, minutes=course.minutes,
                            bank_hash=cat.digest)
    db.session.add(done)
    db.session.flush()
    audit.record("training_completed", member_id=member.id, course=course.key,
                 score=status.score, total=status.total, minutes=course.minutes)
    return done
