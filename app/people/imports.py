"""CSV imports of staff and affiliations: planned first (every problem by row and column),
then applied all or nothing. The browser and `cbt staff|affiliations import` share them."""
from __future__ import annotations

import base64
import hashlib
import json
import zlib
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from scoring import people as parse
from scoring.csvtable import CsvImportError, CsvProblem, decode, raw_rows, read_table
from scoring.eligibility import NON_STAFF

from ..core import audit
from ..extensions import db
from ..models import EMPLOYMENT_CATEGORIES, Affiliation, Staff, User
from .affiliations import affiliations, head_candidates
from .rules import PeopleError
from .staff import (FIELD_LABELS, StaffValues, apply_changes, audited_changes, display_value,
                    staff_changes, values_dict)

STAFF_CSV_COLUMNS = ("staff_number", "name_kanji", "name_kana", "birth_date", "post",
                     "affiliation_code", "employment_category", "email")


STAFF_CSV_OPTIONAL = {"email"}


AFFILIATION_CSV_COLUMNS = ("code", "name", "head_username")


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
        return {name: display_value(name, value) for name, value in row.values.items()}

    def shown_changes(self, row: PlannedRow) -> list[tuple[str, str, str]]:
        labels = FIELD_LABELS if self.kind == "staff" else AFFILIATION_LABELS
        return [(labels.get(k, k), display_value(k, o), display_value(k, n)) for k, (o, n) in row.changes.items()]


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
        planned.append(PlannedRow(line, values.staff_number, values_dict(values),
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
        apply_changes(staff, row.changes)
        updated.append({"staff_number": row.key, "changes": audited_changes(row.changes)})
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
