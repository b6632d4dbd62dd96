"""Exam operations: start, save an answer, submit, score, and close at the deadline.

Request handlers call these and commit; these only flush. Every state change that can
race (two tabs, two servers, the deadline sweeper) is a conditional UPDATE, so the
database, not a process, decides who wins.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from scoring.assembly import Assembler, new_seed
from scoring.grading import GradedItem, ResponseError, coerce_response, grade, score_sheet

from . import audit
from .banks import snapshot
from .extensions import db
from .models import AnswerStep, Attempt, ExamSession, Registration, User, latest_steps, utcnow

log = logging.getLogger("cbt.exam")


class Refused(Exception):
    """A request the exam rules refuse; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def is_registered(session: ExamSession, user: User) -> bool:
    return db.session.scalar(select(Registration.id).where(
        Registration.session_id == session.id, Registration.user_id == user.id)) is not None


def open_sessions_for(user: User, now: datetime) -> list[ExamSession]:
    return list(db.session.scalars(
        select(ExamSession).join(Registration, Registration.session_id == ExamSession.id)
        .where(Registration.user_id == user.id, ExamSession.closes_at > now)
        .order_by(ExamSession.opens_at)))


def find_attempt(session_id: int, user_id: int) -> Attempt | None:
    return db.session.scalar(select(Attempt).where(Attempt.session_id == session_id,
                                                   Attempt.user_id == user_id))


def start_attempt(session: ExamSession, user: User, now: datetime) -> Attempt:
    """Resume the candidate's attempt, or draw a new form for them."""
    existing = find_attempt(session.id, user.id)
    if existing:
        return existing
    if not is_registered(session, user):
        raise Refused(403, "not_registered", "この検定の受検者として登録されていません。")
    if not session.is_open(now):
        raise Refused(409, "closed", "この検定は現在受検できません（受検期間外です）。")
    blueprint, questions = snapshot(session.bank_version)
    seed = new_seed()
    form = Assembler(blueprint, questions, session.level).draw(seed)
    deadline = min(now + timedelta(minutes=session.duration_minutes), session.closes_at)
    attempt = Attempt(session_id=session.id, user_id=user.id, bank_version_id=session.bank_version_id,
                      level=session.level, seed=seed, started_at=now, deadline=deadline,
                      form_json=json.dumps([i.to_dict() for i in form.items], ensure_ascii=False))
    db.session.add(attempt)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        # A second tab started at the same moment; theirs won, resume it.
        return find_attempt(session.id, user.id)
    audit.record("attempt_started", user.id, attempt_id=attempt.id, session_id=session.id,
                 seed=seed, bank_version=session.bank_version.digest)
    return attempt


def attempt_questions(attempt: Attempt):
    """The attempt's questions in shown order, from the version it was drawn from."""
    _blueprint, questions = snapshot(attempt.bank_version)
    return [(item, questions[item["id"]]) for item in attempt.form]


@dataclass
class Ack:
    seq: int
    saved_at: datetime
    duplicate: bool = False


def record_answer(attempt: Attempt, *, base_seq, client_id, position, question_id, response,
                  flagged, now: datetime) -> Ack:
    """Append one answer step, or refuse and record nothing (the caller logs the refusal)."""
    if not isinstance(client_id, str) or not 8 <= len(client_id) <= 64:
        raise Refused(400, "bad_request", "送信内容が正しくありません（client_id）。")
    if isinstance(base_seq, bool) or not isinstance(base_seq, int) or base_seq < 0:
        raise Refused(400, "bad_request", "送信内容が正しくありません（base_seq）。")
    if isinstance(position, bool) or not isinstance(position, int):
        raise Refused(400, "bad_request", "送信内容が正しくありません（position）。")
    if not isinstance(flagged, bool):
        raise Refused(400, "bad_request", "送信内容が正しくありません（flagged）。")
    # A retried request whose first try was stored: answer as the first time.
    done = db.session.scalar(select(AnswerStep).where(AnswerStep.attempt_id == attempt.id,
                                                      AnswerStep.client_id == client_id))
    if done:
        return Ack(done.seq, done.created_at, duplicate=True)
    form = attempt.form
    if not 1 <= position <= len(form) or form[position - 1]["id"] != question_id:
        raise Refused(404, "not_on_form", "この問題はあなたの問題用紙にありません。")
    if attempt.finished:
        raise Refused(409, "finished", "この受検は提出済みです。解答は変更できません。")
    if now >= attempt.deadline:
        raise Refused(409, "deadline", "試験時間が終了しました。解答は受け付けられません。")
    _blueprint, questions = snapshot(attempt.bank_version)
    q = questions[question_id]
    try:
        value = coerce_response(q.type, [c.key for c in q.choices], response)
    except ResponseError as exc:
        raise Refused(400, "bad_response", str(exc)) from None
    new_seq = base_seq + 1
    claimed = db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.last_seq == base_seq,
               Attempt.submitted_at.is_(None), Attempt.deadline > now)
        .values(last_seq=new_seq, last_position=position)
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        db.session.refresh(attempt)
        if attempt.finished:
            raise Refused(409, "finished", "この受検は提出済みです。解答は変更できません。")
        if now >= attempt.deadline:
            raise Refused(409, "deadline", "試験時間が終了しました。解答は受け付けられません。")
        raise Refused(409, "stale", "別の画面でより新しい解答が保存されています。"
                                    "画面を再読み込みしてください。", seq=attempt.last_seq)
    step = AnswerStep(attempt_id=attempt.id, seq=new_seq, position=position, question_id=question_id,
                      response_json=None if value is None else json.dumps(value, ensure_ascii=False),
                      flagged=flagged, client_id=client_id, created_at=now)
    db.session.add(step)
    db.session.flush()
    return Ack(new_seq, now)


def score_attempt(attempt: Attempt) -> None:
    """Grade the latest answer of every question and store the sheet's score."""
    steps = latest_steps(attempt.id)
    items = []
    for position, (item, q) in enumerate(attempt_questions(attempt), start=1):
        step = steps.get(position)
        items.append(GradedItem(q.id, q.area, q.topic,
                                grade(q.type, q.answer, step.response if step else None)))
    sheet = score_sheet(items)
    attempt.correct, attempt.total, attempt.passed = sheet.correct, sheet.total, sheet.passed
    attempt.score_json = json.dumps(sheet.to_dict(), ensure_ascii=False)


def submit_attempt(attempt: Attempt, by: str, now: datetime) -> bool:
    """Submit and score once; False (and nothing changed) if it was already submitted."""
    at = min(now, attempt.deadline)
    won = db.session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.submitted_at.is_(None))
        .values(submitted_at=at, submitted_by=by)
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.refresh(attempt)
    if not won:
        return False
    score_attempt(attempt)
    audit.record("attempt_submitted", attempt.user_id, attempt_id=attempt.id, by=by,
                 correct=attempt.correct, total=attempt.total, passed=attempt.passed)
    return True


def close_if_expired(attempt: Attempt, now: datetime) -> bool:
    if not attempt.finished and now >= attempt.deadline:
        return submit_attempt(attempt, "deadline", now)
    return False


def finalize_expired(now: datetime, batch: int = 200) -> int:
    """Submit and score every attempt whose deadline has passed; returns how many.
    Commits per batch so a long backlog after a mass deadline is not one transaction."""
    total = 0
    while True:
        due = list(db.session.scalars(select(Attempt).where(
            Attempt.submitted_at.is_(None), Attempt.deadline <= now).limit(batch)))
        if not due:
            return total
        for attempt in due:
            total += submit_attempt(attempt, "deadline", now)
        db.session.commit()


def start_sweeper(app) -> None:
    """Background thread per server process: scores attempts at their deadline even when
    no browser is left. Several servers may run one each; the conditional update in
    submit_attempt lets exactly one of them submit a given attempt."""
    interval = app.config["SWEEP_INTERVAL_SECONDS"]

    def loop():
        while True:
            time.sleep(interval)
            try:
                with app.app_context():
                    n = finalize_expired(utcnow())
                    if n:
                        log.info("deadline sweeper submitted %d attempt(s)", n)
            except Exception:       # keep sweeping; the next round retries
                log.exception("deadline sweeper failed")
                with app.app_context():
                    db.session.rollback()

    threading.Thread(target=loop, name="deadline-sweeper", daemon=True).start()
