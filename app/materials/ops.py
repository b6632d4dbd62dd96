"""Operations on a group's awareness materials: drafting, submission, the liaison's review,
withdrawal and publication. Each flushes and records its step in the material's history;
the request handler checks who may act and commits."""
from __future__ import annotations

from sqlalchemy import func, select

from scoring import materials as rules

from ..core import audit
from ..extensions import db
from ..models import Material, MaterialEvent, MaterialQuestion, MaterialRevision, User, utcnow


class Refused(Exception):
    """A step the material's state does not allow; the message is Japanese, for the page."""


STATE_REFUSALS = {
    "edit": "審査中または承認済みの資料は編集できません。承認済みの資料は「改訂する」から新しい版を作成してください。",
    "submit": "作成中の資料だけを審査に提出できます。",
    "review": "この資料は審査中ではありません。",
    "revise": "承認済みまたは取下げの資料だけを改訂できます。",
}


def require(action: str, material: Material) -> None:
    if not rules.allowed(action, material.state):
        raise Refused(STATE_REFUSALS[action])


def _event(material: Material, user: User, action: str, text: str = "",
           revision: MaterialRevision | None = None, question_key: str | None = None) -> None:
    db.session.add(MaterialEvent(material_id=material.id, user_id=user.id, action=action, text=text,
                                 revision_id=revision.id if revision else None,
                                 question_key=question_key))


def _touch(material: Material) -> None:
    material.updated_at = utcnow()


def content_of(material: Material) -> dict:
    """The working copy as a revision stores it."""
    return {"kind": material.kind, "title": material.title, "audience": material.audience,
            "body": material.body if material.kind == "handout" else "",
            "credits": material.credits if material.kind == "handout" else "",
            "questions": [{"id": q.key, "stem": q.stem, "choices": list(q.choices), "answer": q.answer,
                           "explanation": q.explanation, "source": q.source}
                          for q in material.questions]}


def create(group_id: int, kind: str, fields: dict, user: User) -> Material:
    material = Material(group_id=group_id, kind=kind, created_by=user.id, **fields)
    db.session.add(material)
    db.session.flush()
    _event(material, user, "created")
    return material


def update(material: Material, fields: dict) -> None:
    require("edit", material)
    for name, value in fields.items():
        setattr(material, name, value)
    _touch(material)


def question(material: Material, key: str) -> MaterialQuestion | None:
    return next((q for q in material.questions if q.key == key), None)


def save_question(material: Material, checked: rules.CheckedQuestion,
                  existing: MaterialQuestion | None = None) -> MaterialQuestion:
    require("edit", material)
    if existing is None:
        if len(material.questions) >= rules.MAX_QUESTIONS:
            raise Refused(f"問題は{rules.MAX_QUESTIONS}問までです。")
        existing = MaterialQuestion(key=f"q{material.next_question}",
                                    position=len(material.questions) + 1)
        material.next_question += 1
        material.questions.append(existing)
    existing.stem, existing.choices, existing.answer = checked.stem, list(checked.choices), checked.answer
    existing.explanation, existing.source = checked.explanation, checked.source
    _touch(material)
    db.session.flush()
    return existing


def _renumber(material: Material, ordered: list[MaterialQuestion]) -> None:
    for position, q in enumerate(ordered, start=1):
        q.position = position
    material.questions.sort(key=lambda q: q.position)


def move_question(material: Material, q: MaterialQuestion, step: int) -> None:
    require("edit", material)
    ordered = list(material.questions)
    at = ordered.index(q)
    to = at + step
    if not 0 <= to < len(ordered):
        raise Refused("これ以上移動できません。")
    ordered[at], ordered[to] = ordered[to], ordered[at]
    _renumber(material, ordered)
    _touch(material)


def delete_question(material: Material, q: MaterialQuestion) -> None:
    require("edit", material)
    material.questions.remove(q)
    _renumber(material, list(material.questions))
    _touch(material)


def submit(material: Material, user: User) -> MaterialRevision:
    require("submit", material)
    content = content_of(material)
    problems = rules.submission_problems(material.kind, content)
    if problems:
        raise Refused(" ".join(problems))
    number = (db.session.scalar(select(func.max(MaterialRevision.number))
                                .where(MaterialRevision.material_id == material.id)) or 0) + 1
    revision = MaterialRevision(material_id=material.id, number=number, content=content,
                                digest=rules.digest(content), submitted_by=user.id)
    db.session.add(revision)
    db.session.flush()
    material.state = "submitted"
    _touch(material)
    _event(material, user, "submitted", revision=revision)
    audit.record("material_submitted", user.id, material=material.id, revision=number)
    return revision


def under_review(material: Material) -> MaterialRevision | None:
    """The revision the liaison is to decide on."""
    if material.state != "submitted":
        return None
    return db.session.scalar(select(MaterialRevision).where(MaterialRevision.material_id == material.id)
                             .order_by(MaterialRevision.number.desc()).limit(1))


def review(material: Material, revision: MaterialRevision, user: User, decision: str | None,
           comments: dict[str | None, str], accuracy: bool, copyright: bool) -> None:
    """The liaison's comments (per question key, None for the whole) and, with a decision,
    差戻し (back to draft) or 承認 (the revision comes into force, frozen)."""
    require("review", material)
    comments = {k: v.strip() for k, v in comments.items() if v and v.strip()}
    if decision in (None, "returned") and not comments:
        raise Refused("差し戻す理由や指摘をコメントに書いてください。" if decision
                      else "保存するコメントがありません。")
    if decision == "approved" and not (accuracy and copyright):
        raise Refused("承認するには、「正確性」と「著作権・出典」の両方を確認し、チェックしてください。")
    keys = [q["id"] for q in revision.content["questions"]]
    for key in sorted(comments, key=lambda k: (k is not None, keys.index(k) if k in keys else 0)):
        _event(material, user, "comment", comments[key], revision=revision, question_key=key)
    if decision is None:
        return
    revision.decision, revision.decided_by, revision.decided_at = decision, user.id, utcnow()
    revision.checked_accuracy, revision.checked_copyright = accuracy, copyright
    if decision == "approved":
        material.state = "approved"
        material.in_force_id = revision.id
    else:
        material.state = "draft"
    _touch(material)
    _event(material, user, decision, revision=revision)
    audit.record("material_approved" if decision == "approved" else "material_returned", user.id,
                 material=material.id, revision=revision.number)


def revise(material: Material, user: User) -> None:
    """A new revision: the working copy is editable again; the approved one stays in force
    until the new one is approved."""
    require("revise", material)
    material.state = "draft"
    _touch(material)
    _event(material, user, "revision_started")


def withdraw(material: Material, user: User, reason: str) -> None:
    """取下げ: the approved revision is used and published no more."""
    if material.in_force_id is None:
        raise Refused("使用中の承認済みの版がないため、取り下げられません。")
    if not reason.strip():
        raise Refused("取下げの理由を入力してください。")
    revision = material.in_force
    material.in_force_id = None
    material.published = False
    if material.state == "approved":
        material.state = "withdrawn"
    _touch(material)
    _event(material, user, "withdrawn", reason.strip(), revision=revision)
    audit.record("material_withdrawn", user.id, material=material.id)


def publish(material: Material, user: User, on: bool) -> None:
    if on and (material.kind != "handout" or material.in_force_id is None):
        raise Refused("公開できるのは、承認済みで使用中の配布資料だけです。")
    if material.published == on:
        return
    material.published = on
    _event(material, user, "published" if on else "unpublished", revision=material.in_force)
    audit.record("material_published" if on else "material_unpublished", user.id, material=material.id)


def history(material: Material) -> list[MaterialEvent]:
    return list(db.session.scalars(select(MaterialEvent).where(MaterialEvent.material_id == material.id)
                                   .order_by(MaterialEvent.id)))


def revisions(material: Material) -> list[MaterialRevision]:
    return list(db.session.scalars(select(MaterialRevision).where(MaterialRevision.material_id == material.id)
                                   .order_by(MaterialRevision.number)))


def comments_on(material: Material, revision: MaterialRevision | None) -> dict[str | None, list[MaterialEvent]]:
    """A revision's review comments by question key (None: on the whole material)."""
    if revision is None:
        return {}
    found: dict[str | None, list[MaterialEvent]] = {}
    for e in db.session.scalars(select(MaterialEvent).where(MaterialEvent.revision_id == revision.id,
                                                             MaterialEvent.action == "comment")
                                .order_by(MaterialEvent.id)):
        found.setdefault(e.question_key, []).append(e)
    return found
