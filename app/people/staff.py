"""Staff records (職員): personal data, edited by the secretariat; every change audited."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select

from scoring import people as parse
from scoring.eligibility import NON_STAFF
from scoring.jpdate import format_date_jp

from ..core import audit
from ..extensions import db
from ..models import EMPLOYMENT_CATEGORIES, Affiliation, Staff, User
from .rules import PeopleError

FIELD_LABELS = {
    "staff_number": "職員番号", "name_kanji": "氏名（漢字）", "name_kana": "ふりがな",
    "birth_date": "生年月日", "post": "官職（階級）", "affiliation": "所属",
    "employment_category": "勤務形態", "email": "メールアドレス",
}


STAFF_FIELDS = tuple(FIELD_LABELS)


@dataclass
class StaffValues:
    """One staff record's fields, already parsed (scoring.people)."""
    staff_number: str
    name_kanji: str
    name_kana: str
    birth_date: date
    post: str
    affiliation_id: int | None
    employment_category: str
    email: str | None


def display_value(name: str, value) -> str:
    """A field's value as the pages and the preview show it."""
    if value is None or value == "":
        return "（なし）"
    if name == "birth_date":
        return format_date_jp(value)
    if name == "head":
        user = db.session.get(User, value)
        return f"{user.display_name}（{user.username}）" if user else "（なし）"
    if name == "affiliation":
        aff = db.session.get(Affiliation, value) if isinstance(value, int) else value
        return f"{aff.name}（{aff.code}）" if aff else "（なし）"
    return str(value)


def _staff_value(staff: Staff, name: str):
    return staff.affiliation_id if name == "affiliation" else getattr(staff, name)


def values_dict(v: StaffValues) -> dict:
    return {"staff_number": v.staff_number, "name_kanji": v.name_kanji, "name_kana": v.name_kana,
            "birth_date": v.birth_date, "post": v.post, "affiliation": v.affiliation_id,
            "employment_category": v.employment_category, "email": v.email}


def staff_changes(staff: Staff, v: StaffValues, keep_email_if_blank: bool = False) -> dict:
    """{field: (old, new)} for what would change (raw values, for setting and audit)."""
    out = {}
    for name, new in values_dict(v).items():
        if name == "email" and new is None and keep_email_if_blank:
            continue
        old = _staff_value(staff, name)
        if old != new:
            out[name] = (old, new)
    return out


def _check_affiliation(v: StaffValues, current_id: int | None = None) -> None:
    if v.employment_category not in EMPLOYMENT_CATEGORIES:
        raise PeopleError(f"勤務形態「{v.employment_category}」は登録できません。")
    if v.affiliation_id is None:
        if v.employment_category != NON_STAFF:
            raise PeopleError("所属を選んでください（所属を省略できるのは「職員以外」のみです）。")
        return
    aff = db.session.get(Affiliation, v.affiliation_id)
    if aff is None:
        raise PeopleError("選んだ所属は登録されていません。")
    # An abolished affiliation keeps the staff it had, but takes no one new.
    if not aff.active and aff.id != current_id:
        raise PeopleError(f"所属「{aff.name}」は無効になっているため選べません。")


def apply_changes(staff: Staff, changes: dict) -> None:
    for name, (_old, new) in changes.items():
        setattr(staff, "affiliation_id" if name == "affiliation" else name, new)
    # The account's name follows the record, so pages show the person's real name.
    if staff.user is not None and "name_kanji" in changes:
        staff.user.display_name = staff.name_kanji


# The audit log is also written to the server log: for personal fields it keeps only that
# they changed; organisational ones (post, affiliation, category) keep old and new values.
_PERSONAL_FIELDS = {"name_kanji", "name_kana", "birth_date", "email"}


def audited_changes(changes: dict) -> dict:
    return {k: "変更" if k in _PERSONAL_FIELDS else [_json_value(o), _json_value(n)]
            for k, (o, n) in changes.items()}


def _json_value(value):
    return value.isoformat() if isinstance(value, date) else value


def create_staff(v: StaffValues, by: int | None) -> Staff:
    _check_affiliation(v)
    if db.session.scalar(select(Staff.id).where(Staff.staff_number == v.staff_number)):
        raise PeopleError(f"職員番号「{v.staff_number}」は既に登録されています。")
    staff = Staff(staff_number=v.staff_number, name_kanji=v.name_kanji, name_kana=v.name_kana,
                  birth_date=v.birth_date, post=v.post, affiliation_id=v.affiliation_id,
                  employment_category=v.employment_category, email=v.email)
    db.session.add(staff)
    db.session.flush()
    audit.record("staff_created", by, staff_id=staff.id, staff_number=staff.staff_number)
    return staff


def update_staff(staff: Staff, v: StaffValues, by: int | None) -> dict:
    _check_affiliation(v, staff.affiliation_id)
    clash = db.session.scalar(select(Staff).where(Staff.staff_number == v.staff_number))
    if clash is not None and clash is not staff:
        raise PeopleError(f"職員番号「{v.staff_number}」は既に別の職員に使われています。")
    changes = staff_changes(staff, v)
    apply_changes(staff, changes)
    db.session.flush()
    if changes:
        audit.record("staff_updated", by, staff_id=staff.id, staff_number=staff.staff_number,
                     changes=audited_changes(changes))
    return changes


def search_staff(q: str = "", affiliation_id: int | None = None, category: str = "",
                 page: int = 1, per_page: int = 50) -> tuple[list[Staff], int]:
    query = select(Staff)
    q = q.strip()
    if q:
        # Names are stored with a full-width space; a search typed with either space works.
        spaced = "\u3000".join(q.replace("\u3000", " ").split())
        terms = [Staff.staff_number.ilike(f"%{q}%"), Staff.name_kanji.contains(spaced)]
        terms += [Staff.name_kana.contains(v) for v in parse.kana_variants(q)]
        query = query.where(or_(*terms))
    if affiliation_id:
        query = query.where(Staff.affiliation_id == affiliation_id)
    if category:
        query = query.where(Staff.employment_category == category)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(Staff.staff_number)
                              .offset((page - 1) * per_page).limit(per_page))
    return list(rows), total
