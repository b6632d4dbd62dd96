"""Formula injection (OWASP "CSV injection"): text that people typed or imported (staff and
affiliation names, user names, question ids) comes out of every CSV with a leading
apostrophe and out of every XLSX as a string cell, never as a formula; numbers stay numbers."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from xml.etree import ElementTree

from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import select

from scoring.jpdate import fiscal_year_label

from app.banks.versions import import_banks
from app.cli.register import register as register_cli
from app.extensions import db
from app.models import ExamSession, Registration, Staff, User, UserRole, utcnow
from app.register.passes import current_fiscal_year
from tests.banktools import BLUEPRINT, question, write_bank
from tests.conftest import Client
from tests.registertools import add_pass, signed_in
from tests.test_people import HEADER as STAFF_HEADER, confirm, upload
from tests.test_register import cli_env  # noqa: F401  (the fixture)
from tests.test_review import sit

# Staff number -> a name the secretariat's file carries.
HOSTILE = {"X00001": '=HYPERLINK("http://x.example","y")', "X00002": "@SUM(1)", "X00003": "+1+1",
           "X00004": "-2+3", "X00005": "＝1+1"}
HOSTILE_AFFILIATION = "-1+2警察署"
# What a spreadsheet may read as the start of a formula.
LIVE = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


# --- the secretariat's imports ---------------------------------------------------------------

def _csv(rows) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


def import_hostile_staff(app) -> dict[str, int]:
    """An affiliation and five staff members with hostile names, imported through the
    browser as the secretariat does (preview, then confirm). Staff number -> staff id."""
    c = signed_in(app, "secretariat1")
    affs = _csv([["code", "name", "head_username"], ["X01", HOSTILE_AFFILIATION, ""]])
    assert confirm(c, upload(c, affs, kind="affiliations").get_data(as_text=True),
                   kind="affiliations").status_code == 302
    staff = _csv([STAFF_HEADER.split(",")] + [
        [number, name, "てすと　たろう", "1990-04-01", "巡査", "X01", "警察官", ""] for number, name in HOSTILE.items()])
    page = upload(c, staff).get_data(as_text=True)
    assert "id=\"count-created\">5件" in page, page
    assert confirm(c, page).status_code == 302
    with app.app_context():
        return {s.staff_number: s.id for s in db.session.scalars(
            select(Staff).where(Staff.staff_number.in_(list(HOSTILE))))}


# --- reading what came out ---------------------------------------------------------------------

def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def assert_no_live_csv_cell(rows: list[list[str]]) -> None:
    """A cell may start like a formula only when it is a number (-0.25)."""
    for row in rows:
        for cell in row:
            if cell.startswith(LIVE):
                float(cell)


def read_xlsx(body: bytes):
    """The first sheet, once the file itself shows no formula element anywhere and every
    hostile text stored as a string. Returns (sheet, the strings the file holds)."""
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        sheet_xml = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
        names = z.namelist()
        shared = z.read("xl/sharedStrings.xml") if "xl/sharedStrings.xml" in names else None
    assert not re.search(r"<(?:\w+:)?f[\s/>]", sheet_xml), "a formula cell in the workbook"
    texts = []
    if shared is not None:
        texts += ["".join(si.itertext()) for si in ElementTree.fromstring(shared).iter(MAIN + "si")]
    texts += ["".join(s.itertext()) for s in ElementTree.fromstring(sheet_xml).iter(MAIN + "is")]
    return load_workbook(io.BytesIO(body)).active, texts


def assert_text_cell(cell, text: str, texts: list[str]) -> None:
    assert cell.value == text and cell.data_type == "s", (cell.coordinate, cell.value, cell.data_type)
    assert text in texts
    # Excel keeps such a cell text even when someone edits it (as if typed with a ').
    assert cell.quotePrefix is (text.startswith(LIVE))


def assert_number_cell(cell, value) -> None:
    assert cell.data_type == "n" and cell.value == value and not isinstance(cell.value, str), \
        (cell.coordinate, cell.value, cell.data_type)


# --- the register (別表第3): page and command -------------------------------------------------

def _with_passes(app) -> int:
    fy = current_fiscal_year()
    for staff_id in import_hostile_staff(app).values():
        add_pass(app, staff_id, "beginner", fy)
    return fy


def _check_register_csv(rows, fy):
    header, by_number = rows[0], {r[8]: r for r in rows[1:]}
    assert set(by_number) == set(HOSTILE)
    for number, name in HOSTILE.items():
        row = by_number[number]
        assert row[header.index("氏名")] == "'" + name
        for affiliation in ("合格時の所属", "現在の所属"):
            assert row[header.index(affiliation)] == "'" + HOSTILE_AFFILIATION
        assert row[header.index("合格年度")] == fiscal_year_label(fy)          # our own text: unchanged
        assert row[header.index("生年月日")] == "1990-04-01"
    assert_no_live_csv_cell(rows)


def _check_register_xlsx(body):
    sheet, texts = read_xlsx(body)
    header = [c.value for c in sheet[1]]
    rows = {r[8].value: r for r in sheet.iter_rows(min_row=2)}
    assert set(rows) == set(HOSTILE)
    for number, name in HOSTILE.items():
        assert_text_cell(rows[number][header.index("氏名")], name, texts)
        assert_text_cell(rows[number][header.index("現在の所属")], HOSTILE_AFFILIATION, texts)
        assert_text_cell(rows[number][header.index("生年月日")], "1990-04-01", texts)


def test_register_downloads_keep_imported_names_as_text(app):
    fy = _with_passes(app)
    c = signed_in(app, "vicechair")
    _check_register_csv(read_csv(c.get("/committee/register/export.csv?level=beginner").get_data()), fy)
    _check_register_xlsx(c.get("/committee/register/export.xlsx?level=beginner").get_data())


def test_register_export_command_keeps_imported_names_as_text(app, cli_env):  # noqa: F811
    fy = _with_passes(app)
    runner = CliRunner()
    out = runner.invoke(register_cli, ["export", "--level", "beginner"])
    assert out.exit_code == 0, out.output
    _check_register_csv(read_csv(out.stdout_bytes), fy)
    target = cli_env / "register.xlsx"
    out = runner.invoke(register_cli, ["export", "--level", "beginner", "--format", "xlsx", "--out", str(target)])
    assert out.exit_code == 0, out.output
    _check_register_xlsx(target.read_bytes())


# --- the audit log ------------------------------------------------------------------------------

def test_audit_csv_keeps_a_hostile_user_name_as_text(app):
    staff_id = import_hostile_staff(app)["X00001"]
    c = signed_in(app, "secretariat1")
    page = c.post_form(f"/admin/staff/{staff_id}/login", {"username": "=1+1"}).get_data(as_text=True)
    password = re.search(r'<code class="password">([^<]+)</code>', page).group(1)
    assert Client(app).login("=1+1", password).status_code == 302
    rows = read_csv(c.get("/admin/audit/export.csv?event=login").get_data())
    header = rows[0]
    [mine] = [r for r in rows[1:] if r[header.index("ユーザーID")] == "'=1+1"]
    assert mine[header.index("氏名")] == "'" + HOSTILE["X00001"]
    assert_no_live_csv_cell(rows)


# --- review and item statistics: a session on a bank whose question ids look like formulas -------

HOSTILE_IDS = ['=HYPERLINK("http://x.example","q")', "@SUM(2)", "+2+2", "-3+4", "＝2+2"]


def _hostile_session(app, tmp_path) -> int:
    """A beginner session on a bank of exactly its six questions (so each is on every form),
    five of them with hostile ids; the hostile staff each sit it, 4 of 6 right."""
    basics = "".join(question(f"'{q}'") for q in HOSTILE_IDS[:3])
    statutes = "".join(question(f"'{q}'", topic="statutes", area="law") for q in [*HOSTILE_IDS[3:], "S-001"])
    deep = "".join(question(f"D-{i:03d}", topic="deep", levels="[intermediate]") for i in range(2))
    folder = write_bank(tmp_path / "hostile-bank", {"basics.yaml": basics, "statutes.yaml": statutes,
                                                     "deep.yaml": deep}, BLUEPRINT)
    staff_ids = import_hostile_staff(app)
    with app.app_context():
        version = import_banks(str(folder))
        now = utcnow()
        session = ExamSession(title="注入の確認", level="beginner", fiscal_year=current_fiscal_year(),
                              opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=1),
                              duration_minutes=10, question_count=6, bank_version_id=version.id)
        db.session.add(session)
        db.session.flush()
        users = []
        for number, staff_id in staff_ids.items():
            # No password: these candidates never sign in (scrypt would dominate the run).
            user = User(username=f"inj{number}", display_name=HOSTILE[number], password_hash="!")
            user.roles.append(UserRole(role="candidate"))
            db.session.add(user)
            db.session.flush()
            db.session.get(Staff, staff_id).user_id = user.id
            db.session.add(Registration(session_id=session.id, user_id=user.id))
            users.append(user.id)
        db.session.commit()
        sid = session.id
    for user_id in users:
        sit(app, sid, user_id, lambda pos, _q: "right" if pos <= 4 else "wrong")
    return sid


def test_review_downloads_keep_names_as_text_and_scores_as_numbers(app, tmp_path):
    sid = _hostile_session(app, tmp_path)
    c = signed_in(app, "vicechair")
    rows = read_csv(c.get(f"/committee/review/sessions/{sid}/export.csv").get_data())
    header, by_number = rows[0], {r[0]: r for r in rows[1:]}
    assert set(by_number) == set(HOSTILE)
    for number, name in HOSTILE.items():
        row = by_number[number]
        assert row[header.index("氏名")] == "'" + name
        assert row[header.index("所属")] == "'" + HOSTILE_AFFILIATION
        assert [row[header.index(h)] for h in ("得点", "満点", "正答率(%)")] == ["4", "6", "66"]
    assert_no_live_csv_cell(rows)

    sheet, texts = read_xlsx(c.get(f"/committee/review/sessions/{sid}/export.xlsx").get_data())
    header = [cell.value for cell in sheet[1]]
    by_number = {r[0].value: r for r in sheet.iter_rows(min_row=2)}
    assert set(by_number) == set(HOSTILE)
    for number, name in HOSTILE.items():
        row = by_number[number]
        assert_text_cell(row[header.index("氏名")], name, texts)
        assert_text_cell(row[header.index("所属")], HOSTILE_AFFILIATION, texts)
        assert_number_cell(row[header.index("得点")], 4)
        assert_number_cell(row[header.index("満点")], 6)
        assert_number_cell(row[header.index("正答率(%)")], 66)


def test_item_statistics_downloads_keep_question_ids_as_text_and_counts_as_numbers(app, tmp_path):
    sid = _hostile_session(app, tmp_path)
    c = signed_in(app, "committee1")
    rows = read_csv(c.get(f"/committee/stats/export.csv?session={sid}").get_data())
    header = rows[0]
    items = {r[0]: r for r in rows[1:] if len(r) == len(header)}
    assert set(items) == {"'" + q for q in HOSTILE_IDS} | {"S-001"}
    assert {r[header.index("出題回数")] for r in items.values()} == {"5"}
    assert ["受検者数", "5"] in rows
    assert_no_live_csv_cell(rows)

    sheet, texts = read_xlsx(c.get(f"/committee/stats/export.xlsx?session={sid}").get_data())
    header = [cell.value for cell in sheet[1]]
    items = {r[0].value: r for r in sheet.iter_rows(min_row=2) if r[2].value}      # not the summary
    assert set(items) == {*HOSTILE_IDS, "S-001"}
    for qid in HOSTILE_IDS:
        assert_text_cell(items[qid][0], qid, texts)
        assert_number_cell(items[qid][header.index("出題回数")], 5)
    [count] = [r for r in sheet.iter_rows(min_row=2) if r[0].value == "受検者数"]
    assert_number_cell(count[1], 5)


# --- the rule itself ---------------------------------------------------------------------------

def test_only_text_is_neutralised_numbers_and_dates_are_not():
    from scoring.spreadsheet import csv_cell
    for text in ("=1+1", "+1", "-2+3", "-3", "@SUM(1)", "\tx", "\rx", "\nx", "＝1+1", "＋1", "－1", "＠x"):
        assert csv_cell(text) == "'" + text
    for text in ("熱田 一郎", "R00001", "2025年度（令和7年度）", "1990-04-01", "a=b", "'quoted", ""):
        assert csv_cell(text) == text
    for number in (-3, 0, 7, -0.25, 1.5, Decimal("-2.50")):
        assert csv_cell(number) == number
    assert csv_cell(None) == ""
    assert csv_cell(date(1990, 4, 1)) == "1990-04-01"
    assert csv_cell(datetime(2025, 4, 1, 9, 30, tzinfo=timezone.utc)) == "2025-04-01T09:30:00+00:00"
