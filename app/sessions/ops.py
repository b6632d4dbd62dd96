"""Exam sessions (第3-5): creating and changing them, and the committee's dashboard.

Request handlers (routes.py) check access, call these and commit; these only flush. Every
change is in the audit log."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import func, select

from scoring.eligibility import LEVEL_NAMES
from scoring.jpdate import JST, fiscal_year, fiscal_year_label, to_jst

from ..banks.versions import current_version, snapshot
from ..core import audit
from ..extensions import db
from ..models import Attempt, BankVersion, ExamSession, Registration, SessionDetail, User, utcnow


class OperationRefused(Exception):
    """A change the rules refuse; the message is Japanese, for the page."""


def jst_to_utc(local: datetime) -> datetime:
    """A wall-clock time typed in Japan time -> the naive UTC every table stores."""
    return local.replace(tzinfo=JST).astimezone(timezone.utc).replace(tzinfo=None)


def utc_to_jst(moment: datetime) -> datetime:
    """Stored naive UTC -> naive Japan time, as a datetime-local input shows it."""
    return to_jst(moment).replace(tzinfo=None)


def current_fiscal_year(now: datetime | None = None) -> int:
    return fiscal_year(to_jst(now or utcnow()).date())


@dataclass
class SessionValues:
    """What the committee sets on a session; times are naive UTC."""
    title: str
    level: str
    fiscal_year: int
    opens_at: datetime
    closes_at: datetime
    duration_minutes: int | None        # None: the blueprint's minutes for the level
    format: str
    written_max: int | None
    bank_version_id: int
    show_review: bool = False           # per-question review for candidates once certified


def has_attempts(session: ExamSession) -> bool:
    return db.session.scalar(select(Attempt.id).where(Attempt.session_id == session.id).limit(1)) is not None


def has_registrations(session: ExamSession) -> bool:
    return db.session.scalar(select(Registration.id).where(
        Registration.session_id == session.id).limit(1)) is not None


def locked_fields(session: ExamSession | None) -> set[str]:
    """Fields that may no longer change. Once anyone has started, only the window end and
    the title may (their forms were drawn from this level, version and duration); once
    anyone is registered, the level is fixed, since eligibility was checked for it."""
    if session is None:
        return set()
    if has_attempts(session):
        return {"level", "fiscal_year", "opens_at", "duration_minutes", "format", "written_max",
                "bank_version_id"}
    if has_registrations(session):
        return {"level"}
    return set()


def check_session(values: SessionValues, session: ExamSession | None = None) -> dict[str, str]:
    """Rules across fields, as {field: Japanese message}; empty when the values are good."""
    errors: dict[str, str] = {}
    version = db.session.get(BankVersion, values.bank_version_id)
    if version is None:
        return {"bank_version_id": "問題バージョンを選んでください。"}
    blueprint, questions = snapshot(version)
    level = blueprint.levels.get(values.level)
    if level is None:
        errors["level"] = (f"問題バージョン {version.short} の出題範囲にこの級位はありません"
                           f"（{', '.join(lv.name for lv in blueprint.levels.values())}）。")
    if values.closes_at <= values.opens_at:
        errors["closes_at"] = "受検期間の終了は開始より後にしてください。"
    if "opens_at" not in (locked_fields(session)) and \
            fiscal_year(to_jst(values.opens_at).date()) != values.fiscal_year:
        y = values.fiscal_year
        errors["opens_at"] = (f"受検期間の開始日が、選んだ年度（{fiscal_year_label(y)}: "
                              f"{y}年4月1日〜{y + 1}年3月31日）に含まれません。")
    if values.format in ("written", "both") and not values.written_max:
        errors["written_max"] = "筆記試験を行う場合は、筆記試験の満点を入力してください。"
    if level is not None and values.format in ("cbt", "both") and \
            not (session is not None and has_attempts(session)):
        short = shortages(blueprint, questions, values.level)
        if short:
            errors["bank_version_id"] = (f"この問題バージョンでは{level.name}の問題用紙を作成できません。"
                                         "承認済みの本番用問題が不足しています: " + "、".join(short))
    return errors


def shortages(blueprint, questions, level_key: str) -> list[str]:
    """Topics whose approved exam-pool questions do not fill the quota (what the Assembler
    would refuse at the first start), in Japanese."""
    level = blueprint.levels[level_key]
    short = []
    for topic in level.topics:
        have = sum(1 for q in questions.values() if q.topic == topic and q.drawable_for(level_key))
        if have < level.quotas[topic]:
            short.append(f"{blueprint.topics[topic].name}（{level.quotas[topic]}問必要、{have}問）")
    return short


def _apply(session: ExamSession, detail: SessionDetail, values: SessionValues) -> None:
    version = db.session.get(BankVersion, values.bank_version_id)
    level = snapshot(version)[0].levels[values.level]
    session.title = values.title.strip()
    session.level = values.level
    session.fiscal_year = values.fiscal_year
    session.opens_at = values.opens_at
    session.closes_at = values.closes_at
    session.duration_minutes = values.duration_minutes or level.minutes
    session.question_count = level.questions        # the blueprint decides, never a person
    session.bank_version_id = version.id
    detail.format = values.format
    detail.written_max = values.written_max if values.format in ("written", "both") else None
    detail.show_review = bool(values.show_review)


def _snapshot_of(session: ExamSession, detail: SessionDetail) -> dict:
    return {"title": session.title, "level": session.level, "fiscal_year": session.fiscal_year,
            "opens_at": session.opens_at.isoformat(), "closes_at": session.closes_at.isoformat(),
            "duration_minutes": session.duration_minutes, "question_count": session.question_count,
            "bank_version_id": session.bank_version_id, "format": detail.format,
            "written_max": detail.written_max, "show_review": bool(detail.show_review)}


def create_session(values: SessionValues, actor: User) -> ExamSession:
    errors = check_session(values)
    if errors:
        raise OperationRefused(" ".join(errors.values()))
    session = ExamSession()
    detail = SessionDetail()
    _apply(session, detail, values)
    db.session.add(session)
    db.session.flush()
    detail.session_id = session.id
    db.session.add(detail)
    db.session.flush()
    audit.record("session_created", actor.id, session_id=session.id, **_snapshot_of(session, detail))
    return session


def detail_of(session: ExamSession) -> SessionDetail:
    """The session's format; sessions made before SessionDetail existed are computer-based."""
    return db.session.get(SessionDetail, session.id) or SessionDetail(session_id=session.id, format="cbt")


def update_session(session: ExamSession, values: SessionValues, actor: User) -> list[str]:
    """Apply an edit; refuses a change to a locked field. Returns the changed field names."""
    detail = detail_of(session)
    before = _snapshot_of(session, detail)
    current = values_of(session, detail)
    for name in locked_fields(session):
        if getattr(values, name) != getattr(current, name):
            raise OperationRefused("受検が始まっている（または受検者が登録されている）ため、"
                                   f"この項目は変更できません: {FIELD_NAMES.get(name, name)}")
    errors = check_session(values, session)
    if errors:
        raise OperationRefused(" ".join(errors.values()))
    _apply(session, detail, values)
    if detail not in db.session:
        db.session.add(detail)
    db.session.flush()
    after = _snapshot_of(session, detail)
    changed = [k for k in after if after[k] != before[k]]
    if changed:
        audit.record("session_updated", actor.id, session_id=session.id,
                     changes={k: [before[k], after[k]] for k in changed})
    return changed


FIELD_NAMES = {"title": "名称", "level": "級位", "fiscal_year": "年度", "opens_at": "受検期間（開始）",
               "closes_at": "受検期間（終了）", "duration_minutes": "試験時間", "format": "方式",
               "written_max": "筆記試験の満点", "bank_version_id": "問題バージョン",
               "show_review": "問題ごとの正誤の表示"}


def values_of(session: ExamSession, detail: SessionDetail | None = None) -> SessionValues:
    detail = detail or detail_of(session)
    return SessionValues(title=session.title, level=session.level, fiscal_year=session.fiscal_year,
                         opens_at=session.opens_at, closes_at=session.closes_at,
                         duration_minutes=session.duration_minutes, format=detail.format,
                         written_max=detail.written_max, bank_version_id=session.bank_version_id,
                         show_review=bool(detail.show_review))


@dataclass
class SessionRow:
    session: ExamSession
    format: str
    registered: int
    started: int
    submitted: int


@dataclass
class Dashboard:
    year: int
    current: dict[str, list[SessionRow]]            # level -> sessions of the current year
    other_years: list[tuple[int, list[SessionRow]]]   # newest first, current year excluded
    missing: list[str]                              # delivered levels without a session this year
    level_names: dict[str, str] = field(default_factory=dict)


def _count_by_session(query) -> dict[int, int]:
    return {sid: n for sid, n in db.session.execute(query).all()}


def dashboard(now: datetime) -> Dashboard:
    year = current_fiscal_year(now)
    sessions = list(db.session.scalars(select(ExamSession).order_by(
        ExamSession.fiscal_year.desc(), ExamSession.opens_at, ExamSession.id)))
    registered = _count_by_session(select(Registration.session_id, func.count())
                                   .group_by(Registration.session_id))
    started = _count_by_session(select(Attempt.session_id, func.count()).group_by(Attempt.session_id))
    submitted = _count_by_session(select(Attempt.session_id, func.count())
                                  .where(Attempt.submitted_at.is_not(None)).group_by(Attempt.session_id))
    formats = {d.session_id: d.format for d in db.session.scalars(select(SessionDetail))}
    version = current_version()
    names = dict(LEVEL_NAMES)
    delivered: list[str] = []
    if version is not None:
        blueprint = snapshot(version)[0]
        names.update({k: lv.name for k, lv in blueprint.levels.items()})
        delivered = [k for k, lv in blueprint.levels.items() if lv.delivered]
    order = list(names)
    current: dict[str, list[SessionRow]] = {k: [] for k in delivered}
    others: dict[int, list[SessionRow]] = {}
    for s in sessions:
        row = SessionRow(s, formats.get(s.id, "cbt"), registered.get(s.id, 0), started.get(s.id, 0),
                         submitted.get(s.id, 0))
        if s.fiscal_year == year:
            current.setdefault(s.level, []).append(row)
        else:
            others.setdefault(s.fiscal_year, []).append(row)
    # 第3-5-(1): each level the prefecture runs at least once per fiscal year.
    missing = [k for k in delivered if not current.get(k)]
    current = dict(sorted(current.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99))
    return Dashboard(year, current, sorted(others.items(), reverse=True), missing, names)
