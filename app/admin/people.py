"""The secretariat's operations (庶務): affiliations, staff records, their sign-in accounts and
roles, the staff and affiliation CSV imports, and the audit log query.

Operations only flush; the request handler (or the command) commits, or rolls back on
PeopleError. Field parsing is scoring/people.py, shared by the forms and the imports."""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, or_, select

from scoring import people as parse
from scoring.csvtable import CsvImportError, CsvProblem, decode, raw_rows, read_table
from scoring.jpdate import JST, format_date_jp

from .. import audit
from ..auth.throttle import clear_user
from ..extensions import db
from ..models import ROLES, AuditEvent, User, UserRole
from ..models_register import EMPLOYMENT_CATEGORIES, Affiliation, Staff
from scoring.eligibility import NON_STAFF

MANAGE_ROLES = ("secretariat", "vice_chair", "chair")
# Personal data is for the committee and the secretariat (domain.md): they may read the lists.
VIEW_ROLES = MANAGE_ROLES + ("committee",)
AUDIT_ROLES = ("committee", "vice_chair", "chair", "secretariat")

FIELD_LABELS = {
    "staff_number": "職員番号", "name_kanji": "氏名（漢字）", "name_kana": "ふりがな",
    "birth_date": "生年月日", "post": "官職（階級）", "affiliation": "所属",
    "employment_category": "勤務形態", "email": "メールアドレス",
}
STAFF_FIELDS = tuple(FIELD_LABELS)
STAFF_CSV_COLUMNS = ("staff_number", "name_kanji", "name_kana", "birth_date", "post",
                     "affiliation_code", "employment_category", "email")
STAFF_CSV_OPTIONAL = {"email"}
AFFILIATION_CSV_COLUMNS = ("code", "name", "head_username")
# Password characters a person can read off a screen without confusing 0/O or 1/l/I.
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class PeopleError(Exception):
    """A refusal to show the person asking (Japanese)."""


# ---- affiliations ------------------------------------------------------------------------

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


# ---- staff records -----------------------------------------------------------------------

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


def _display(name: str, value) -> str:
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


def _values_dict(v: StaffValues) -> dict:
    return {"staff_number": v.staff_number, "name_kanji": v.name_kanji, "name_kana": v.name_kana,
            "birth_date": v.birth_date, "post": v.post, "affiliation": v.affiliation_id,
            "employment_category": v.employment_category, "email": v.email}


def staff_changes(staff: Staff, v: StaffValues, keep_email_if_blank: bool = False) -> dict:
    """{field: (old, new)} for what would change (raw values, for setting and audit)."""
    out = {}
    for name, new in _values_dict(v).items():
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


def _apply(staff: Staff, changes: dict) -> None:
    for name, (_old, new) in changes.items():
        setattr(staff, "affiliation_id" if name == "affiliation" else name, new)
    # The account's name follows the record, so pages show the person's real name.
    if staff.user is not None and "name_kanji" in changes:
        staff.user.display_name = staff.name_kanji


# The audit log is also written to the server log: for personal fields it keeps only that
# they changed; organisational ones (post, affiliation, category) keep old and new values.
_PERSONAL_FIELDS = {"name_kanji", "name_kana", "birth_date", "email"}


def _audit_changes(changes: dict) -> dict:
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
    _apply(staff, changes)
    db.session.flush()
    if changes:
        audit.record("staff_updated", by, staff_id=staff.id, staff_number=staff.staff_number,
                     changes=_audit_changes(changes))
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


# ---- sign-in accounts and roles ----------------------------------------------------------

def new_password(length: int = 12) -> str:
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def create_login(staff: Staff, username: str, by: int | None) -> tuple[User, str]:
    """A candidate account for a staff member; the password is returned to be shown once."""
    username = username.strip() or staff.staff_number
    if staff.user_id is not None:
        raise PeopleError("この職員には既にログインアカウントがあります。")
    if len(username) > 64:
        raise PeopleError("ユーザーIDは64文字以内にしてください。")
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise PeopleError(f"ユーザーID「{username}」は既に使われています。")
    password = new_password()
    user = User(username=username, display_name=staff.name_kanji)
    user.set_password(password)
    user.roles.append(UserRole(role="candidate"))
    db.session.add(user)
    db.session.flush()
    staff.user_id = user.id
    db.session.flush()
    audit.record("user_created", by, target_user_id=user.id, username=username,
                 staff_id=staff.id, roles=["candidate"])
    return user, password


def link_login(staff: Staff, username: str, by: int | None) -> User:
    """Attach an existing account (made before the staff record) to a staff member."""
    if staff.user_id is not None:
        raise PeopleError("この職員には既にログインアカウントがあります。")
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        raise PeopleError(f"ユーザーID「{username}」は見つかりません。")
    other = db.session.scalar(select(Staff).where(Staff.user_id == user.id))
    if other is not None:
        raise PeopleError(f"ユーザーID「{user.username}」は既に職員番号「{other.staff_number}」と紐付いています。")
    staff.user_id = user.id
    db.session.flush()
    audit.record("user_linked", by, target_user_id=user.id, username=user.username, staff_id=staff.id)
    return user


def reset_password(user: User, by: int | None) -> str:
    password = new_password()
    user.set_password(password)
    # A new password also ends a sign-in lock: the lock message sends people to the secretariat.
    clear_user(user.username)
    db.session.flush()
    audit.record("password_reset", by, target_user_id=user.id, username=user.username)
    return password


def set_roles(user: User, roles: set[str], active: bool, by: User) -> dict:
    """Grant and withdraw roles. Nobody edits their own account: no one raises their own
    rights or locks themself out, and every change has a second person behind it."""
    if user.id == by.id:
        raise PeopleError("自分自身の役割や利用状態は変更できません。別の担当者に依頼してください。")
    unknown = roles - set(ROLES)
    if unknown:
        raise PeopleError("不明な役割です: " + "、".join(sorted(unknown)))
    before = user.role_set
    if "head" in before and "head" not in roles:
        headed = db.session.scalars(select(Affiliation).where(Affiliation.head_user_id == user.id)).all()
        if headed:
            raise PeopleError("「" + "」「".join(a.name for a in headed) + "」の長に設定されています。"
                              "先に所属の長を変更してください。")
    for r in list(user.roles):
        if r.role not in roles:
            user.roles.remove(r)
    for role in sorted(roles - before):
        user.roles.append(UserRole(role=role))
    changed = {}
    if roles != before:
        changed["added"] = sorted(roles - before)
        changed["removed"] = sorted(before - roles)
    if user.active != active:
        changed["active"] = [user.active, active]
        user.active = active
        if not active:      # and enabling again does not bring back a session from before
            user.end_sessions()
    db.session.flush()
    if changed:
        audit.record("user_roles_changed", by.id, target_user_id=user.id, username=user.username,
                     **changed)
    return changed


def search_users(q: str = "", role: str = "", page: int = 1, per_page: int = 50):
    query = select(User)
    if q.strip():
        query = query.where(or_(User.username.contains(q.strip()), User.display_name.contains(q.strip())))
    if role:
        query = query.where(User.roles.any(UserRole.role == role))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(User.username).offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


# ---- CSV imports -------------------------------------------------------------------------

@dataclass
class PlannedRow:
    line: int
    key: str                                   # staff number / affiliation code
    values: dict                               # field -> new value
    existing_id: int | None = None
    changes: dict = field(default_factory=dict)   # field -> (old, new), for updates


@dataclass
class ImportPlan:
    """What an import would do: nothing is written until it is applied."""
    kind: str                                  # staff | affiliations
    text: str
    rows: list[PlannedRow]

    @property
    def created(self) -> list[PlannedRow]:
        return [r for r in self.rows if r.existing_id is None]

    @property
    def updated(self) -> list[PlannedRow]:
        return [r for r in self.rows if r.existing_id is not None and r.changes]

    @property
    def unchanged(self) -> list[PlannedRow]:
        return [r for r in self.rows if r.existing_id is not None and not r.changes]

    @property
    def fingerprint(self) -> str:
        """What the preview showed; the confirmation must find the same plan."""
        doc = [[r.key, r.existing_id, sorted((k, str(o), str(n)) for k, (o, n) in r.changes.items())]
               for r in self.rows]
        return hashlib.sha256(json.dumps(doc, ensure_ascii=False).encode()).hexdigest()

    @property
    def payload(self) -> str:
        """The file's text, carried through the confirmation form: compressed, so the form
        stays well under the upload limit, and base64, so newlines survive."""
        return base64.b64encode(zlib.compress(self.text.encode("utf-8"), 9)).decode("ascii")

    def shown(self, row: PlannedRow) -> dict:
        return {name: _display(name, value) for name, value in row.values.items()}

    def shown_changes(self, row: PlannedRow) -> list[tuple[str, str, str]]:
        labels = FIELD_LABELS if self.kind == "staff" else AFFILIATION_LABELS
        return [(labels.get(k, k), _display(k, o), _display(k, n)) for k, (o, n) in row.changes.items()]


AFFILIATION_LABELS = {"code": "所属コード", "name": "所属名", "head": "所属の長"}


PAYLOAD_MAX_BYTES = 8 * 1024 * 1024


def text_from_payload(payload: str) -> str:
    broken = PeopleError("確認用のデータが壊れています。もう一度ファイルを選んでください。")
    try:
        inflate = zlib.decompressobj()
        # Bounded: a crafted payload must not inflate into gigabytes.
        raw = inflate.decompress(base64.b64decode(payload.encode("ascii"), validate=True), PAYLOAD_MAX_BYTES)
        if inflate.unconsumed_tail or not inflate.eof:
            raise broken
        return raw.decode("utf-8")
    except (ValueError, UnicodeError, zlib.error):
        raise broken from None


def _duplicates(rows, column: str, normalise, label: str) -> list[CsvProblem]:
    seen: dict[str, list[int]] = {}
    for line, raw in rows:
        try:
            key = normalise(raw.get(column, ""))
        except ValueError:
            continue
        seen.setdefault(key, []).append(line)
    problems = []
    for key, lines in seen.items():
        if len(lines) > 1:
            where = "、".join(f"{n}行目" for n in lines)
            for n in lines:
                problems.append(CsvProblem(n, column, f"{label}「{key}」がファイル内で重複しています（{where}）"))
    return problems


def _finish(problems: list[CsvProblem], columns) -> None:
    if problems:
        order = {c: i for i, c in enumerate(columns)}
        problems = sorted(set(problems), key=lambda p: (p.line, p.column is not None,
                                                        order.get(p.column, 99), p.message))
        raise CsvImportError(problems)


def plan_staff_import(raw: bytes | str, today: date) -> ImportPlan:
    """Read a staff CSV (UTF-8 with or without BOM, or Shift_JIS) and decide, row by row,
    what would be created and what updated. Raises CsvImportError with every problem."""
    text = decode(raw) if isinstance(raw, bytes) else raw
    by_code = {a.code: a for a in affiliations()}

    def affiliation(cell: str) -> Affiliation:
        code = parse.parse_affiliation_code(cell)
        aff = by_code.get(code)
        if aff is None:
            raise ValueError(f"所属コード「{code}」は登録されていません")
        if not aff.active:
            raise ValueError(f"所属コード「{code}」（{aff.name}）は無効になっています")
        return aff

    columns = {
        "staff_number": parse.parse_staff_number, "name_kanji": parse.parse_name_kanji,
        "name_kana": parse.parse_name_kana,
        "birth_date": lambda s: parse.parse_birth_date(s, today), "post": parse.parse_post,
        "affiliation_code": affiliation,
        "employment_category": lambda s: parse.parse_category(s, EMPLOYMENT_CATEGORIES),
        "email": parse.parse_email,
    }
    # affiliation_code may be blank for 職員以外 only; the column itself is required (below).
    problems: list[CsvProblem] = []
    rows = []
    try:
        rows = read_table(text, columns, optional=STAFF_CSV_OPTIONAL | {"affiliation_code"})
    except CsvImportError as exc:
        problems += exc.problems
    header, plain = raw_rows(text)
    if header and "affiliation_code" not in header:
        problems.append(CsvProblem(1, None, "必要な列がありません: affiliation_code"))
    if any(p.line == 1 and p.column is None for p in problems):
        _finish(problems, STAFF_CSV_COLUMNS)           # the header is wrong: rows mean nothing
    problems += _duplicates(plain, "staff_number", parse.parse_staff_number, "職員番号")
    for line, raw in plain:
        if raw.get("affiliation_code", "") == "" and raw.get("employment_category", "") != NON_STAFF:
            problems.append(CsvProblem(line, "affiliation_code", "値が空です（省略できるのは勤務形態が「職員以外」の行のみ）"))
    _finish(problems, STAFF_CSV_COLUMNS)
    existing = {s.staff_number: s for s in db.session.scalars(
        select(Staff).where(Staff.staff_number.in_([v["staff_number"] for _l, v in rows])))}
    planned = []
    for line, v in rows:
        aff = v["affiliation_code"]
        values = StaffValues(staff_number=v["staff_number"], name_kanji=v["name_kanji"],
                             name_kana=v["name_kana"], birth_date=v["birth_date"], post=v["post"],
                             affiliation_id=aff.id if aff else None,
                             employment_category=v["employment_category"], email=v["email"])
        staff = existing.get(values.staff_number)
        # A blank e-mail cell keeps the address on record: an HR extract without e-mail
        # addresses must not wipe them.
        changes = staff_changes(staff, values, keep_email_if_blank=True) if staff else {}
        planned.append(PlannedRow(line, values.staff_number, _values_dict(values),
                                  staff.id if staff else None, changes))
    return ImportPlan("staff", text, planned)


def apply_staff_import(plan: ImportPlan, by: int | None, source: str, filename: str | None = None) -> dict:
    created, updated = [], []
    for row in plan.created:
        v = row.values
        db.session.add(Staff(staff_number=v["staff_number"], name_kanji=v["name_kanji"],
                             name_kana=v["name_kana"], birth_date=v["birth_date"], post=v["post"],
                             affiliation_id=v["affiliation"], employment_category=v["employment_category"],
                             email=v["email"]))
        created.append(row.key)
    for row in plan.updated:
        staff = db.session.get(Staff, row.existing_id)
        _apply(staff, row.changes)
        updated.append({"staff_number": row.key, "changes": _audit_changes(row.changes)})
    db.session.flush()
    summary = {"created": len(created), "updated": len(updated), "unchanged": len(plan.unchanged)}
    audit.record("staff_import", by, source=source, filename=filename, **summary,
                 created_numbers=created, updates=updated)
    return summary


def plan_affiliation_import(raw: bytes | str) -> ImportPlan:
    """Affiliations CSV: code,name and optionally head_username (a user with the head role)."""
    text = decode(raw) if isinstance(raw, bytes) else raw
    heads = {u.username: u for u in head_candidates()}

    def head(cell: str) -> User:
        user = heads.get(cell)
        if user is None:
            raise ValueError(f"ユーザーID「{cell}」は「所属の長」の役割を持つ利用者ではありません")
        return user

    columns = {"code": parse.parse_affiliation_code, "name": parse.parse_affiliation_name,
               "head_username": head}
    problems: list[CsvProblem] = []
    rows = []
    try:
        rows = read_table(text, columns, optional={"head_username"})
    except CsvImportError as exc:
        problems += exc.problems
    if any(p.line == 1 and p.column is None for p in problems):
        _finish(problems, AFFILIATION_CSV_COLUMNS)
    _header, plain = raw_rows(text)
    problems += _duplicates(plain, "code", parse.parse_affiliation_code, "所属コード")
    _finish(problems, AFFILIATION_CSV_COLUMNS)
    existing = {a.code: a for a in affiliations()}
    planned = []
    for line, v in rows:
        head_user = v["head_username"]
        values = {"code": v["code"], "name": v["name"], "head": head_user.id if head_user else None}
        aff = existing.get(v["code"])
        changes = {}
        if aff is not None:
            if aff.name != values["name"]:
                changes["name"] = (aff.name, values["name"])
            # A blank head cell keeps the head on record.
            if head_user is not None and aff.head_user_id != head_user.id:
                changes["head"] = (aff.head_user_id, head_user.id)
        planned.append(PlannedRow(line, v["code"], values, aff.id if aff else None, changes))
    return ImportPlan("affiliations", text, planned)


def apply_affiliation_import(plan: ImportPlan, by: int | None, source: str,
                             filename: str | None = None) -> dict:
    for row in plan.created:
        db.session.add(Affiliation(code=row.values["code"], name=row.values["name"],
                                   head_user_id=row.values.get("head")))
    for row in plan.updated:
        aff = db.session.get(Affiliation, row.existing_id)
        for k, (_o, n) in row.changes.items():
            setattr(aff, "head_user_id" if k == "head" else k, n)
    db.session.flush()
    summary = {"created": len(plan.created), "updated": len(plan.updated), "unchanged": len(plan.unchanged)}
    audit.record("affiliation_import", by, source=source, filename=filename, **summary,
                 created_codes=[r.key for r in plan.created],
                 updates=[{"code": r.key, "changes": {k: list(v) for k, v in r.changes.items()}}
                          for r in plan.updated])
    return summary


# ---- audit log ---------------------------------------------------------------------------

EVENT_NAMES = {
    "login": "ログイン", "logout": "ログアウト", "login_failed": "ログイン失敗",
    "login_locked": "ログイン制限", "forbidden": "権限のない操作",
    "affiliation_created": "所属の登録", "affiliation_updated": "所属の変更",
    "affiliation_import": "所属の一括登録", "staff_created": "職員の登録",
    "staff_updated": "職員情報の変更", "staff_import": "職員の一括登録",
    "user_created": "アカウントの作成", "user_linked": "アカウントの紐付け",
    "password_reset": "パスワードの再発行", "user_roles_changed": "役割の変更",
    "audit_exported": "監査記録の出力",
}


@dataclass
class AuditFilter:
    event: str = ""
    username: str = ""
    since: date | None = None                  # Japan dates, both ends included
    until: date | None = None


def _utc_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=JST).astimezone(timezone.utc).replace(tzinfo=None)


def audit_query(f: AuditFilter):
    """Newest first, as (event, user) pairs; an unknown user name matches nothing."""
    query = select(AuditEvent, User).outerjoin(User, User.id == AuditEvent.user_id)
    if f.event:
        query = query.where(AuditEvent.event == f.event)
    if f.username:
        query = query.where(User.username == f.username)
    if f.since:
        query = query.where(AuditEvent.at >= _utc_start(f.since))
    if f.until:
        query = query.where(AuditEvent.at < _utc_start(f.until + timedelta(days=1)))
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def audit_page(f: AuditFilter, page: int, per_page: int = 100):
    query = audit_query(f)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.execute(query.offset((page - 1) * per_page).limit(per_page)).all()
    return rows, total


def audit_events() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.event).distinct().order_by(AuditEvent.event)))
