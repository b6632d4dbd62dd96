"""People, passes and what follows a pass: the committee's records (issue "Committee and
register"). Kept apart from the exam models in models.py; both share one metadata.

Personal data (names, dates of birth, staff numbers) lives only here, in `Staff`."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .models import User, utcnow

from scoring.eligibility import EXCLUDED_CATEGORIES, LEVEL_NAMES, PREREQUISITE  # noqa: E402,F401
# Categories the system knows; imports may use others (a warning), excluded ones are refused
# at registration, not at import.
EMPLOYMENT_CATEGORIES = ("警察官", "一般職員") + EXCLUDED_CATEGORIES + ("職員以外",)

LEVELS = ("beginner", "intermediate", "advanced")

# Where a pass comes from (the register shows it, 別表第3 and 第3-7, 第4).
PASS_SOURCES = {
    "exam": "本県の検定",
    "npa": "警察庁の検定",
    "imperial_guard": "皇宮警察本部の検定",
    "other_prefecture": "他都道府県警察の検定",
    "designation": "生活安全部長の指定",
    "former_exam": "旧検定（令和元年生戦発甲第126号）",
    "deemed": "上位級の特例合格による",
}
SESSION_FORMATS = {"cbt": "電子計算機による試験", "written": "筆記試験", "both": "筆記試験及び電子計算機による試験"}


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


class Admission(db.Model):
    """The chair's admission of a non-staff candidate, with the reason (第3-2 ただし書)."""
    __tablename__ = "admissions"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    admitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    admitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[Optional[datetime]]
    staff: Mapped[Staff] = relationship()


class SessionDetail(db.Model):
    """What the committee sets on a session beyond the exam core: the format (第3-5-(3))
    and the written part's maximum score."""
    __tablename__ = "session_details"
    __table_args__ = (CheckConstraint("format IN ('cbt', 'written', 'both')", name="format"),
                      CheckConstraint("written_max IS NULL OR written_max > 0", name="written_max"))
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id", ondelete="CASCADE"),
                                            primary_key=True)
    format: Mapped[str] = mapped_column(String(16), default="cbt")
    written_max: Mapped[Optional[int]]
    notes: Mapped[Optional[str]] = mapped_column(Text)


class WrittenScore(db.Model):
    """The written part of a session (筆記試験): entered or imported."""
    __tablename__ = "written_scores"
    __table_args__ = (UniqueConstraint("session_id", "staff_id"),
                      CheckConstraint("score >= 0 AND score <= max_score AND max_score > 0", name="range"))
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    score: Mapped[int]
    max_score: Mapped[int]
    entered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)


class Correction(db.Model):
    """A committee correction for one session: a voided question or a corrected key.
    Append-only: the record of who changed what and why stays."""
    __tablename__ = "corrections"
    __table_args__ = (CheckConstraint("action IN ('void', 'rekey')", name="action"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    answer_json: Mapped[Optional[str]] = mapped_column(Text)    # the corrected key (rekey)
    reason: Mapped[str] = mapped_column(Text)
    made_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    made_at: Mapped[datetime] = mapped_column(default=utcnow)
    sheets_regraded: Mapped[int] = mapped_column(default=0)


class Certification(db.Model):
    """The vice-chair's or chair's certification of one result (第2-2): only then is a pass a
    pass and the result shown to the candidate. It names the CBT sheet, or, for someone
    with no sheet (a written-only session; a session with both parts sat on paper only),
    the written score: exactly one of the two."""
    __tablename__ = "certifications"
    __table_args__ = (CheckConstraint("(attempt_id IS NULL) <> (written_score_id IS NULL)",
                                      name="origin"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[Optional[int]] = mapped_column(ForeignKey("attempts.id"), unique=True)
    written_score_id: Mapped[Optional[int]] = mapped_column(ForeignKey("written_scores.id"), unique=True)
    passed: Mapped[bool]
    certified_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    certified_at: Mapped[datetime] = mapped_column(default=utcnow)


class PassRecord(db.Model):
    """合格者 (別表第3): one person's pass of one level, from whatever source."""
    __tablename__ = "pass_records"
    __table_args__ = (UniqueConstraint("staff_id", "level"),
                      CheckConstraint("level IN ('beginner', 'intermediate', 'advanced')", name="level"),
                      CheckConstraint("source IN (%s)" % ", ".join(f"'{s}'" for s in PASS_SOURCES),
                                      name="source"),
                      Index("ix_pass_records_level_year", "level", "fiscal_year"))
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    level: Mapped[str] = mapped_column(String(16))
    fiscal_year: Mapped[int]                                      # 合格年度
    source: Mapped[str] = mapped_column(String(32))
    source_detail: Mapped[Optional[str]] = mapped_column(String(128))   # e.g. the prefecture
    evidence: Mapped[Optional[str]] = mapped_column(Text)
    affiliation_at_pass_id: Mapped[Optional[int]] = mapped_column(ForeignKey("affiliations.id"))
    post_at_pass: Mapped[Optional[str]] = mapped_column(String(64))
    # A pass by this prefecture's exam (source "exam") names the parts it was earned on.
    attempt_id: Mapped[Optional[int]] = mapped_column(ForeignKey("attempts.id"))
    written_score_id: Mapped[Optional[int]] = mapped_column(ForeignKey("written_scores.id"))
    implied_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("pass_records.id"))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    staff: Mapped[Staff] = relationship()
    affiliation_at_pass: Mapped[Optional[Affiliation]] = relationship()


class Notice(db.Model):
    """合格者の通知 (第3-8) to the passer's affiliation head, in the system and by e-mail."""
    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    pass_record_id: Mapped[int] = mapped_column(ForeignKey("pass_records.id"))
    affiliation_id: Mapped[Optional[int]] = mapped_column(ForeignKey("affiliations.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    emailed_at: Mapped[Optional[datetime]]
    email_error: Mapped[Optional[str]] = mapped_column(Text)
    read_at: Mapped[Optional[datetime]]
    pass_record: Mapped[PassRecord] = relationship()


class TrainingRecord(db.Model):
    """Attendance of the periodic course (定期講習, 第3-10) by an intermediate passer."""
    __tablename__ = "training_records"
    __table_args__ = (UniqueConstraint("staff_id", "attended_on", "course"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    attended_on: Mapped[date] = mapped_column(Date)
    fiscal_year: Mapped[int]
    course: Mapped[str] = mapped_column(String(128), default="定期講習")
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    staff: Mapped[Staff] = relationship()
