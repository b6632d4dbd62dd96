"""Table downloads: CSV that Excel opens correctly (UTF-8 with BOM) and XLSX (openpyxl)."""
from __future__ import annotations

import csv
import io
from urllib.parse import quote

from flask import Response
from openpyxl import Workbook
from openpyxl.styles import Font


def _disposition(filename: str) -> str:
    # RFC 6266: an ASCII fallback plus the UTF-8 name, so Japanese file names survive.
    ascii_name = filename.encode("ascii", "ignore").decode() or "export"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def csv_response(filename: str, header: list[str], rows: list[list]) -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    body = "\ufeff" + buf.getvalue()
    return Response(body.encode("utf-8"), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": _disposition(filename)})


def xlsx_response(filename: str, header: list[str], rows: list[list], title: str = "Sheet1") -> Response:
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(row)
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return Response(buf.getvalue(),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": _disposition(filename)})
