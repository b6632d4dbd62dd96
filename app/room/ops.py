"""The proctor's operations on a sitting: the start signal, pauses, time given back, a move to
another PC, termination for misconduct, irregularity notes, and the access code.

Each action has a reason, is written to the room's log (RoomEvent, shown on the
candidate's review sheet) and the audit log, and raises the room's control sequence, which
every candidate page asks for every few seconds: a page whose room changed reads its own
state again, so an action is felt within seconds, on every app server alike. Deadlines
stay in the database: the save path, the sweeper and the page all read them from there.

Request handlers check access (may_proctor), call these and commit; these only flush. Each
change of an attempt is a conditional UPDATE on the value it read, so two proctors (or a
proctor and the sweeper) acting at once cannot both win."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from scoring import access, controlchars
from scoring.timing import SIGNAL_LEAD_SECONDS, extra_seconds, remaining_ms, resumed_deadline

from ..core import audit
from ..exam.attempts import begin_waiting, submit_attempt
from ..extensions import db
from ..sessions.registrations import registration_of
from ..models import (AnswerStep, Attempt, ExamSession, Proctor, Registration, RoomEvent,
                      SessionDetail, User)

PROCTOR_ROLES = ("vice_chair", "chair")      # they may proctor any session
MAX_MINUTES = 240                            # more is a typing slip, not time to give
MAX_REASON = 2000                            # a note, not a report


class RoomError(Exception):
    """An action the room's state does not allow; the message says why (Japanese)."""


def may_proctor(user, session_id: int) -> bool:
    """The vice-chair and chair proctor any session; a proctor only the sessions they are
    assigned to."""
    if user.has_role(*PROCTOR_ROLES):
        return True
    if not user.has_role("proctor"):
        return False
    return db.session.scalar(select(Proctor.id).where(
        Proctor.session_id == session_id, Proctor.user_id == user.id)) is not None


def room_detail(session: ExamSession) -> SessionDetail:
    """The session's settings and room state (made with the defaults when missing)."""
    detail = db.session.get(SessionDetail, session.id)
    if detail is None:
        detail = SessionDetail(session_id=session.id, format="cbt", start_mode="self",
                               control_seq=0)
        db.session.add(detail)
        db.session.flush()
    return detail


def _changed(session_id: int) -> None:
    """Every page of the room reads its state again (see the module docstring)."""
    db.session.execute(update(SessionDetail).where(SessionDetail.session_id == session_id)
                       .values(control_seq=SessionDetail.control_seq + 1)
                       .execution_options(synchronize_session=False))


def _log(session_id: int, action: str, reason: str, by: User, *, attempt: Attempt | None = None,
         user_id: int | None = None, seconds: int | None = None, now: datetime) -> None:
    db.session.add(RoomEvent(session_id=session_id, action=action, reason=reason, by=by.id,
                             attempt_id=attempt.id if attempt else None,
                             user_id=attempt.user_id if attempt else user_id,
                             seconds=seconds, at=now))
    audit.record(f"room_{action}", by.id, session_id=session_id,
                 attempt_id=attempt.id if attempt else None,
                 candidate_user_id=attempt.user_id if attempt else user_id,
                 seconds=seconds, reason=reason)


def _reason(text) -> str:
    """The reason as stored: text (a JSON body may hold anything), under the rule on
    control characters every form field follows (scoring/controlchars.py)."""
    reason = controlchars.normalise_newlines(text).strip() if isinstance(text, str) else ""
    if not reason:
        raise RoomError("理由を入力してください（監査記録と答案の確認画面に残ります）。")
    if len(reason) > MAX_REASON:
        raise RoomError(f"理由は{MAX_REASON}文字以内にしてください。")
    at = controlchars.find_forbidden(reason, multiline=True)
    if at >= 0:
        raise RoomError(controlchars.message_ja(reason[at], "理由"))
    return reason


def _not_in_lobby(attempt: Attempt) -> None:
    """Time given before the start would be lost: the start sets the deadline afresh."""
    if attempt.phase == "lobby":
        raise RoomError("この受検者はまだ開始前です。時間の追加は開始後に行ってください"
                        "（事前に決まった延長は合理的配慮として登録します）。")


def _minutes(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MINUTES:
        raise RoomError(f"時間は1〜{MAX_MINUTES}分で指定してください。")
    return value


def _attempt_of(session: ExamSession, user_id: int) -> Attempt | None:
    return db.session.scalar(select(Attempt).where(Attempt.session_id == session.id,
                                                   Attempt.user_id == user_id))


# ---- the start -------------------------------------------------------------------------

def give_signal(session: ExamSession, by: User, now: datetime) -> datetime:
    """The proctor's 開始 in a room that starts on the signal: every attempt waiting in the
    lobby starts the app's SIGNAL_LEAD_SECONDS from now (shorter with the room's channel), each with its own extra time; a candidate who
    enters later starts on their own. Returns the start."""
    detail = room_detail(session)
    if detail.start_mode != "signal":
        raise RoomError("この検定は受検者が各自で開始する設定です（開始の合図は不要です）。")
    if detail.signal_at is not None:
        raise RoomError("開始の合図は既に出されています。")
    if detail.room_paused_at is not None:
        raise RoomError("会場全体が一時中断中です。先に再開してください。")
    if not session.is_open(now):
        raise RoomError("受検期間外のため開始できません。")
    lead = current_app.config["SIGNAL_LEAD_SECONDS"]
    start = now + timedelta(seconds=lead)
    detail.signal_at = start
    started = begin_waiting(session, start)
    _log(session.id, "signal", f"開始の合図（{started}名）", by, seconds=math.ceil(lead), now=now)
    _changed(session.id)
    return start


# ---- pauses -----------------------------------------------------------------------------

def pause(attempt: Attempt, reason: str, by: User, now: datetime) -> None:
    """Stop one candidate's clock: no answer is stored until the proctor resumes it."""
    reason = _reason(reason)
    won = db.session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.submitted_at.is_(None),
                              Attempt.paused_at.is_(None), Attempt.started_at <= now,
                              Attempt.deadline > now)
        .values(paused_at=now, pause_scope="candidate", pause_reason=reason)
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.refresh(attempt)
    if not won:
        raise RoomError("解答中の受検者だけを一時中断できます。")
    _log(attempt.session_id, "pause", reason, by, attempt=attempt, now=now)
    _changed(attempt.session_id)


def resume(attempt: Attempt, reason: str, by: User, now: datetime) -> int:
    """Restart one candidate's clock, the time it stood still given back; returns those
    seconds. A pause of the whole room is ended for the whole room."""
    reason = _reason(reason)
    if attempt.finished or attempt.pause_scope != "candidate":
        raise RoomError("個別に一時中断した受検者だけを再開できます。")
    seconds = _resume_one(attempt, now)
    if seconds is None:
        raise RoomError("この受検者の状態が変わりました。画面を更新してください。")
    _log(attempt.session_id, "resume", reason, by, attempt=attempt, seconds=seconds, now=now)
    _changed(attempt.session_id)
    return seconds


def _resume_one(attempt: Attempt, now: datetime) -> int | None:
    paused_at = attempt.paused_at
    deadline = resumed_deadline(attempt.deadline, paused_at, now)
    won = db.session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.paused_at == paused_at,
                              Attempt.submitted_at.is_(None))
        .values(deadline=deadline, paused_at=None, pause_scope=None, pause_reason=None)
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.refresh(attempt)
    return int((now - paused_at).total_seconds()) if won else None


def pause_room(session: ExamSession, reason: str, by: User, now: datetime) -> int:
    """Stop the clock of everyone answering (a fire alarm); returns how many. Nobody starts
    while the room is paused."""
    reason = _reason(reason)
    detail = room_detail(session)
    if detail.room_paused_at is not None:
        raise RoomError("会場全体は既に一時中断中です。")
    detail.room_paused_at, detail.room_pause_reason = now, reason
    paused = db.session.execute(
        update(Attempt).where(Attempt.session_id == session.id, Attempt.submitted_at.is_(None),
                              Attempt.paused_at.is_(None), Attempt.started_at <= now,
                              Attempt.deadline > now)
        .values(paused_at=now, pause_scope="room", pause_reason=reason)
        .execution_options(synchronize_session=False)).rowcount
    _log(session.id, "pause", f"{reason}（会場全体・{paused}名）", by, now=now)
    _changed(session.id)
    return paused


def resume_room(session: ExamSession, reason: str, by: User, now: datetime) -> int:
    """End the room's pause: each clock it stopped restarts with the time given back."""
    reason = _reason(reason)
    detail = room_detail(session)
    if detail.room_paused_at is None:
        raise RoomError("会場全体の一時中断はしていません。")
    held = list(db.session.scalars(select(Attempt).where(
        Attempt.session_id == session.id, Attempt.pause_scope == "room",
        Attempt.submitted_at.is_(None))))
    resumed = sum(_resume_one(a, now) is not None for a in held)
    seconds = int((now - detail.room_paused_at).total_seconds())
    detail.room_paused_at, detail.room_pause_reason = None, None
    _log(session.id, "resume", f"{reason}（会場全体・{resumed}名）", by, seconds=seconds, now=now)
    _changed(session.id)
    return resumed


# ---- time --------------------------------------------------------------------------------

def add_time(attempt: Attempt, minutes: int, reason: str, by: User, now: datetime) -> None:
    """Give one candidate more time (the deadline moves on, paused or not)."""
    reason, minutes = _reason(reason), _minutes(minutes)
    _not_in_lobby(attempt)
    if not _extend(attempt, minutes * 60):
        raise RoomError("提出済みの受検には時間を追加できません。")
    _log(attempt.session_id, "add_time", reason, by, attempt=attempt, seconds=minutes * 60, now=now)
    _changed(attempt.session_id)


def _extend(attempt: Attempt, seconds: int) -> bool:
    deadline = attempt.deadline
    won = db.session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.deadline == deadline,
                              Attempt.submitted_at.is_(None))
        .values(deadline=deadline + timedelta(seconds=seconds))
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.refresh(attempt)
    return won


def add_time_room(session: ExamSession, minutes: int, reason: str, by: User, now: datetime) -> int:
    """Give everyone who has started and not finished more time; returns how many."""
    reason, minutes = _reason(reason), _minutes(minutes)
    sitting = list(db.session.scalars(select(Attempt).where(
        Attempt.session_id == session.id, Attempt.submitted_at.is_(None),
        (Attempt.pause_scope.is_(None)) | (Attempt.pause_scope != "lobby"))))
    given = sum(_extend(a, minutes * 60) for a in sitting)
    _log(session.id, "add_time", f"{reason}（会場全体・{given}名）", by, seconds=minutes * 60,
         now=now)
    _changed(session.id)
    return given


# ---- a move, a termination, a note ---------------------------------------------------------

def move(attempt: Attempt, lost_minutes: int, reason: str, by: User, now: datetime) -> None:
    """The candidate's PC failed: their clock stops while they move (the proctor resumes it
    once they sit at the new PC and sign in), the minutes lost before the proctor was
    called are given back, and the failed PC's sign-in ends (should it come back)."""
    reason = _reason(reason)
    if attempt.finished:
        raise RoomError("提出済みの受検者は移動できません。")
    _not_in_lobby(attempt)
    if lost_minutes:
        _extend(attempt, _minutes(lost_minutes) * 60)
    if attempt.paused_at is None and attempt.started_at <= now:
        db.session.execute(
            update(Attempt).where(Attempt.id == attempt.id, Attempt.paused_at.is_(None),
                                  Attempt.submitted_at.is_(None))
            .values(paused_at=now, pause_scope="candidate", pause_reason="端末の移動")
            .execution_options(synchronize_session=False))
        db.session.refresh(attempt)
    user = db.session.get(User, attempt.user_id)
    user.end_sessions()
    _log(attempt.session_id, "move", reason, by, attempt=attempt,
         seconds=lost_minutes * 60 if lost_minutes else None, now=now)
    _changed(attempt.session_id)


def terminate(attempt: Attempt, note: str, by: User, now: datetime) -> None:
    """End the attempt for misconduct (不正行為): submitted as it stands, scored, and shown
    to the committee as terminated, with the proctor's note."""
    note = _reason(note)
    if not submit_attempt(attempt, "terminated", now):
        raise RoomError("この受検は既に提出されています。")
    _log(attempt.session_id, "terminate", note, by, attempt=attempt, now=now)
    _changed(attempt.session_id)


def note(session: ExamSession, user_id: int, text: str, by: User, now: datetime) -> None:
    """An irregularity note against a candidate (shown on their review sheet)."""
    text = _reason(text)
    if registration_of(session.id, user_id) is None:
        raise RoomError("この検定の受検者ではありません。")
    _log(session.id, "note", text, by, attempt=_attempt_of(session, user_id), user_id=user_id,
         now=now)


# ---- access ------------------------------------------------------------------------------

def new_access_code(session: ExamSession, by: User, now: datetime, length: int = 6) -> str:
    """A fresh code to read out in the room (digits: unambiguous when spoken). Candidates
    who already entered keep their place; the old code lets nobody else in."""
    code = access.new_code(length)
    room_detail(session).access_code = code
    _log(session.id, "access_code", "入室コードの変更", by, now=now)
    return code


# ---- the room as the proctor sees it --------------------------------------------------------

@dataclass
class Seat:
    """One registered candidate in the room view. Never an answer or a key."""
    user_id: int
    attempt_id: int | None
    state: str                 # absent, lobby, answering, paused, submitted, deadline, terminated
    position: int | None       # the question on screen
    answered: int              # questions with an answer
    count: int                 # questions on the form
    remaining_ms: int | None
    since_save_s: int | None   # seconds since the last save
    extra_seconds: int         # the accommodation (not why)
    pause_reason: str | None
    pause_scope: str | None    # candidate or room: which resume ends the pause


STATE_NAMES = {"absent": "未入室", "lobby": "待機中", "answering": "解答中", "paused": "一時中断",
               "submitted": "提出済み", "deadline": "時間切れ提出", "terminated": "受検中止"}
# The room's log in words, for the review sheet (RoomEvent.action).
ACTION_NAMES = {"signal": "開始の合図", "pause": "一時中断", "resume": "再開", "add_time": "時間の追加",
                "move": "端末の移動", "terminate": "受検中止", "note": "記録",
                "access_code": "入室コードの変更"}


def seats(session: ExamSession, now: datetime) -> list[Seat]:
    """Every registered candidate's state, in two queries (attempts; the latest step of
    each position) whatever the room's size."""
    regs = list(db.session.scalars(select(Registration).where(
        Registration.session_id == session.id).order_by(Registration.id)))
    attempts = {a.user_id: a for a in db.session.scalars(select(Attempt).where(
        Attempt.session_id == session.id))}
    newest = (select(AnswerStep.attempt_id, AnswerStep.position, func.max(AnswerStep.seq).label("seq"))
              .join(Attempt, Attempt.id == AnswerStep.attempt_id)
              .where(Attempt.session_id == session.id)
              .group_by(AnswerStep.attempt_id, AnswerStep.position).subquery())
    answered: dict[int, int] = {}
    last_save: dict[int, datetime] = {}
    for attempt_id, response_json, created_at in db.session.execute(
            select(AnswerStep.attempt_id, AnswerStep.response_json, AnswerStep.created_at)
            .join(newest, (AnswerStep.attempt_id == newest.c.attempt_id)
                  & (AnswerStep.position == newest.c.position) & (AnswerStep.seq == newest.c.seq))):
        if response_json is not None:
            answered[attempt_id] = answered.get(attempt_id, 0) + 1
        if attempt_id not in last_save or created_at > last_save[attempt_id]:
            last_save[attempt_id] = created_at
    out = []
    for reg in regs:
        a = attempts.get(reg.user_id)
        extra = extra_seconds(session.duration_minutes, reg.extra_minutes, reg.extra_percent)
        if a is None:
            out.append(Seat(reg.user_id, None, "absent", None, 0, session.question_count, None,
                            None, extra, None, None))
            continue
        if a.finished:
            state = {"deadline": "deadline", "terminated": "terminated"}.get(a.submitted_by, "submitted")
        else:
            state = {"running": "answering"}.get(a.phase, a.phase)
        saved = last_save.get(a.id)
        out.append(Seat(reg.user_id, a.id, state, a.last_position, answered.get(a.id, 0),
                        len(a.form), None if a.finished else remaining_ms(a.deadline, now, a.paused_at),
                        int((now - saved).total_seconds()) if saved else None, extra,
                        a.pause_reason, None if a.finished else a.pause_scope))
    return out


# ---- the room's log as the committee reads it ----------------------------------------------

def sheet_events(attempt: Attempt) -> list[RoomEvent]:
    """The room's log on a candidate's review sheet: their own events (notes included), and
    the room's while their attempt ran, from the signal that started it to the submission
    (a fire alarm's pause, time given to everyone)."""
    since = attempt.started_at - timedelta(seconds=SIGNAL_LEAD_SECONDS)     # the longest lead
    room_wide = and_(RoomEvent.user_id.is_(None), RoomEvent.action != "access_code",
                     RoomEvent.at >= since)
    if attempt.submitted_at is not None:
        room_wide = and_(room_wide, RoomEvent.at <= attempt.submitted_at)
    return list(db.session.scalars(select(RoomEvent).where(
        RoomEvent.session_id == attempt.session_id,
        or_(RoomEvent.user_id == attempt.user_id, room_wide)).order_by(RoomEvent.at, RoomEvent.id)))


@dataclass
class RoomFlags:
    """What the session's review list shows of a candidate's room record."""
    terminated: RoomEvent | None = None      # the proctor's note when ending the attempt
    notes: int = 0                           # irregularity notes


def room_flags(session_id: int) -> dict[int, RoomFlags]:
    """By candidate (user id), for those with a termination or a note."""
    out: dict[int, RoomFlags] = {}
    for e in db.session.scalars(select(RoomEvent).where(
            RoomEvent.session_id == session_id, RoomEvent.user_id.is_not(None),
            RoomEvent.action.in_(("terminate", "note"))).order_by(RoomEvent.id)):
        flags = out.setdefault(e.user_id, RoomFlags())
        if e.action == "terminate":
            flags.terminated = e
        else:
            flags.notes += 1
    return out
