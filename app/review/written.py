"""The written part (筆記試験, 第3-5-(3)): scores entered or imported for a session's
candidates only."""
from __future__ import annotations

import unicodedata

from sqlalchemy import select

from scoring.csvtable import CsvImportError, CsvProblem, decode, read_table

from ..core import audit
from ..extensions import db
from ..models import ExamSession, Registration, Staff, User, WrittenScore, utcnow
from ..register.passes import find_staff
from .scoring import ReviewError, session_format


def written_candidates(session: ExamSession) -> list[tuple[Staff | None, User | None, WrittenScore | None]]:
    """Who may get a written score: the session's registered candidates, and anyone who
    already has one. Candidates without a staff record cannot be scored (the written
    score belongs to a staff record)."""
    scores = {w.staff_id: w for w in db.session.scalars(
        select(WrittenScore).where(WrittenScore.session_id == session.id))}
    users = list(db.session.scalars(select(User).join(Registration, Registration.user_id == User.id)
                                    .where(Registration.session_id == session.id)))
    staff_by_user = {s.user_id: s for s in db.session.scalars(
        select(Staff).where(Staff.user_id.in_([u.id for u in users])))} if users else {}
    out, seen = [], set()
    for u in users:
        s = staff_by_user.get(u.id)
        out.append((s, u, scores.get(s.id) if s else None))
        if s:
            seen.add(s.id)
    for staff_id, w in scores.items():
        if staff_id not in seen:
            s = db.session.get(Staff, staff_id)
            out.append((s, s.user, w))
    return sorted(out, key=lambda t: (t[0] is None, t[0].staff_number if t[0] else t[1].username))


def _require_written(session: ExamSession) -> int:
    fmt, written_max = session_format(session.id)
    if fmt not in ("written", "both"):
        raise ReviewError("この実施回には筆記試験がありません。")
    if not written_max:
        raise ReviewError("この実施回の筆記試験の満点が設定されていません。")
    return written_max


def parse_score(text: str, written_max: int) -> int:
    s = unicodedata.normalize("NFKC", text or "").strip()
    if not s.isdigit():
        raise ValueError(f"「{text}」は0以上の整数ではありません")
    value = int(s)
    if value > written_max:
        raise ValueError(f"{value}点は満点（{written_max}点）を超えています")
    return value


def _store_written(session: ExamSession, staff: Staff, score: int, written_max: int, by: User,
                   existing: WrittenScore | None) -> bool:
    """Insert or update one score; True when something changed."""
    if existing is None:
        db.session.add(WrittenScore(session_id=session.id, staff_id=staff.id, score=score,
                                    max_score=written_max, entered_by=by.id, entered_at=utcnow()))
        return True
    if existing.score == score and existing.max_score == written_max:
        return False
    existing.score, existing.max_score = score, written_max
    existing.entered_by, existing.entered_at = by.id, utcnow()
    return True


def save_written_scores(session: ExamSession, entries: dict[int, str], by: User) -> int:
    """Scores typed in the form, keyed by staff id; blank leaves a score as it is. All or
    nothing: any bad value refuses the whole form (ReviewError listing each)."""
    written_max = _require_written(session)
    allowed = {s.id: (s, w) for s, _u, w in written_candidates(session) if s is not None}
    problems, parsed = [], {}
    for staff_id, text in entries.items():
        if staff_id not in allowed:
            problems.append("この実施回の受検者ではない職員が含まれています。")
            continue
        if not (text or "").strip():
            continue
        try:
            parsed[staff_id] = parse_score(text, written_max)
        except ValueError as exc:
            staff = allowed[staff_id][0]
            problems.append(f"{staff.staff_number} {staff.name_kanji}: {exc}")
    if problems:
        raise ReviewError("\n".join(problems))
    changed = sum(_store_written(session, allowed[sid][0], score, written_max, by, allowed[sid][1])
                  for sid, score in parsed.items())
    db.session.flush()
    audit.record("written_scores_entered", by.id, session_id=session.id, changed=changed,
                 scores={allowed[sid][0].staff_number: score for sid, score in parsed.items()})
    return changed


WRITTEN_COLUMNS = ("staff_number", "score")


def import_written_csv(session: ExamSession, raw: bytes, by: User) -> int:
    """`staff_number,score`, all or nothing (CsvImportError with every row's problems)."""
    try:
        written_max = _require_written(session)
    except ReviewError as exc:
        raise CsvImportError([CsvProblem(1, None, str(exc))]) from None
    # The same people the form offers: a score for anyone else would put them in the
    # session's results (and make them certifiable) without ever being registered.
    allowed = {s.staff_number: (s, w) for s, _u, w in written_candidates(session) if s is not None}
    seen: set[str] = set()

    def staff_number(cell: str) -> tuple[Staff, WrittenScore | None]:
        number = unicodedata.normalize("NFKC", cell).strip()
        if number in seen:
            raise ValueError(f"職員番号「{number}」がファイル内で重複しています")
        seen.add(number)
        if number in allowed:
            return allowed[number]
        if find_staff(number) is None:
            raise ValueError(f"職員番号「{number}」は登録されていません")
        raise ValueError(f"職員番号「{number}」の職員はこの実施回の受検者として登録されていません")

    rows = read_table(decode(raw), {"staff_number": staff_number,
                                    "score": lambda c: parse_score(c, written_max)})
    changed = 0
    for _line, v in rows:
        staff, existing = v["staff_number"]
        changed += _store_written(session, staff, v["score"], written_max, by, existing)
    db.session.flush()
    audit.record("written_scores_imported", by.id, session_id=session.id, rows=len(rows),
                 changed=changed)
    return changed
