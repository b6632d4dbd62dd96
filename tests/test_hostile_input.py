"""Hostile input: CSV files the csv module cannot read or with cells no import takes; YAML
alias bombs; XML entities. Each gets a clear refusal that says what and where, and nothing
is stored."""
from __future__ import annotations

import html
import io
import re
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from app.cli import main
from app.cli_people import affiliations_group, staff_group
from app.cli_register import passes as passes_cli, training as training_cli
from app.cli_stats import stats as stats_cli
from app.extensions import db
from app.models_register import Affiliation, PassRecord, Staff, TrainingRecord, WrittenScore
from scoring import yamlsrc
from tests.banktools import good_bank, question
from tests.registertools import make_world, signed_in
from tests.test_interop import bank_folder, run_import
from tests.test_people import cli  # noqa: F401  (the fixture: commands on the test database)
from tests.test_review import person, session_id, set_format

STAFF_HEADER = "staff_number,name_kanji,name_kana,birth_date,post,affiliation_code,employment_category,email"
SPECIAL_HEADER = "staff_number,level,source,source_detail,fiscal_year,evidence"
HUGE = 140_000                       # over the csv module's 131,072-character field limit


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


# ---- CSV imports in the browser ---------------------------------------------------------------

def staff_csv(*rows: str) -> str:
    return "\r\n".join([STAFF_HEADER, *rows]) + "\r\n"


def test_staff_import_refuses_a_long_cell_by_row_and_column(app):
    c = signed_in(app, "secretariat1")
    before = count(app, Staff)
    body = staff_csv("300001,新規　一郎,しんき　いちろう,1991-04-01,巡査,101,警察官,",
                     "300003," + "長" * 2500 + ",しんき　さぶろう,1991-04-01,巡査,101,警察官,")
    resp = upload(c, "/admin/import/staff", body)
    assert resp.status_code == 400
    assert problems_shown(resp) == ["3行目「name_kanji」列: 値が長すぎます（2,500文字。2,000文字まで）"]
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
    from app.admin.people import ImportPlan
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
        (affiliations_group, [], "code,name\n801," + "x" * HUGE + "\n", ":2: 1つの項目が長すぎます"),
        (passes_cli, ["--by", "vicechair"], f"{SPECIAL_HEADER}\nR00002,advanced,npa,,R6,{'x' * HUGE}\n",
         ":2: 1つの項目が長すぎます"),
        (training_cli, ["--by", "secretariat1"], "staff_number,attended_on,course\nR00001,2025-06-01,定期\r講習\n",
         ":2: 引用符（\"）で囲まれていない項目の中に改行（CR）があります"),
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


def test_the_author_page_shows_an_alias_bomb_instead_of_failing(app, tmp_path):
    folder = good_bank(tmp_path / "b")
    (folder / "bomb.yaml").write_text(alias_bomb(), encoding="utf-8")
    app.config["BANKS_DIR"] = str(folder)
    c = signed_in(app, "author1")
    started = time.monotonic()
    resp = c.get("/author/")
    assert time.monotonic() - started < 5
    assert resp.status_code == 200
    assert "YAML anchors and aliases (&amp;name / *name) are not allowed in bank files" in resp.get_data(as_text=True)


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
