"""People: sign-in accounts and their roles, the staff records (personal data lives only
in `Staff`), affiliations and their heads, and failed sign-ins."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from scoring.eligibility import EXCLUDED_CATEGORIES

from ..extensions import db
from .base import utcnow

ROLES = ("candidate", "author", "committee", "vice_chair", "chair", "head", "secretariat",
         "proctor", "liaison", "volunteer")
ROLE_NAMES = {
    "candidate": "受検者", "author": "問題作成者", "committee": "委員", "vice_chair": "副委員長",
    "chair": "委員長", "head": "所属の長", "secretariat": "庶務", "proctor": "試験監督者",
    "liaison": "ボランティア連絡担当", "volunteer": "サイバー防犯ボランティア",
}
# A volunteer's account comes only from the liaison's invitation (single use, expiring):
# there is no open sign-up, and the account form does not grant the role.
INVITED_ROLES = ("volunteer",)

# Categories the system knows; imports may use others (a warning), excluded ones are refused
# at registration, not at import.
EMPLOYMENT_CATEGORIES = ("警察官", "一般職員") + EXCLUDED_CATEGORIES + ("職員以外",)


def session_id(user_id: int, epoch: int) -> str:
    """The user as a sign-in session names them: the id and the session epoch."""
    return f"{user_id}:{epoch}"


def parse_session_id(value) -> tuple[int, int] | None:
    """(user id, epoch) from a session's user id; None for anything else (both fit a 32-bit
    column). A bare id (a session from before epochs) reads as epoch 0, which the user's
    next sign-out ends."""
    if not isinstance(value, str):
        return None
    uid, colon, epoch = value.partition(":")
    if not (uid.isascii() and uid.isdigit() and len(uid) <= 9):
        return None
    if not colon:
        return int(uid), 0
    if not (epoch.isascii() and epoch.isdigit() and len(epoch) <= 9):
        return None
    return int(uid), int(epoch)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Named in every sign-in session (its cookie holds "id:epoch"); raising it ends every
    # session of the user on every server at once: sign-out, a new password, deactivation.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    roles: Mapped[list["UserRole"]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    def set_password(self, password: str) -> None:
        # Werkzeug's default is scrypt: a memory-hard, modern scheme.
        self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def end_sessions(self) -> None:
        """Sign the user out everywhere (the caller commits)."""
        self.session_epoch = (self.session_epoch or 0) + 1

    def get_id(self) -> str:  # Flask-Login: what the session cookie names
        return session_id(self.id, self.session_epoch or 0)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def role_set(self) -> set[str]:
        return {r.role for r in self.roles}

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_set & set(roles))


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),
                      CheckConstraint("role IN (%s)" % ", ".join(f"'{r}'" for r in ROLES), name="role"))
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))


class Affiliation(db.Model):
    """所属 (a police station or division) and its head (所属の長)."""
    __tablename__ = "affiliations"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    head_user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    active: Mapped[bool] = mapped_column(default=True)
    head: Mapped[Optional[User]] = relationship()


class Staff(db.Model):
    """A person who may sit or hold a pass: a member of staff (職員), or someone else the
    chair admitted (職員以外, 第3-2 ただし書). Personal data: see domain.md for who sees it."""
    __tablename__ = "staff"
    __table_args__ = (CheckConstraint("length(staff_number) > 0", name="staff_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_number: Mapped[str] = mapped_column(String(32), unique=True)
    name_kanji: Mapped[str] = mapped_column(String(64))
    name_kana: Mapped[str] = mapped_column(String(128))
    birth_date: Mapped[date] = mapped_column(Date)
    post: Mapped[str] = mapped_column(String(64))                 # 官職（階級）
    employment_category: Mapped[str] = mapped_column(String(32))
    affiliation_id: Mapped[Optional[int]] = mapped_column(ForeignKey("affiliations.id"))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), unique=True)
    email: Mapped[Optional[str]] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    affiliation: Mapped[Optional[Affiliation]] = relationship()
    user: Mapped[Optional[User]] = relationship(backref=db.backref("staff", uselist=False))

    @property
    def is_staff(self) -> bool:
        return self.employment_category != "職員以外"


class LoginFailure(db.Model):
    """One failed sign-in (ログイン失敗): the sign-in limits are counted from these rows, so
    every app server sees the same counts (app/auth/throttle.py). A successful sign-in
    deletes its user name's rows; rows older than the limits' horizon are pruned."""
    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_username_at", "username", "at"),
                      Index("ix_login_failures_ip_at", "ip", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


# Roles that come only from an appointment (任命・指名, 第2-3, 第2-4(2)), never from the
# account form: the chair and vice-chair by post, committee members and authors by nomination.
APPOINTED_ROLES = ("chair", "vice_chair", "committee", "author")
# One holder at a time: the chair is the サイバー局長, the vice-chair the 情報技術戦略課長.
POSTS = ("chair", "vice_chair")


class Appointment(db.Model):
    """An appointment to the committee or as a question author, and its end (任命の記録).
    While `ended_at` is empty the user holds the role (a UserRole row goes with it); an ended
    appointment stays on record. `appointed_by` is empty for roles held before appointments
    were recorded (taken over by the migration) and for the first post holders recorded on
    the command line."""
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("role IN (%s)" % ", ".join(f"'{r}'" for r in APPOINTED_ROLES), name="role"),
        CheckConstraint("(ended_at IS NULL) = (ended_on IS NULL)", name="ended"),
        # One current appointment per person and role, and one current holder per post.
        Index("uq_appointments_current", "user_id", "role", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
        Index("uq_appointments_post_holder", "role", unique=True,
              sqlite_where=text("ended_at IS NULL AND role IN ('chair', 'vice_chair')"),
              postgresql_where=text("ended_at IS NULL AND role IN ('chair', 'vice_chair')")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    started_on: Mapped[date] = mapped_column(Date)                # from when (Japan date)
    note: Mapped[str] = mapped_column(String(500), default="", server_default="")
    appointed_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    appointed_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_on: Mapped[Optional[date]] = mapped_column(Date)        # until when (Japan date)
    end_reason: Mapped[Optional[str]] = mapped_column(String(500))
    ended_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[Optional[datetime]]
    user: Mapped[User] = relationship(foreign_keys=[user_id])
