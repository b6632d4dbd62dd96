"""Approved quizzes of a group, for the public awareness quizzes: only a revision the
liaison approved and that is in force, exactly as it was approved."""
from __future__ import annotations

from sqlalchemy import select

from scoring.materials import quiz_shape

from ..extensions import db
from ..models import Material

PREFIX = "material:"


def approved_quizzes(group_id: int) -> list[tuple[str, str]]:
    """(ref, title) of the group's quizzes in force, the title as approved."""
    materials = db.session.scalars(select(Material).where(
        Material.group_id == group_id, Material.kind == "quiz", Material.in_force_id.is_not(None))
        .order_by(Material.id))
    return [(f"{PREFIX}{m.id}", m.in_force.content["title"]) for m in materials]


def quiz_questions(material_id: int) -> list[dict]:
    """The approved revision's questions: {"id", "stem", "choices", "answer", "explanation"}.
    LookupError for a material that is no quiz in force (never approved, or withdrawn)."""
    material = db.session.get(Material, material_id)
    if material is None or material.kind != "quiz" or material.in_force is None:
        raise LookupError(f"{PREFIX}{material_id} is no approved quiz")
    return quiz_shape(material.in_force.content)


class MaterialProvider:
    """The group's approved quizzes as a source of the public awareness quizzes
    (app/awareness/sources.py): a group uses its own, nobody else's."""

    def choices(self, group) -> list:
        from ..awareness.sources import QuizChoice
        out = []
        for ref, title in approved_quizzes(group.id):
            count = len(quiz_questions(int(ref[len(PREFIX):])))
            out.append(QuizChoice(ref, f"{title}（団体作成・承認済み）", count, MINUTES))
        return out

    def questions(self, key: str, group) -> tuple[str, list[dict]] | None:
        if not key.isdigit():
            return None
        material = db.session.get(Material, int(key))
        if material is None or material.group_id != group.id:
            return None
        try:
            questions = quiz_questions(material.id)     # LookupError unless a quiz in force
        except LookupError:
            return None
        return material.in_force.content["title"], questions


# The usual length of an event with a group's own quiz (the bank's quizzes set theirs).
MINUTES = 30


def register() -> None:
    from ..awareness import sources
    sources.register(PREFIX.rstrip(":"), MaterialProvider())
