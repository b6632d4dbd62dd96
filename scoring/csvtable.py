"""CSV imports with errors by row and column, all or nothing.

Every import (staff, special passes, training, written scores) reads its file here: the
header must hold exactly the documented columns (in any order), every row is converted
by the caller's per-column parsers, and every problem is collected as (line, column,
message) so the person importing sees them all at once and nothing is written unless
there are none. Excel's UTF-8 with BOM and Shift_JIS (cp932) files are both read."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Callable


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
    except UnicodeDecodeError:
        try:
            return raw.decode("cp932")
        except UnicodeDecodeError:
            raise CsvImportError([CsvProblem(1, None, "文字コードを判別できません（UTF-8またはShift_JISで保存してください）")]) from None


def read_table(text: str, columns: dict[str, Callable[[str], object]],
               optional: set[str] = frozenset()) -> list[tuple[int, dict]]:
    """Rows as (line number, {column: parsed value}). A parser raises ValueError with a
    Japanese message for a bad cell; an optional column may be absent or blank (None)."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise CsvImportError([CsvProblem(1, None, "ファイルが空です")]) from None
    header = [h.strip() for h in header]
    problems: list[CsvProblem] = []
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
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            problems.append(CsvProblem(line, None, f"列の数が見出しと合いません（{len(record)}列、見出しは{len(header)}列）"))
            continue
        raw = dict(zip(header, (cell.strip() for cell in record)))
        values = {}
        for name, parse in columns.items():
            cell = raw.get(name, "")
            if cell == "":
                if name in optional:
                    values[name] = None
                    continue
                problems.append(CsvProblem(line, name, "値が空です"))
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
