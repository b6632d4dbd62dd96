"""Tables written as CSV and XLSX files in which no text is ever read as a formula.

Every download and export goes through here (OWASP "CSV injection", CWE-1236): a staff
name such as `=HYPERLINK(...)`, imported by the secretariat, must reach the committee's
spreadsheet as the name, not as a live formula. Text that a spreadsheet would evaluate gets
a leading apostrophe in CSV (Excel shows the rest as text) and is a string cell in XLSX;
numbers (int, float, Decimal) stay numbers and dates stay dates, so a score of -3 is a
number while the name "-2+3" is text."""
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# OWASP's list (= + - @, TAB, CR), with LF beside CR and NUL as ASVS 1.2.10 has it: readers
# that trim leading whitespace would find a formula behind them. The full-width forms too:
# Japanese Excel turns a formula typed with the IME's ＝＋－＠ into a live one, and whether
# its file readers do the same could not be ruled out; an apostrophe before a rare name that
# starts that way costs less than a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0", "＝", "＋", "－", "＠")
NUMBERS = (int, float, Decimal)


def formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def csv_cell(value):
    """A value as a CSV field: numbers as they are, dates in ISO form, text defused."""
    if value is None:
        return ""
    if isinstance(value, NUMBERS):
        return value
    if isinstance(value, date):              # datetime too
        return value.isoformat()
    text = str(value)
    return "'" + text if formula_like(text) else text


def csv_bytes(header: list, rows: list[list]) -> bytes:
    """UTF-8 with a BOM, so Excel on Japanese Windows does not read it as Shift_JIS."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in [header, *rows]:
        writer.writerow([csv_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _put(cell, value) -> None:
    if value is None:
        return
    if isinstance(value, (*NUMBERS, date)):
        cell.value = value
        return
    # Control characters XML cannot hold (openpyxl raises on them) as U+FFFD: text stored
    # before they were refused at input must not make the whole download fail.
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))
    cell.value = text
    # openpyxl stores a str starting with "=" as a formula and "#N/A" as an error: text it is.
    cell.data_type = "s"
    if formula_like(text):
        # What Excel records for a cell typed with a leading ': the text shows as it is,
        # and editing the cell later does not turn it into a formula either.
        cell.quotePrefix = True


def xlsx_bytes(header: list, rows: list[list], title: str = "Sheet1") -> bytes:
    """One sheet: the header in bold and frozen, then the rows."""
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]                    # Excel's limit on a sheet name
    for r, row in enumerate([header, *rows], start=1):
        for c, value in enumerate(row, start=1):
            _put(ws.cell(row=r, column=c), value)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
