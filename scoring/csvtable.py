"""CSV imports with errors by row and column, all or nothing.

Every import (staff, special passes, training, written scores) reads its file here: the
header must hold exactly the documented columns (in any order), every row is converted
by the caller's per-column parsers, and every problem is collected as (line, column,
message) so the person importing sees them all at once and nothing is written unless
there are none. Excel's UTF-8 with BOM and Shift_JIS (cp932) files are both read. A file
the csv module cannot read (a field over its 131,072-character limit, say) is a problem
by row like any other, never an exception."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Callable, Iterator

from . import controlchars

# The longest value any import takes is a special pass's evidence (2,000 characters in the
# form); a longer cell is a mistake (a stray quote swallowing the rest of the file, say).
CELL_MAX = 2000


@dataclass(frozen=True)
class CsvProblem:
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.line}行目" + (f"「{self.column}」列" if self.column else "")
        return f"{where}: {self.message}"


class CsvImportError(Exception):
    def __init__(self, problems: list[CsvProblem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM), else Shift_JIS as Excel on Japanese Windows saves it."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as utf8:
        try:
            return raw.decode("cp932")
        except UnicodeDecodeError as sjis:
            # The line where the encoding that read further stopped: most likely the
            # file's own encoding, broken there.
            line = raw[:max(utf8.start, sjis.start)].count(b"\n") + 1
            raise CsvImportError([CsvProblem(line, None, "文字コードを判別できません（UTF-8またはShift_JISで保存してください）")]) from None


def _records(text: str) -> Iterator[tuple[int, list[str] | None, CsvProblem | None]]:
    """(line, record, None) for each record, the line being where the record ends; at the
    first record the csv module cannot read, (line, None, problem) with the line where
    that record starts, and nothing after it (the reader cannot find the next record)."""
    reader = csv.reader(io.StringIO(text))
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                message = f"1つの項目が長すぎます（{csv.field_size_limit():,}文字を超えています。{CELL_MAX:,}文字まで）"
            elif "new-line character seen in unquoted field" in str(exc):
                message = "引用符（\"）で囲まれていない項目の中に改行（CR）があります"
            else:
                message = f"CSVとして読めません（{exc}）"
            yield start, None, CsvProblem(start, None, message)
            return
        yield reader.line_num, record, None


def raw_rows(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and well-formed data rows as (line, {column: stripped cell}), as far as the
    file can be read. Cross-row checks (duplicates) read these, so they are reported even
    when read_table finds cell problems too; read_table reports what is unreadable."""
    header: list[str] | None = None
    rows = []
    for line, record, problem in _records(text):
        if problem is not None:
            break
        if header is None:
            header = [h.strip() for h in record]
        elif any(c.strip() for c in record) and len(record) == len(header):
            rows.append((line, dict(zip(header, (c.strip() for c in record)))))
    return header or [], rows


def _cell_problem(cell: str, multiline: bool) -> str | None:
    if len(cell) > CELL_MAX:
        return f"値が長すぎます（{len(cell):,}文字。{CELL_MAX:,}文字まで）"
    at = controlchars.find_forbidden(cell, multiline)
    return None if at < 0 else controlchars.message_ja(cell[at]).rstrip("。")


def read_table(text: str, columns: dict[str, Callable[[str], object]],
               optional: set[str] = frozenset(),
               multiline: set[str] = frozenset()) -> list[tuple[int, dict]]:
    """Rows as (line number, {column: parsed value}). A parser raises ValueError with a
    Japanese message for a bad cell; an optional column may be absent or blank (None). A
    cell longer than CELL_MAX or holding a refused character (scoring/controlchars.py; TAB
    and newlines only in a `multiline` column) is a problem and never reaches its parser."""
    records = _records(text)
    first = next(records, None)
    if first is None:
        raise CsvImportError([CsvProblem(1, None, "ファイルが空です")])
    if first[2] is not None:
        raise CsvImportError([first[2]])
    header = [h.strip() for h in first[1]]
    problems: list[CsvProblem] = []
    for i, h in enumerate(header):
        problem = _cell_problem(h, False)
        if problem:
            problems.append(CsvProblem(1, None, f"{i + 1}列目の見出し: {problem}"))
    if problems:
        raise CsvImportError(problems)
    required = [c for c in columns if c not in optional]
    missing = [c for c in required if c not in header]
    unknown = [h for h in header if h not in columns]
    dup = sorted({h for h in header if header.count(h) > 1})
    if missing:
        problems.append(CsvProblem(1, None, "必要な列がありません: " + "、".join(missing)))
    if unknown:
        problems.append(CsvProblem(1, None, "不明な列があります: " + "、".join(unknown)
                                   + "（使える列: " + "、".join(columns) + "）"))
    if dup:
        problems.append(CsvProblem(1, None, "列名が重複しています: " + "、".join(dup)))
    if problems:
        raise CsvImportError(problems)
    rows = []
    for line, record, unreadable in records:
        if unreadable is not None:
            problems.append(unreadable)
            break
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            problems.append(CsvProblem(line, None, f"列の数が見出しと合いません（{len(record)}列、見出しは{len(header)}列）"))
            continue
        raw = dict(zip(header, (cell.strip() for cell in record)))
        values = {}
        for name, parse in columns.items():
            cell = raw.get(name, "")
            if name in multiline:
                cell = controlchars.normalise_newlines(cell)
            if cell == "":
                if name in optional:
                    values[name] = None
                    continue
                problems.append(CsvProblem(line, name, "値が空です"))
                continue
            bad = _cell_problem(cell, name in multiline)
            if bad:
                problems.append(CsvProblem(line, name, bad))
                continue
            try:
                values[name] = parse(cell)
            except ValueError as exc:
                problems.append(CsvProblem(line, name, str(exc)))
        rows.append((line, values))
    if problems:
        raise CsvImportError(problems)
    if not rows:
        raise CsvImportError([CsvProblem(2, None, "データ行がありません")])
    return rows
