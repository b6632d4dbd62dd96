"""Awareness materials a volunteer group makes (広報啓発資料, circular 2(3)): quizzes and
handouts drafted in the browser, reviewed in detail by the group's division in charge for
accuracy and copyright, and used or published only once approved.

A Material is the working copy (its draft questions in MaterialQuestion); each submission
freezes a MaterialRevision holding the whole content as JSON, and the revision the liaison
approved is the one in force (`in_force_id`): what is used is exactly what was approved,
even while a later revision is being drafted. Every state change and review comment is a
MaterialEvent, never changed afterwards."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .people import User
from .volunteers import VolunteerGroup, _in

MATERIAL_KINDS = {"quiz": "クイズ", "handout": "配布資料"}
# The working copy's state: draft (editable, also after 差戻し), submitted (under review),
# approved (frozen, equal to the revision in force), withdrawn (取下げ, usable no more).
MATERIAL_STATES = {"draft": "作成中", "submitted": "審査中", "approved": "承認済み",
                   "withdrawn": "取下げ"}
MATERIAL_ACTIONS = {
    "created": "作成", "submitted": "審査に提出", "comment": "コメント", "returned": "差戻し",
    "approved": "承認", "withdrawn": "取下げ", "revision_started": "改訂を開始",
    "published": "公開", "unpublished": "公開の停止"}


class Material(db.Model):
    """A quiz or a handout of a group (広報啓発資料), as its working copy."""
    __tablename__ = "volunteer_materials"
    __table_args__ = (CheckConstraint(_in("kind", MATERIAL_KINDS), name="kind"),
                      CheckConstraint(_in("state", MATERIAL_STATES), name="state"),
                      # Only a handout in force is ever public.
                      CheckConstraint("NOT published OR (kind = 'handout' AND in_force_id IS NOT NULL)",
                                      name="published"))
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("volunteer_groups.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="draft")
    title: Mapped[str] = mapped_column(String(100))
    audience: Mapped[str] = mapped_column(String(100), default="", server_default="")   # 対象
    body: Mapped[str] = mapped_column(Text, default="", server_default="")              # handout, Markdown
    credits: Mapped[str] = mapped_column(Text, default="", server_default="")           # 出典・クレジット
    # The approved revision in use; None before the first approval and after a withdrawal.
    in_force_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("volunteer_material_revisions.id", use_alter=True))
    published: Mapped[bool] = mapped_column(default=False)
    # Question keys (q1, q2...) are never reused, so a question keeps its key across revisions.
    next_question: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    group: Mapped[VolunteerGroup] = relationship()
    questions: Mapped[list["MaterialQuestion"]] = relationship(
        back_populates="material", order_by="MaterialQuestion.position", cascade="all, delete-orphan")

    @property
    def in_force(self) -> Optional["MaterialRevision"]:
        """The revision in use. Read from the key each time (no relationship): an approval
        or a withdrawal sets the key, and what is in force follows it at once."""
        return db.session.get(MaterialRevision, self.in_force_id) if self.in_force_id else None

    @property
    def kind_name(self) -> str:
        return MATERIAL_KINDS.get(self.kind, self.kind)

    @property
    def state_name(self) -> str:
        return MATERIAL_STATES.get(self.state, self.state)


class MaterialQuestion(db.Model):
    """A question of a quiz's working copy: stem (Markdown), 2-4 choices, the right one."""
    __tablename__ = "volunteer_material_questions"
    __table_args__ = (UniqueConstraint("material_id", "key"),
                      CheckConstraint("answer >= 0 AND answer < 4", name="answer"))
    id: Mapped[int] = mapped_column(primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("volunteer_materials.id", ondelete="CASCADE"),
                                             index=True)
    key: Mapped[str] = mapped_column(String(16))
    position: Mapped[int]
    stem: Mapped[str] = mapped_column(Text)
    choices: Mapped[list] = mapped_column(JSON)
    answer: Mapped[int]
    explanation: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)          # 出典・参考
    material: Mapped[Material] = relationship(back_populates="questions")


class MaterialRevision(db.Model):
    """The content as submitted for review (版): kept whatever the decision, so the approved
    content is exactly what was reviewed."""
    __tablename__ = "volunteer_material_revisions"
    __table_args__ = (UniqueConstraint("material_id", "number"),
                      CheckConstraint("decision IS NULL OR decision IN ('returned', 'approved')",
                                      name="decision"),
                      # An approval records both checks (正確性, 著作権・出典).
                      CheckConstraint("decision IS NULL OR decision <> 'approved' OR "
                                      "(checked_accuracy AND checked_copyright)", name="checked"))
    id: Mapped[int] = mapped_column(primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("volunteer_materials.id"), index=True)
    number: Mapped[int]
    content: Mapped[dict] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))
    submitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[Optional[str]] = mapped_column(String(16))
    decided_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[Optional[datetime]]
    checked_accuracy: Mapped[bool] = mapped_column(default=False)
    checked_copyright: Mapped[bool] = mapped_column(default=False)
    material: Mapped[Material] = relationship(foreign_keys=[material_id])
    submitter: Mapped[User] = relationship(foreign_keys=[submitted_by])
    decider: Mapped[Optional[User]] = relationship(foreign_keys=[decided_by])


class MaterialEvent(db.Model):
    """The history of a material (経過): a state change or a review comment, with who and
    when; a comment on one question names its key."""
    __tablename__ = "volunteer_material_events"
    __table_args__ = (CheckConstraint(_in("action", MATERIAL_ACTIONS), name="action"),
                      Index("ix_volunteer_material_events_material", "material_id", "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("volunteer_materials.id"))
    revision_id: Mapped[Optional[int]] = mapped_column(ForeignKey("volunteer_material_revisions.id"))
    action: Mapped[str] = mapped_column(String(24))
    question_key: Mapped[Optional[str]] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="", server_default="")
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user: Mapped[User] = relationship()
    revision: Mapped[Optional[MaterialRevision]] = relationship()

    @property
    def action_name(self) -> str:
        return MATERIAL_ACTIONS.get(self.action, self.action)
