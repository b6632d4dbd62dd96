"""Table downloads as HTTP responses; the files themselves are written by scoring.spreadsheet
(CSV that Excel opens correctly, XLSX), which keeps text from being read as a formula."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response

from scoring.spreadsheet import XLSX_MIMETYPE, csv_bytes, xlsx_bytes


def _disposition(filename: str) -> str:
    # RFC 6266: an ASCII fallback plus the UTF-8 name, so Japanese file names survive.
    ascii_name = filename.encode("ascii", "ignore").decode() or "export"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def csv_response(filename: str, header: list[str], rows: list[list]) -> Response:
    return Response(csv_bytes(header, rows), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": _disposition(filename)})


def xlsx_response(filename: str, header: list[str], rows: list[list], title: str = "Sheet1") -> Response:
    return Response(xlsx_bytes(header, rows, title), mimetype=XLSX_MIMETYPE,
                    headers={"Content-Disposition": _disposition(filename)})
