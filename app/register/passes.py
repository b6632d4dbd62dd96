"""The register (別表第3) and special and transitional passes (第3-7, 第4).

Operations only flush; the request handler or command commits (or rolls back: a dry run
is the same import rolled back). Imports check every row before adding anything, so a
file with any problem changes nothing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from scoring.csvtable import CsvImportError, CsvProblem, decode, read_table
from scoring.eligibility import LEVEL_NAMES
from scoring.jpdate import fiscal_year, fiscal_year_label, to_jst
from scoring.passrules import (FORMER_EXAM_REFERENCE, LEVEL_ORDER, SOURCE_NEEDS_DETAIL,
                               SPECIAL_SOURCES, deemed_levels, kana_variants, parse_fiscal_year,
                               parse_level, parse_special_source)

from ..core import audit
from ..extensions import db
from ..models import PASS_SOURCES, Affiliation, PassRecord, Staff, utcnow

SPECIAL_COLUMNS = ["staff_number", "level", "source", "source_detail", "fiscal_year", "evidence"]


class PassError(ValueError):
    """A special pass the rules refuse; `field` names the form field at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


def current_fiscal_year() -> int:
    return fiscal_year(to_jst(utcnow()).date())


def levels_held(staff_id: int) -> set[str]:
    """Every level the person holds, from any source (deemed ones included)."""
    return set(db.session.scalars(select(PassRecord.level).where(PassRecord.staff_id == staff_id)))


def find_staff(staff_number: str) -> Staff | None:
    return db.session.scalar(select(Staff).where(Staff.staff_number == staff_number.strip()))


# ---- special passes ---------------------------------------------------------------------

@dataclass(frozen=True)
class SpecialPass:
    """One special or transitional pass as entered (form) or read (CSV row)."""
    staff: Staff
    level: str
    source: str
    source_detail: str | None
    fiscal_year: int
    evidence: str


def check_special(p: SpecialPass, held: set[str], current_year: int) -> list[tuple[str, str]]:
    """(field, message) for each rule the pass breaks; empty when it may be recorded."""
    problems = []
    if p.source not in SPECIAL_SOURCES:
        problems.append(("source", f"合格の根拠「{p.source}」はここでは記録できません"))
    if p.source in SOURCE_NEEDS_DETAIL and not (p.source_detail or "").strip():
        problems.append(("source_detail", "他都道府県警察の合格には都道府県名（source_detail）が必要です"))
    if not (p.evidence or "").strip():
        problems.append(("evidence", "根拠（証明書、通知文書等）を記入してください"))
    if p.fiscal_year > current_year:
        problems.append(("fiscal_year", f"合格年度{fiscal_year_label(p.fiscal_year)}は今年度より後です"))
    if p.level in held:
        problems.append(("level", f"{p.staff.name_kanji}（{p.staff.staff_number}）は既に"
                                  f"{LEVEL_NAMES[p.level]}の合格記録があります"))
    return problems


def _add_special(p: SpecialPass, by_user_id: int, affiliation_at_pass_id: int | None,
                 held: set[str]) -> tuple[PassRecord, list[PassRecord]]:
    record = PassRecord(staff_id=p.staff.id, level=p.level, fiscal_year=p.fiscal_year, source=p.source,
                        source_detail=(p.source_detail or "").strip() or None,
                        evidence=p.evidence.strip(), affiliation_at_pass_id=affiliation_at_pass_id,
                        post_at_pass=None, recorded_by=by_user_id)
    db.session.add(record)
    db.session.flush()
    implied = []
    for level in deemed_levels(p.level, held):
        row = PassRecord(staff_id=p.staff.id, level=level, fiscal_year=p.fiscal_year, source="deemed",
                         affiliation_at_pass_id=affiliation_at_pass_id, implied_by_id=record.id,
                         evidence=f"{LEVEL_NAMES[p.level]}の特例合格（第3-7なお書）", recorded_by=by_user_id)
        db.session.add(row)
        implied.append(row)
    db.session.flush()
    held.update({p.level, *(r.level for r in implied)})
    return record, implied


def record_special_pass(p: SpecialPass, by_user_id: int,
                        affiliation_at_pass_id: int | None = None) -> tuple[PassRecord, list[PassRecord]]:
    """Record one special pass and the lower levels it deems passed (第3-7なお書)."""
    held = levels_held(p.staff.id)
    problems = check_special(p, held, current_fiscal_year())
    if problems:
        field, message = problems[0]
        raise PassError(message, field)
    record, implied = _add_special(p, by_user_id, affiliation_at_pass_id, held)
    audit.record("special_pass_recorded", by_user_id, pass_record_id=record.id,
                 staff_number=p.staff.staff_number, level=p.level, source=p.source,
                 source_detail=record.source_detail, fiscal_year=p.fiscal_year,
                 deemed=[r.level for r in implied])
    return record, implied


@dataclass
class ImportResult:
    records: list[PassRecord]
    implied: list[PassRecord]


def import_special_passes(raw: bytes | str, by_user_id: int, filename: str = "") -> ImportResult:
    """Bulk special passes from CSV: all rows or none (CsvImportError names every problem
    by row and column). Rows are applied lowest level first, so a file holding both a
    person's intermediate and advanced passes records both rather than deeming one."""
    text = decode(raw) if isinstance(raw, bytes) else raw
    current = current_fiscal_year()
    rows = read_table(text, {
        "staff_number": str, "level": parse_level, "source": parse_special_source,
        "source_detail": str, "fiscal_year": parse_fiscal_year, "evidence": str,
    }, optional={"source_detail"}, multiline={"evidence"})
    problems: list[CsvProblem] = []
    seen: dict[tuple[str, str], int] = {}
    passes: list[tuple[int, SpecialPass]] = []
    held_of: dict[int, set[str]] = {}
    for line, v in rows:
        staff = find_staff(v["staff_number"])
        if staff is None:
            problems.append(CsvProblem(line, "staff_number", f"職員番号「{v['staff_number']}」の職員が登録されていません"))
            continue
        key = (staff.staff_number, v["level"])
        if key in seen:
            problems.append(CsvProblem(line, "level", f"{seen[key]}行目と同じ職員・級位の行です（重複）"))
            continue
        seen[key] = line
        passes.append((line, SpecialPass(staff, v["level"], v["source"], v["source_detail"],
                                         v["fiscal_year"], v["evidence"])))
        held_of.setdefault(staff.id, levels_held(staff.id))
    for line, p in passes:
        for field, message in check_special(p, held_of[p.staff.id], current):
            problems.append(CsvProblem(line, field, message))
    if problems:
        raise CsvImportError(sorted(problems, key=lambda pr: (pr.line, SPECIAL_COLUMNS.index(pr.column)
                                                              if pr.column in SPECIAL_COLUMNS else -1)))
    result = ImportResult([], [])
    for _line, p in sorted(passes, key=lambda lp: (LEVEL_ORDER.index(lp[1].level), lp[0])):
        record, implied = _add_special(p, by_user_id, None, held_of[p.staff.id])
        result.records.append(record)
        result.implied.extend(implied)
    audit.record("special_passes_imported", by_user_id, file=filename, rows=len(result.records),
                 deemed=len(result.implied),
                 pass_record_ids=[r.id for r in result.records])
    return result


def revoke_special_pass(record: PassRecord, reason: str, by_user_id: int) -> list[dict]:
    """Remove a special pass entered in error, with the lower levels it deemed passed.
    Another special pass of the same person that deemed nothing (because these levels were
    held) now deems them. The audit row keeps everything removed, so the register's
    history stays answerable."""
    if record.source not in SPECIAL_SOURCES:
        raise PassError("本県の検定による合格と、上位級から見なされた合格はここでは取り消せません")
    if not reason.strip():
        raise PassError("取消の理由を記入してください", "reason")
    staff_id = record.staff_id
    implied = list(db.session.scalars(select(PassRecord).where(PassRecord.implied_by_id == record.id)))
    removed = [pass_snapshot(r) for r in [record, *implied]]
    for r in implied:
        db.session.delete(r)
    db.session.flush()
    db.session.delete(record)
    db.session.flush()
    held = levels_held(staff_id)
    restored = []
    others = db.session.scalars(select(PassRecord).where(PassRecord.staff_id == staff_id,
                                                         PassRecord.source.in_(SPECIAL_SOURCES)))
    for other in sorted(others, key=lambda r: -LEVEL_ORDER.index(r.level)):
        for level in deemed_levels(other.level, held):
            row = PassRecord(staff_id=staff_id, level=level, fiscal_year=other.fiscal_year, source="deemed",
                             affiliation_at_pass_id=other.affiliation_at_pass_id, implied_by_id=other.id,
                             evidence=f"{LEVEL_NAMES[other.level]}の特例合格（第3-7なお書）",
                             recorded_by=by_user_id)
            db.session.add(row)
            held.add(level)
            restored.append(row)
    db.session.flush()
    audit.record("special_pass_revoked", by_user_id, reason=reason.strip(), removed=removed,
                 deemed_again=[{"id": r.id, "level": r.level, "implied_by_id": r.implied_by_id} for r in restored])
    return removed


def pass_snapshot(r: PassRecord) -> dict:
    """A register entry as the audit log keeps it when the entry is removed."""
    return {"id": r.id, "staff_number": r.staff.staff_number, "level": r.level, "source": r.source,
            "source_detail": r.source_detail, "fiscal_year": r.fiscal_year, "evidence": r.evidence,
            "implied_by_id": r.implied_by_id}


# ---- the register -----------------------------------------------------------------------

@dataclass(frozen=True)
class RegisterFilter:
    level: str | None = None
    fiscal_year: int | None = None
    source: str | None = None
    affiliation_id: int | None = None
    q: str = ""

    def as_args(self) -> dict:
        return {k: v for k, v in (("level", self.level), ("fiscal_year", self.fiscal_year),
                                  ("source", self.source), ("affiliation", self.affiliation_id),
                                  ("q", self.q)) if v not in (None, "")}


REGISTER_HEADER = ["級位", "合格年度", "合格時の所属", "現在の所属", "官職（階級）", "氏名", "ふりがな",
                   "生年月日", "職員番号", "合格の根拠", "根拠の詳細"]


@dataclass(frozen=True)
class RegisterRow:
    record: PassRecord
    staff: Staff
    affiliation_at_pass: Affiliation | None
    current_affiliation: Affiliation | None

    def cells(self) -> list:
        """One row of the export, in REGISTER_HEADER order."""
        r, s = self.record, self.staff
        return [LEVEL_NAMES[r.level], fiscal_year_label(r.fiscal_year),
                self.affiliation_at_pass.name if self.affiliation_at_pass else "",
                self.current_affiliation.name if self.current_affiliation else "",
                s.post, s.name_kanji, s.name_kana, s.birth_date.isoformat(), s.staff_number,
                PASS_SOURCES[r.source], source_detail_text(r)]


def source_detail_text(r: PassRecord) -> str:
    if r.source == "former_exam" and not r.source_detail:
        return FORMER_EXAM_REFERENCE
    if r.source == "deemed":
        return r.evidence or ""          # which higher special pass deemed it
    return r.source_detail or ""


def _squash(column):
    # Names are typed with and without spaces (half- and full-width): search ignores them.
    return func.replace(func.replace(column, " ", ""), "\u3000", "")


def register_rows(f: RegisterFilter) -> list[RegisterRow]:
    at_pass, current = aliased(Affiliation), aliased(Affiliation)
    query = (select(PassRecord, Staff, at_pass, current)
             .join(Staff, Staff.id == PassRecord.staff_id)
             .outerjoin(at_pass, at_pass.id == PassRecord.affiliation_at_pass_id)
             .outerjoin(current, current.id == Staff.affiliation_id))
    if f.level:
        query = query.where(PassRecord.level == f.level)
    if f.fiscal_year:
        query = query.where(PassRecord.fiscal_year == f.fiscal_year)
    if f.source:
        query = query.where(PassRecord.source == f.source)
    if f.affiliation_id:
        query = query.where(Staff.affiliation_id == f.affiliation_id)
    words = "".join((f.q or "").split())
    if words:
        conditions = [_squash(Staff.name_kanji).contains(words, autoescape=True),
                      Staff.staff_number.contains(words, autoescape=True)]
        conditions += [_squash(Staff.name_kana).contains(v, autoescape=True) for v in kana_variants(words)]
        query = query.where(or_(*conditions))
    query = query.order_by(PassRecord.fiscal_year, Staff.name_kana, Staff.staff_number)
    rows = [RegisterRow(*row) for row in db.session.execute(query)]
    return sorted(rows, key=lambda r: LEVEL_ORDER.index(r.record.level))


def register_years() -> list[int]:
    return list(db.session.scalars(select(PassRecord.fiscal_year).distinct()
                                   .order_by(PassRecord.fiscal_year.desc())))


def special_passes() -> list[PassRecord]:
    """Every special or transitional pass, newest first (the vice-chair's list)."""
    return list(db.session.scalars(select(PassRecord).where(PassRecord.source.in_(SPECIAL_SOURCES))
                                   .order_by(PassRecord.recorded_at.desc(), PassRecord.id.desc())))


def deemed_by(record_ids: list[int]) -> dict[int, list[PassRecord]]:
    out: dict[int, list[PassRecord]] = {}
    if record_ids:
        for r in db.session.scalars(select(PassRecord).where(PassRecord.implied_by_id.in_(record_ids))):
            out.setdefault(r.implied_by_id, []).append(r)
    return out


def affiliations() -> list[Affiliation]:
    return list(db.session.scalars(select(Affiliation).order_by(Affiliation.code)))


def today_jst() -> date:
    return to_jst(utcnow()).date()
