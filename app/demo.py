"""Demo content so a newcomer sees a working exam at once: accounts and open sessions."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from scoring.jpdate import fiscal_year, to_jst

from .banks import import_banks, snapshot
from .extensions import db
from .models import ExamSession, Registration, User, UserRole, utcnow

DEMO_PASSWORD = "cbt-demo-2025"
DEMO_USERS = [
    ("candidate1", "愛知 太郎（受検者）", ["candidate"]),
    ("candidate2", "尾張 花子（受検者）", ["candidate"]),
    ("candidate3", "三河 次郎（受検者）", ["candidate"]),
    ("author1", "問題 作成（問題作成者）", ["author"]),
    ("committee1", "検定 委員（委員）", ["committee"]),
    ("vicechair", "情報技術戦略課長（副委員長）", ["vice_chair", "committee"]),
    ("chair", "サイバー局長（委員長）", ["chair", "committee"]),
    ("head1", "中央警察署長（所属の長）", ["head"]),
    ("secretariat1", "庶務 担当（庶務）", ["secretariat"]),
]


def ensure_user(username: str, name: str, roles: list[str], password: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, display_name=name)
        user.set_password(password)
        db.session.add(user)
        for r in roles:
            user.roles.append(UserRole(role=r))
        db.session.flush()
    return user


def seed_demo(folder: str) -> list[str]:
    db.create_all()
    version = import_banks(folder)
    users = {u: ensure_user(u, n, r, DEMO_PASSWORD) for u, n, r in DEMO_USERS}
    blueprint, _ = snapshot(version)
    now = utcnow()
    fy = fiscal_year(to_jst(now).date())
    lines = [f"bank version {version.short}: {version.question_count} questions"]
    for level, candidates in (("beginner", ["candidate1", "candidate2", "candidate3"]),
                              ("intermediate", ["candidate1"])):
        lv = blueprint.levels[level]
        title = f"{fy}年度 サイバー対処能力検定（{lv.name}）デモ"
        session = db.session.scalar(select(ExamSession).where(ExamSession.title == title))
        if session is None or session.closes_at <= now:
            session = ExamSession(title=title, level=level, fiscal_year=fy,
                                  opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=30),
                                  duration_minutes=lv.minutes, question_count=lv.questions,
                                  bank_version_id=version.id)
            db.session.add(session)
            db.session.flush()
        for username in candidates:
            uid = users[username].id
            if not db.session.scalar(select(Registration).where(
                    Registration.session_id == session.id, Registration.user_id == uid)):
                db.session.add(Registration(session_id=session.id, user_id=uid))
        lines.append(f"session '{title}': {lv.questions} questions, {lv.minutes} minutes, "
                     f"open to {', '.join(candidates)}")
    db.session.commit()
    lines.append("")
    lines.append(f"demo accounts (password for all: {DEMO_PASSWORD}):")
    for username, name, roles in DEMO_USERS:
        lines.append(f"  {username:<13} {name}")
    return lines
