"""受検の奨励 (第3-11): an affiliation head invites their own staff to an upcoming session.

An invitation asks; it does not register. Registering stays with the vice-chair and chair
(app/sessions), who check eligibility at that moment and set accommodations; the
session's page lists who was invited, to register them there. The staff member reads
the invitation on their home page (with what the level requires, 別表第1) and, when SMTP is
configured, by e-mail. The head sees, per session, who was invited and who registered.

Only the head's own staff, and only for a session still open and a level they may sit
and do not hold. As with notices, the row comes first and the e-mail after the commit
(send_emails); operations flush, the handler commits."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from scoring.eligibility import LEVEL_NAMES
from scoring.jpdate import fiscal_year_label, format_date_jp, to_jst

from ..banks.versions import snapshot
from ..core import audit, mailer
from ..extensions import db
from ..models import Affiliation, BankVersion, ExamSession, Invitation, PassRecord, Registration, Staff, User, utcnow
from ..sessions.eligibility import held_from, refusals_for
from ..sessions.ops import OperationRefused

NO_ADDRESS = "職員のメールアドレスが登録されていません"


class NotOwnStaff(Exception):
    """Someone who is not the head's staff was named: refused and logged by the handler."""

    def __init__(self, staff_ids: list[int]):
        super().__init__(staff_ids)
        self.staff_ids = staff_ids


def requirements(session: ExamSession) -> tuple[str, ...]:
    """別表第1 for the session's level, as the session's bank version words it."""
    level = snapshot(session.bank_version)[0].levels.get(session.level)
    return level.description if level else ()


def current_levels() -> dict:
    """The levels of the newest bank version (what candidates prepare for), with 別表第1.
    Read through the per-process version cache: every candidate's home asks, and the
    version's row carries the whole bank."""
    from ..exam.attempts import version_content      # the exam package imports this module
    version_id = db.session.scalar(select(BankVersion.id).order_by(BankVersion.id.desc()).limit(1))
    if version_id is None:
        return {}
    return version_content(version_id, lambda: db.session.get(BankVersion, version_id))[1].levels


def upcoming_sessions(now: datetime) -> list[ExamSession]:
    return list(db.session.scalars(select(ExamSession).where(ExamSession.closes_at > now)
                                   .order_by(ExamSession.opens_at, ExamSession.id)))


def _held(staff: list[Staff]) -> dict[int, set[str]]:
    pairs: dict[int, list[tuple[str, str]]] = {s.id: [] for s in staff}
    ids = list(pairs)
    for chunk in range(0, len(ids), 500):         # stay under the databases' parameter limits
        for sid, level, source in db.session.execute(select(PassRecord.staff_id, PassRecord.level, PassRecord.source)
                                                      .where(PassRecord.staff_id.in_(ids[chunk:chunk + 500]))):
            pairs[sid].append((level, source))
    return {sid: held_from(p) for sid, p in pairs.items()}


def reasons_not_to_invite(session: ExamSession, staff: list[Staff]) -> dict[int, list[str]]:
    """Per person, why the head may not invite them to this session (empty: they may):
    the level already held (a special pass deems the lower ones, 第3-7), or the rules of
    who may sit (第3-2, 第3-4)."""
    held = _held(staff)
    rules = refusals_for(session.level, staff)
    out = {}
    for s in staff:
        if session.level in held[s.id]:
            out[s.id] = [f"{LEVEL_NAMES.get(session.level, session.level)}に合格済みです。"]
        else:
            out[s.id] = rules[s.id]
    return out


@dataclass
class SessionRow:
    """One person of the head's staff beside one upcoming session."""
    staff: Staff
    reasons: list[str]                   # why they may not be invited (empty: they may)
    invitation: Invitation | None
    registered: bool


@dataclass
class Upcoming:
    session: ExamSession
    requirements: tuple[str, ...]
    rows: list[SessionRow] = field(default_factory=list)

    @property
    def invitable(self) -> list[SessionRow]:
        return [r for r in self.rows if not r.reasons and r.invitation is None and not r.registered]

    @property
    def shown(self) -> list[SessionRow]:
        """Who the head reads about: everyone who may sit, was invited or is registered."""
        return [r for r in self.rows if not r.reasons or r.invitation or r.registered]


def upcoming_for(staff: list[Staff], now: datetime) -> list[Upcoming]:
    """Every session still open, with the head's staff: who may sit it, who was invited,
    who is registered."""
    out = []
    for session in upcoming_sessions(now):
        reasons = reasons_not_to_invite(session, staff)
        # Per session, not per person: a session holds far fewer rows than an IN list may name.
        invited = {i.staff_id: i for i in db.session.scalars(select(Invitation).where(
            Invitation.session_id == session.id))}
        registered = set(db.session.scalars(select(Registration.user_id).where(
            Registration.session_id == session.id)))
        out.append(Upcoming(session, requirements(session),
                            [SessionRow(s, reasons[s.id], invited.get(s.id), s.user_id in registered)
                             for s in staff]))
    return out


@dataclass
class InviteOutcome:
    invited: list[Invitation] = field(default_factory=list)
    already: list[Staff] = field(default_factory=list)
    refused: list[tuple[Staff, list[str]]] = field(default_factory=list)


def invite(session: ExamSession, staff_ids: list[int], head: User, affiliation_ids: list[int],
           message: str | None, now: datetime) -> InviteOutcome:
    """Invite each named person of the head's affiliations who may sit the session; the
    others are listed with the reasons. Anyone else named refuses the whole request."""
    wanted = sorted(set(staff_ids))
    people = list(db.session.scalars(select(Staff).where(Staff.id.in_(wanted)).order_by(Staff.staff_number))) \
        if wanted else []
    own = {p.id for p in people if p.affiliation_id in affiliation_ids}
    strangers = [i for i in wanted if i not in own]
    if strangers:
        raise NotOwnStaff(strangers)
    if session.closes_at <= now:
        raise OperationRefused("受検期間が終了した実施回には奨励できません。")
    if not people:
        raise OperationRefused("奨励する職員を選んでください。")
    message = (message or "").strip() or None
    outcome = InviteOutcome()
    reasons = reasons_not_to_invite(session, people)
    done = set(db.session.scalars(select(Invitation.staff_id).where(
        Invitation.session_id == session.id, Invitation.staff_id.in_(wanted))))
    for person in people:
        if person.id in done:
            outcome.already.append(person)
        elif reasons[person.id]:
            outcome.refused.append((person, reasons[person.id]))
        else:
            inv = Invitation(session_id=session.id, staff_id=person.id, affiliation_id=person.affiliation_id,
                             invited_by=head.id, message=message, invited_at=now)
            db.session.add(inv)
            outcome.invited.append(inv)
    db.session.flush()
    for inv in outcome.invited:
        audit.record("invitation_sent", head.id, invitation_id=inv.id, session_id=session.id,
                     staff_id=inv.staff_id, affiliation_id=inv.affiliation_id)
    return outcome


def compose(inv: Invitation) -> mailer.Mail | None:
    address = (inv.staff.email or "").strip()
    if not address:
        return None
    s = inv.session
    affiliation = db.session.get(Affiliation, inv.affiliation_id) if inv.affiliation_id else None
    level = LEVEL_NAMES.get(s.level, s.level)
    lines = [
        f"{inv.staff.name_kanji} 様",
        "",
        f"{affiliation.name + '長' if affiliation else '所属の長'}から、サイバー対処能力検定の受検の奨励です（第3-11）。",
        "",
        *([inv.message, ""] if inv.message else []),
        f"実施回　: {s.title}",
        f"級位　　: {level}（{fiscal_year_label(s.fiscal_year)}）",
        f"受検期間: {format_date_jp(to_jst(s.opens_at).date())} {to_jst(s.opens_at):%H:%M} 〜 "
        f"{format_date_jp(to_jst(s.closes_at).date())} {to_jst(s.closes_at):%H:%M}",
        "",
        f"{level}に必要な知識及び技能（別表第1）:",
        *(f"　{n}. {text}" for n, text in enumerate(requirements(s), 1)),
        "",
        "受検の登録は検定委員会（副委員長）が行います。受検を希望する場合は、所属を通じてお申し出ください。",
        "事前学習には、システムの練習モード（本番とは別の問題）をご利用ください。",
        "",
        "（このメールはサイバー対処能力検定システムから送信しています。奨励はシステムの「受検できる検定」画面でも確認できます。）",
    ]
    return mailer.Mail(address, f"【受検の奨励】サイバー対処能力検定 {level} {s.title}", "\n".join(lines))


def send_emails(invitation_ids: list[int], by_user_id: int) -> None:
    """After the commit that stored the invitations: e-mail each one when SMTP is
    configured, then record the outcome on the invitation and in the audit log (the
    caller commits)."""
    if not invitation_ids or not mailer.configured(current_app.config):
        return
    invitations = list(db.session.scalars(select(Invitation).where(Invitation.id.in_(invitation_ids))
                                          .order_by(Invitation.id)))
    composed = [(inv, compose(inv)) for inv in invitations]
    results = iter(mailer.send_all(current_app.config, [m for _i, m in composed if m]))
    for inv, mail in composed:
        error = next(results) if mail else NO_ADDRESS
        if error is None:
            inv.emailed_at, inv.email_error = utcnow(), None
            audit.record("invitation_emailed", by_user_id, invitation_id=inv.id, to=mail.to)
        else:
            inv.email_error = error
            audit.record("invitation_email_failed", by_user_id, invitation_id=inv.id, error=error)
    db.session.flush()


def invitations_of(user: User, now: datetime) -> list[Invitation]:
    """The invitations of the staff record linked to this account, for sessions still open;
    the first showing is recorded (the head reads it as 確認済み)."""
    staff_id = db.session.scalar(select(Staff.id).where(Staff.user_id == user.id))
    if staff_id is None:
        return []
    rows = list(db.session.scalars(select(Invitation).join(ExamSession, Invitation.session_id == ExamSession.id)
                                   .where(Invitation.staff_id == staff_id, ExamSession.closes_at > now)
                                   .order_by(ExamSession.opens_at, Invitation.id)))
    for inv in rows:
        if inv.seen_at is None:
            inv.seen_at = now
    db.session.flush()
    return rows


def invited_to(session: ExamSession) -> list[tuple[Invitation, bool]]:
    """For the committee's session page: everyone invited, and whether they are registered
    yet (the vice-chair registers them, app/sessions)."""
    registered = set(db.session.scalars(select(Registration.user_id).where(Registration.session_id == session.id)))
    rows = db.session.scalars(select(Invitation).join(Staff, Invitation.staff_id == Staff.id)
                              .where(Invitation.session_id == session.id)
                              .order_by(Staff.affiliation_id, Staff.staff_number))
    return [(inv, inv.staff.user_id is not None and inv.staff.user_id in registered) for inv in rows]
