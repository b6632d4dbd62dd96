"""Affiliations (所属) and their heads (所属の長)."""
from __future__ import annotations

from sqlalchemy import select

from scoring import people as parse

from ..core import audit
from ..extensions import db
from ..models import Affiliation, User, UserRole
from .rules import PeopleError


def head_candidates() -> list[User]:
    """Users who may head an affiliation: those with the head role."""
    return list(db.session.scalars(
        select(User).join(UserRole).where(UserRole.role == "head").order_by(User.username)))


def _check_head(head_user_id: int | None) -> User | None:
    if head_user_id is None:
        return None
    user = db.session.get(User, head_user_id)
    if user is None or not user.has_role("head"):
        raise PeopleError("所属の長には「所属の長」の役割を持つ利用者を指定してください。")
    return user


def save_affiliation(aff: Affiliation | None, code: str, name: str, head_user_id: int | None,
                     active: bool, by: int | None) -> Affiliation:
    code, name = parse.parse_affiliation_code(code), parse.parse_affiliation_name(name)
    _check_head(head_user_id)
    clash = db.session.scalar(select(Affiliation).where(Affiliation.code == code))
    if clash is not None and clash is not aff:
        raise PeopleError(f"所属コード「{code}」は既に「{clash.name}」で使われています。")
    new = {"code": code, "name": name, "head_user_id": head_user_id, "active": active}
    if aff is None:
        aff = Affiliation(**new)
        db.session.add(aff)
        db.session.flush()
        audit.record("affiliation_created", by, affiliation_id=aff.id, **new)
        return aff
    changes = {k: [getattr(aff, k), v] for k, v in new.items() if getattr(aff, k) != v}
    for k, v in new.items():
        setattr(aff, k, v)
    db.session.flush()
    if changes:
        audit.record("affiliation_updated", by, affiliation_id=aff.id, code=code, changes=changes)
    return aff


def affiliations(active_only: bool = False) -> list[Affiliation]:
    query = select(Affiliation).order_by(Affiliation.code)
    if active_only:
        query = query.where(Affiliation.active.is_(True))
    return list(db.session.scalars(query))
