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
