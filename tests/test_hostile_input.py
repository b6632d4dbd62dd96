"""Hostile input: control characters in forms, CSV files and banks; CSV files the csv module
cannot read; YAML alias bombs; XML entities. Each gets a clear refusal that says what and
where, and nothing is stored; text stored before these rules never breaks a page or a
download."""
from __future__ import annotations

import hashlib
import html
import io
import re
import time

import pytest
from click.testing import CliRunner
from flask_wtf import FlaskForm
from itsdangerous import URLSafeTimedSerializer
from openpyxl import load_workbook
from sqlalchemy import func, select

from scoring import yamlsrc
from scoring.bank import load_banks

from app.cli.base import main
from app.cli.people import affiliations_group, staff_group
from app.cli.register import passes as passes_cli, training as training_cli
from app.cli.stats import stats as stats_cli
from app.core.forms import AppForm
from app.extensions import db
from app.models import (Affiliation, AuditEvent, PassRecord, PracticeAnswer, Staff, TrainingRecord,
                        WrittenScore)
from tests.banktools import good_bank, question
from tests.conftest import PG_URL, Client
from tests.registertools import add_pass, make_world, signed_in
from tests.test_interop import bank_folder, run_import
from tests.test_people import cli  # noqa: F401  (the fixture: commands on the test database)
from tests.test_review import person, session_id, set_format

STAFF_HEADER = "staff_number,name_kanji,name_kana,birth_date,post,affiliation_code,employment_category,email"
SPECIAL_HEADER = "staff_number,level,source,source_detail,fiscal_year,evidence"
HUGE = 140_000                       # over the csv module's 131,072-character field limit
sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="PostgreSQL cannot hold a NUL: no old data has one")


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def problems_shown(resp) -> list[str]:
    """The CSV problems a page lists, as "N行目「column」列: message" (the register's pages
    show them as a table)."""
    page = resp.get_data(as_text=True)
    rows = re.findall(r"<tr><td>(\d+行目)</td><td>(.*?)</td><td>(.*?)</td></tr>", page)
    return [html.unescape(p) for p in re.findall(r'<li class="error">(.*?)</li>', page)] + [
        html.unescape(f"{line}: {message}" if column == "—" else f"{line}「{column}」列: {message}")
        for line, column, message in rows]


def upload(c, url: str, body: str | bytes, name="x.csv", **extra):
    raw = body.encode("utf-8") if isinstance(body, str) else body
    return c.post_form(url, {"file": (io.BytesIO(raw), name), **extra}, content_type="multipart/form-data")


# ---- forms --------------------------------------------------------------------------------

def test_every_form_refuses_control_characters_by_inheritance(app):
    """The rule is in AppForm; a form built on Flask-WTF directly would not have it."""
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)
    ours = [f for f in subclasses(FlaskForm) if f.__module__.startswith("app.")]
    assert len(ours) > 20
    assert [f"{f.__module__}.{f.__name__}" for f in ours if not issubclass(f, AppForm)] == []


@pytest.mark.parametrize("ch", ["\x00", "\x01", "\t", "\n", "\x1f", "\x7f", "\x85", "\x9f",
                                "\u2028", "\u2029", "\u202a", "\u202e", "\u2066", "\u2069", "\ufffe"])
def test_a_control_character_in_a_staff_name_is_refused_naming_the_field(app, ch):
    c = signed_in(app, "secretariat1")
    c.get("/admin/staff/new")
    before = count(app, Staff)
    resp = c.post_form("/admin/staff/new", {
        "staff_number": "300001", "name_kanji": f"悪い{ch}名前", "name_kana": "わるい　なまえ",
        "birth_date": "1985-07-01", "post": "巡査", "affiliation": "0",
        "employment_category": "職員以外", "email": ""})
    assert resp.status_code == 200
    assert f"氏名（漢字）に使用できない制御文字（U+{ord(ch):04X}" in resp.get_data(as_text=True)
    assert count(app, Staff) == before
    assert c.get("/admin/staff").status_code == 200


def test_a_nul_in_an_affiliation_name_is_refused_and_later_requests_work(app):
    c = signed_in(app, "secretariat1")
    c.get("/admin/affiliations/new")
    resp = c.post_form("/admin/affiliations/new", {"code": "999", "name": "悪い\x00所属", "head": "0",
                                                   "active": "y"})
    assert resp.status_code == 200
    assert "所属名に使用できない制御文字（U+0000）が含まれています。" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Affiliation).where(Affiliation.code == "999")) is None
    assert c.get("/admin/affiliations").status_code == 200
    assert c.get("/committee/register/export.xlsx").status_code == 200


def test_multi_line_fields_take_tabs_and_newlines_but_not_other_controls(app):
    w = make_world(app)
    c = signed_in(app, "vicechair")
    form = {"staff_number": "R00002", "level": "advanced", "source": "npa", "source_detail": "",
            "fiscal_year": "R6", "affiliation_at_pass": ""}
    resp = c.post_form("/committee/register/special", {**form, "evidence": "合格証\x00第1号"})
    assert resp.status_code == 400
    assert "根拠資料（合格証、通知文書の番号等）に使用できない制御文字（U+0000）" in resp.get_data(as_text=True)
    # A one-line field takes no newline, even where a multi-line one does.
    resp = c.post_form("/committee/register/special", {**form, "source_detail": "岐阜\n県",
                                                       "evidence": "合格証"})
    assert resp.status_code == 400 and "（U+000A 改行）" in resp.get_data(as_text=True)
    assert count(app, PassRecord) == 0
    resp = c.post_form("/committee/register/special", {**form, "evidence": "合格証\r\n\t第1号"})
    assert resp.status_code == 302
    with app.app_context():
        record = db.session.scalar(select(PassRecord).where(PassRecord.staff_id == w.s2,
                                                            PassRecord.level == "advanced"))
        assert record.evidence == "合格証\n\t第1号"          # CRLF as LF; the tab kept


@pytest.mark.parametrize("username", ["candidate1\x00", "\x00", "candi\u202edate1", "candidate1\t"])
def test_sign_in_with_a_control_character_is_refused_cleanly(app, username):
    c = Client(app)
    c.get("/login")
    resp = c.post_form("/login", {"username": username, "password": "x"})
    assert resp.status_code == 200
    assert "ユーザーIDに使用できない制御文字" in resp.get_data(as_text=True)
    assert c.get("/exam/").status_code == 302                  # still signed out
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.event == "login_failed")) == 0


def test_a_control_character_in_a_search_is_refused(app):
    c = signed_in(app, "secretariat1")
    for url in ("/admin/staff?q=%00", "/admin/audit?user=a%E2%80%AEb", "/committee/register/?q=%01"):
        resp = c.get(url)
        assert resp.status_code == 400, url
        assert "使用できない制御文字" in resp.get_data(as_text=True)
    assert c.get("/admin/staff?q=%E6%84%9B%E7%9F%A5").status_code == 200


def test_a_text_answer_with_a_control_character_is_refused(app, candidate):
    """Practice and the exam's answer saves check a response in one place (coerce_response)."""
    candidate.get("/exam/practice/")
    answer = {"question_id": "LAW-0040", "level": "beginner", "topic": "law_procedure"}
    resp = candidate.post_form("/exam/practice/answer", {**answer, "r1": "443\x01"})
    assert resp.status_code == 400
    assert "解答に使用できない制御文字（U+0001）が含まれています。" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PracticeAnswer)) == 0
    assert candidate.post_form("/exam/practice/answer", {**answer, "r1": "443"}).status_code == 200


# ---- text stored before the rule ------------------------------------------------------------

def test_a_nul_in_a_flash_message_does_not_break_the_next_requests(app):
    """The session cookie was read with the request-body JSON parser, which refuses NUL: a
    flash quoting stored text made every later request of that browser a 500."""
    c = signed_in(app, "secretariat1")
    with c.http.session_transaction() as session:
        session["_flashes"] = [("info", "所属「悪い\x00所属」を保存しました。")]
    resp = c.get("/admin/affiliations")
    assert resp.status_code == 200 and "を保存しました" in resp.get_data(as_text=True)
    assert c.get("/admin/affiliations").status_code == 200


def test_an_unreadable_session_cookie_starts_a_fresh_session(app):
    class NotJson:
        @staticmethod
        def dumps(_value):
            return "{not json"
    bad = URLSafeTimedSerializer(app.secret_key, salt="cookie-session", serializer=NotJson,
                                 signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1})
    c = Client(app)
    c.http.set_cookie("session", bad.dumps({}))
    resp = c.get("/login")
    assert resp.status_code == 200


@sqlite_only
def test_a_nul_already_stored_breaks_neither_another_users_flash_nor_the_xlsx(app):
    w = make_world(app)
    with app.app_context():
        db.session.get(Staff, w.s2).name_kanji = "瑞穂\x00花子\x01"
        db.session.commit()
    c = signed_in(app, "vicechair")
    resp = c.post_form("/committee/register/special", {
        "staff_number": "R00002", "level": "beginner", "source": "npa", "source_detail": "",
        "fiscal_year": "R6", "evidence": "合格証", "affiliation_at_pass": ""})
    assert resp.status_code == 302
    assert c.get("/committee/register/special").status_code == 200     # shows the flash
    assert c.get("/committee/register/").status_code == 200
    resp = c.get("/committee/register/export.xlsx")
    assert resp.status_code == 200
    cells = [v for row in load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True) for v in row]
    assert "瑞穂\ufffd花子\ufffd" in cells


def test_the_xlsx_export_replaces_what_xml_cannot_hold(app, cli, tmp_path):
    w = make_world(app)
    with app.app_context():
        db.session.get(Staff, w.s1).name_kanji = "熱田\x01一郎\x1b"
        db.session.commit()
    add_pass(app, w.s1, "beginner")
    c = signed_in(app, "committee1")
    resp = c.get("/committee/register/export.xlsx")
    assert resp.status_code == 200
    cells = [v for row in load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True) for v in row]
    assert "熱田\ufffd一郎\ufffd" in cells
    out = tmp_path / "r.xlsx"
    result = cli(main, "register", "export", "--level", "beginner", "--format", "xlsx", "--out", out)
    assert result.exit_code == 0, result.output
    cells = [v for row in load_workbook(out).active.iter_rows(values_only=True) for v in row]
    assert "熱田\ufffd一郎\ufffd" in cells


# ---- CSV imports in the browser ---------------------------------------------------------------

def staff_csv(*rows: str) -> str:
    return "\r\n".join([STAFF_HEADER, *rows]) + "\r\n"


def test_staff_import_refuses_control_characters_and_long_cells_by_row_and_column(app):
    c = signed_in(app, "secretariat1")
    before = count(app, Staff)
    body = staff_csv("300001,悪い\x00名前,わるい　なまえ,1991-04-01,巡査,101,警察官,",
                     "300002,新規　二郎,しんき　じろう,1991-04-01,巡査\u202e,101,警察官,",
                     "300003," + "長" * 2500 + ",しんき　さぶろう,1991-04-01,巡査,101,警察官,")
    resp = upload(c, "/admin/import/staff", body)
    assert resp.status_code == 400
    assert problems_shown(resp) == [
        "2行目「name_kanji」列: 使用できない制御文字（U+0000）が含まれています",
        "3行目「post」列: 使用できない制御文字（U+202E）が含まれています",
        "4行目「name_kanji」列: 値が長すぎます（2,500文字。2,000文字まで）"]
    assert count(app, Staff) == before


@pytest.mark.parametrize("kind, body", [
    ("staff", staff_csv("300001,新規　一郎,しんき　いちろう,1991-04-01,巡査,101,警察官,",
                        "300002," + "x" * HUGE + ",しんき　じろう,1991-04-01,巡査,101,警察官,",
                        "300003,新規　三郎,しんき　さぶろう,1991-04-01,巡査,101,警察官,")),
    ("affiliations", "code,name,head_username\r\n801,一,\r\n802," + "x" * HUGE + ",\r\n803,三,\r\n"),
], ids=["staff", "affiliations"])
def test_admin_imports_answer_a_field_over_the_csv_limit_by_row(app, kind, body):
    c = signed_in(app, "secretariat1")
    before = count(app, Staff), count(app, Affiliation)
    resp = upload(c, f"/admin/import/{kind}", body)
    assert resp.status_code == 400
    assert problems_shown(resp) == ["3行目: 1つの項目が長すぎます（131,072文字を超えています。2,000文字まで）"]
    assert (count(app, Staff), count(app, Affiliation)) == before


def test_the_import_confirmation_rereads_the_file_with_the_same_rules(app):
    """The confirmation carries the file back: a tampered one is refused the same way."""
    from app.people.imports import ImportPlan
    c = signed_in(app, "secretariat1")
    before = count(app, Staff)
    c.get("/admin/import/staff")
    body = staff_csv("300001,新規　一郎,しんき　いちろう,1991-04-01,巡査,101,警察官,",
                     "300002,x,しんき　じろう,1991-04-01,巡査,101,警察官," + "x" * HUGE)
    payload = ImportPlan("staff", body, []).payload
    resp = c.post_form("/admin/import/staff/confirm", {"payload": payload, "fingerprint": "0" * 64,
                                                      "filename": "x.csv"})
    assert resp.status_code == 400
    assert problems_shown(resp) == ["3行目: 1つの項目が長すぎます（131,072文字を超えています。2,000文字まで）"]
    assert count(app, Staff) == before


def test_register_imports_answer_malformed_csv_by_row(app):
    make_world(app)
    vicechair, secretariat = signed_in(app, "vicechair"), signed_in(app, "secretariat1")
    huge = upload(vicechair, "/committee/register/special/import",
                  f"{SPECIAL_HEADER}\nR00002,advanced,npa,,R6,x\nR00003,advanced,npa,,R6,{'x' * HUGE}\n")
    assert huge.status_code == 400
    assert problems_shown(huge) == ["3行目: 1つの項目が長すぎます（131,072文字を超えています。2,000文字まで）"]
    nul = upload(vicechair, "/committee/register/special/import",
                 f'{SPECIAL_HEADER}\nR00002,advanced,npa,,R6,"証\r\n\t第1号"\nR00003,advanced,npa,\x00,R6,x\n')
    assert problems_shown(nul) == ["4行目「source_detail」列: 使用できない制御文字（U+0000）が含まれています"]
    cr = upload(secretariat, "/committee/register/training/import",
                "staff_number,attended_on,course\nR00001,2025-06-01,定期\rR00002,2025-06-01,定期\n")
    assert cr.status_code == 400
    assert problems_shown(cr) == ['2行目: 引用符（"）で囲まれていない項目の中に改行（CR）があります']
    huge = upload(secretariat, "/committee/register/training/import",
                  "staff_number,attended_on,course\nR00001,2025-06-01," + "x" * HUGE + "\n")
    assert problems_shown(huge) == ["2行目: 1つの項目が長すぎます（131,072文字を超えています。2,000文字まで）"]
    binary = upload(secretariat, "/committee/register/training/import",
                    b"staff_number,attended_on,course\nR00001,2025-06-01,a\nR00002,2025-06-01,\x81 \n")
    assert problems_shown(binary) == ["3行目: 文字コードを判別できません（UTF-8またはShift_JISで保存してください）"]
    assert count(app, PassRecord) == 0 and count(app, TrainingRecord) == 0
    assert vicechair.get("/committee/register/special").status_code == 200


def test_written_score_import_answers_malformed_csv_by_row(app):
    sid = session_id(app, "intermediate")
    set_format(app, sid, "written", 100)
    person(app, "hx0", "H0000", register_in=sid)
    c = signed_in(app, "chair")
    url = f"/committee/review/sessions/{sid}/written/import"
    resp = upload(c, url, "staff_number,score\nH0000,80\n" + "9" * HUGE + ",1\n")
    assert resp.status_code == 400
    assert problems_shown(resp) == ["3行目: 1つの項目が長すぎます（131,072文字を超えています。2,000文字まで）"]
    resp = upload(c, url, "staff_number,score\nH0000\x00,80\n")
    assert problems_shown(resp) == ["2行目「staff_number」列: 使用できない制御文字（U+0000）が含まれています"]
    assert count(app, WrittenScore) == 0


def test_an_upload_over_the_request_limit_is_a_clean_413(app):
    c = signed_in(app, "secretariat1")
    c.get("/admin/import/staff")
    resp = upload(c, "/admin/import/staff", staff_csv("3," + "x" * 300_000))
    assert resp.status_code == 413
    assert "送信内容が大きすぎます（上限 256KB）" in resp.get_data(as_text=True)


# ---- CSV on the command line -----------------------------------------------------------------

def test_cli_imports_answer_malformed_csv_by_file_and_line(app, cli, tmp_path):
    make_world(app)
    before = count(app, Staff), count(app, Affiliation), count(app, PassRecord), count(app, TrainingRecord)
    cases = [
        (staff_group, [], staff_csv("300001,新規　一郎,しんき　いちろう,1991-04-01,巡査,101,警察官,",
                                    "300002," + "x" * HUGE + ",しんき,1991-04-01,巡査,101,警察官,"),
         ":3: 1つの項目が長すぎます"),
        (staff_group, [], staff_csv("300001,新規\x00一郎,しんき　いちろう,1991-04-01,巡査,101,警察官,"),
         ":2: name_kanji: 使用できない制御文字（U+0000）が含まれています"),
        (affiliations_group, [], "code,name\n801," + "x" * HUGE + "\n", ":2: 1つの項目が長すぎます"),
        (passes_cli, ["--by", "vicechair"], f"{SPECIAL_HEADER}\nR00002,advanced,npa,,R6,{'x' * HUGE}\n",
         ":2: 1つの項目が長すぎます"),
        (training_cli, ["--by", "secretariat1"], "staff_number,attended_on,course\nR00001,2025-06-01,定期\u2028講習\n",
         ":2: course: 使用できない制御文字（U+2028）が含まれています"),
    ]
    for i, (group, options, body, expected) in enumerate(cases):
        path = tmp_path / f"f{i}.csv"
        path.write_text(body, encoding="utf-8")
        result = cli(group, "import", path, *options)
        assert result.exit_code == 1, result.output
        assert f"{path}{expected}" in result.output and "nothing" in result.output
    assert (count(app, Staff), count(app, Affiliation), count(app, PassRecord), count(app, TrainingRecord)) == before


def test_stats_answers_malformed_csv_by_line(tmp_path):
    header = "candidate,item,choice,correct\n"
    cases = [(header + "c1,i1,a,1\nc2," + "x" * HUGE + ",a,1\n", "line 3: a field is longer than 131072 characters"),
             (header + "c1,i1,a,1\nc\x002,i1,a,1\n", "line 3, column 'candidate': control character U+0000"),
             (header + "c1,i1,a,1\nc2," + "x" * 3000 + ",a,1\n", "line 3, column 'item': 3000 characters, at most 2000")]
    for i, (body, expected) in enumerate(cases):
        path = tmp_path / f"r{i}.csv"
        path.write_text(body, encoding="utf-8")
        result = CliRunner().invoke(stats_cli, ["--responses", str(path)])
        assert result.exit_code == 1 and f"{path}: {expected}" in result.output, result.output


# ---- YAML banks ------------------------------------------------------------------------------

def alias_bomb(depth: int = 9) -> str:
    """A billion laughs: 9**depth strings from a file of about 1 KB, as a question's id."""
    lines = ['- id: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"  x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, depth)]
    lines += [f"- id: *a{depth - 1}"]
    return "\n".join(lines) + "\n"


def validate(folder):
    result = CliRunner().invoke(main, ["bank", "validate", "--banks", str(folder)])
    return result.exit_code, result.output


def test_an_alias_bomb_is_refused_at_once_with_its_line(tmp_path):
    folder = good_bank(tmp_path / "b")
    (folder / "bomb.yaml").write_text(alias_bomb(), encoding="utf-8")
    started = time.monotonic()
    code, out = validate(folder)
    assert time.monotonic() - started < 5          # it used to take gigabytes and minutes
    assert code == 1
    assert f"{folder / 'bomb.yaml'}:1: YAML anchors and aliases (&name / *name) are not allowed in bank files" in out
    started = time.monotonic()
    with pytest.raises(yamlsrc.YamlSyntaxError):
        yamlsrc.load(alias_bomb(12))
    assert time.monotonic() - started < 0.5


def test_a_small_alias_is_refused_too_and_the_blueprint_alike(tmp_path):
    body = question("AL-1") + "  - id: AL-2\n    area: net\n    topic: &t basics\n    levels: [beginner]\n"
    folder = good_bank(tmp_path / "b")
    (folder / "alias.yaml").write_text(body, encoding="utf-8")
    code, out = validate(folder)
    assert code == 1
    line = body[: body.index("&t")].count("\n") + 1
    assert f"{folder / 'alias.yaml'}:{line}: YAML anchors and aliases" in out
    blueprint = (folder / "blueprint.yaml").read_text(encoding="utf-8")
    (folder / "blueprint.yaml").write_text(blueprint.replace("deep: {name: 応用, from: intermediate}",
                                                             "deep: *x"), encoding="utf-8")
    code, out = validate(folder)
    assert code == 1
    line = blueprint[: blueprint.index("deep:")].count("\n") + 1
    assert f"{folder / 'blueprint.yaml'}:{line}: YAML anchors and aliases" in out


def test_control_characters_in_a_bank_name_their_line(tmp_path):
    raw = question("CC-1").replace("stem: 問題 CC-1", "stem: 問題\x00です")
    escaped = question("CC-2").replace("stem: 問題 CC-2", 'stem: "右から左\\u202e"')
    separator = question("CC-3").replace("explanation: 解説", "explanation: |\n      一行目\u2028二行目")
    fine = question("CC-4").replace("explanation: 解説", "explanation: |\r\n      一行目\r\n      \t二行目")
    folder = good_bank(tmp_path / "b")
    for name, body, needle, cp in (("raw.yaml", raw, "stem", "U+0000"), ("escaped.yaml", escaped, "stem", "U+202E"),
                                   ("separator.yaml", separator, "二行目", "U+2028")):
        (folder / name).write_text(body, encoding="utf-8")
    (folder / "fine.yaml").write_text(fine, encoding="utf-8")
    code, out = validate(folder)
    assert code == 1
    for name, body, needle, cp in (("raw.yaml", raw, "stem", "U+0000"), ("escaped.yaml", escaped, "stem", "U+202E"),
                                   ("separator.yaml", separator, "二行目", "U+2028")):
        line = body[: body.index(needle)].count("\n") + 1
        assert f"{folder / name}:{line}: control character {cp} is not allowed" in out, out
    assert "fine.yaml" not in out
    assert not load_banks(str(folder)).ok                     # the banks are refused whole
    for name in ("raw.yaml", "escaped.yaml", "separator.yaml"):
        (folder / name).unlink()
    loaded = load_banks(str(folder))
    assert loaded.ok and loaded.questions["CC-4"].explanation == "一行目\n\t二行目\n"


def test_the_author_page_shows_an_alias_bomb_instead_of_failing(app, tmp_path):
    folder = good_bank(tmp_path / "b")
    (folder / "bomb.yaml").write_text(alias_bomb(), encoding="utf-8")
    app.config["BANKS_DIR"] = str(folder)
    c = signed_in(app, "author1")
    started = time.monotonic()
    resp = c.get("/author/")
    assert time.monotonic() - started < 5
    assert resp.status_code == 200
    # The preview speaks Japanese; the command line keeps the English line (bank-format.md).
    assert "YAML のアンカーとエイリアス（&amp;name / *name）は問題ファイルでは使えません" in resp.get_data(as_text=True)


# ---- Moodle XML ----------------------------------------------------------------------------

def test_moodle_xml_external_entities_are_refused(tmp_path):
    """The Moodle XML reader refuses any DOCTYPE before expat could read an entity."""
    xxe = tmp_path / "xxe.xml"
    xxe.write_text('<?xml version="1.0"?>\n<!DOCTYPE quiz [\n<!ENTITY x SYSTEM "file:///etc/passwd">\n]>\n'
                   '<quiz><question type="truefalse"><name><text>&x;</text></name></question></quiz>\n',
                   encoding="utf-8")
    folder = bank_folder(tmp_path / "banks")
    result = run_import(xxe, folder, folder / "xxe.yaml", "X")
    assert result.exit_code == 1 and not (folder / "xxe.yaml").exists()
    assert f"{xxe}:2: a DOCTYPE declaration refused" in result.stderr
    assert "root:" not in result.output
