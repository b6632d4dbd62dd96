"""The register (別表第3) and special passes (第3-7, 第4): who may see and change them, the
columns and exports, the levels a special pass deems passed, CSV imports that name every
problem and write nothing, and the same from the command line."""
from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import func, select

from scoring.jpdate import fiscal_year_label
from scoring.passrules import deemed_levels, kana_variants, parse_fiscal_year, parse_level

from app.cli.register import passes as passes_cli, register as register_cli
from app.extensions import db
from app.models import AuditEvent, Notice, PassRecord, Staff
from app.register.passes import REGISTER_HEADER, current_fiscal_year
from tests.registertools import DEMO_USERS, add_pass, make_world, signed_in, user_id


def count(app) -> int:
    """Pass records of the test's own people (the demo may hold others)."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(PassRecord).join(Staff)
                                 .where(Staff.staff_number.like("R%")))


def audit_events(app, event: str) -> list[dict]:
    with app.app_context():
        return [json.loads(e.detail_json) for e in
                db.session.scalars(select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id))]


# ---- pure rules ------------------------------------------------------------------------

@pytest.mark.parametrize("text,year", [("2025", 2025), ("2025年度", 2025), ("令和7", 2025), ("令和7年度", 2025),
                                       ("R7", 2025), ("r7", 2025), ("Ｒ７", 2025), ("令和元年度", 2019),
                                       ("H30", 2018), ("平成31年度", 2019), ("昭和63", 1988)])
def test_fiscal_years_are_read_as_offices_write_them(text, year):
    assert parse_fiscal_year(text) == year


@pytest.mark.parametrize("text", ["令和0", "平成32", "R", "2025-04", "1800", "来年", ""])
def test_impossible_fiscal_years_are_refused(text):
    with pytest.raises(ValueError):
        parse_fiscal_year(text)


def test_levels_rules_and_kana():
    assert parse_level("初級") == "beginner" and parse_level(" Advanced ") == "advanced"
    with pytest.raises(ValueError, match="級位"):
        parse_level("特級")
    assert deemed_levels("advanced", set()) == ["beginner", "intermediate"]
    assert deemed_levels("advanced", {"beginner"}) == ["intermediate"]
    assert deemed_levels("beginner", set()) == []
    assert {"あいち", "アイチ"} <= kana_variants("アイチ")


# ---- access -----------------------------------------------------------------------------

VIEW = {"committee1", "vicechair", "chair", "secretariat1"}
EDIT = {"vicechair", "chair"}


def test_every_route_admits_only_its_roles(app):
    w = make_world(app)
    rec = add_pass(app, w.s1, "beginner")
    with app.app_context():
        db.session.add(Notice(pass_record_id=rec, affiliation_id=w.central, created_by=w.vicechair))
        db.session.commit()
        notice_id = db.session.scalar(select(Notice.id))
    gets = {"/committee/register/": VIEW, "/committee/register/export.csv": VIEW,
            "/committee/register/export.xlsx": VIEW, "/committee/register/special": VIEW,
            "/committee/register/training": VIEW, "/committee/register/notices": EDIT,
            f"/committee/register/notices/print?id={notice_id}": EDIT,
            "/committee/register/notices/print.css": EDIT,
            "/head/": {"head1"}, f"/head/staff/{w.s1}": {"head1"}}
    posts = {"/committee/register/special": EDIT, "/committee/register/special/import": EDIT,
             f"/committee/register/special/{rec}/revoke": EDIT,
             f"/committee/register/notices/{notice_id}/resend": EDIT,
             "/committee/register/training": {"secretariat1"},
             "/committee/register/training/import": {"secretariat1"},
             f"/head/notices/{notice_id}/read": {"head1"}}
    for username in DEMO_USERS:
        c = signed_in(app, username)
        for url, allowed in gets.items():
            status = c.get(url).status_code
            assert status == (200 if username in allowed else 403), (username, url, status)
        for url, allowed in posts.items():
            status = c.post_form(url, {}).status_code
            if username in allowed:
                assert status not in (403, 404, 500), (username, url, status)
            else:
                assert status == 403, (username, url, status)
    refused = audit_events(app, "forbidden")
    assert {"path": "/committee/register/", "method": "GET"}.items() <= refused[0].items()
    assert len(refused) == sum(len(set(DEMO_USERS) - a) for a in [*gets.values(), *posts.values()])
    # The empty posts above changed nothing.
    assert count(app) == 1


def test_signed_out_visitors_go_to_the_sign_in_page(app):
    resp = app.test_client().get("/committee/register/")
    assert resp.status_code == 302 and "/login" in resp.location


# ---- the register -----------------------------------------------------------------------

def test_register_shows_every_column_of_table_3_and_filters(app):
    w = make_world(app)
    fy = current_fiscal_year()
    add_pass(app, w.s1, "beginner", fy - 1, affiliation_at_pass=w.north)
    add_pass(app, w.s1, "intermediate", fy)
    add_pass(app, w.s3, "beginner", fy, source="other_prefecture", source_detail="岐阜県警察")
    page = signed_in(app, "committee1").get("/committee/register/?level=beginner").get_data(as_text=True)
    row = page[page.index("熱田 一郎") - 400:]
    for cell in ["初級", fiscal_year_label(fy - 1), "港警察署", "栄警察署", "巡査部長", "あつた いちろう",
                 "1985年4月1日（昭和60年4月1日）", "R00001", "本県の検定"]:
        assert cell in row, cell
    assert "他都道府県警察の検定</span> 岐阜県警察" in page
    assert "中級" not in page.split("<tbody>")[1]              # the level filter holds
    c = signed_in(app, "secretariat1")

    def names(query):
        body = c.get("/committee/register/?" + query).get_data(as_text=True).split("<tbody>")[1]
        return {n for n in ("熱田 一郎", "守山 次郎") if n in body}, body.count("<tr>")

    assert names("q=R0") == ({"熱田 一郎", "守山 次郎"}, 3)
    assert names(f"q=R0&fiscal_year={fy - 1}") == ({"熱田 一郎"}, 1)
    assert names("q=R0&source=other_prefecture") == ({"守山 次郎"}, 1)
    assert names(f"affiliation={w.north}") == ({"守山 次郎"}, 1)
    assert names("q=モリヤマ") == ({"守山 次郎"}, 1)                 # katakana finds ふりがな
    assert names("q=熱田一郎") == ({"熱田 一郎"}, 2)               # spaces do not matter
    assert names("q=00003") == ({"守山 次郎"}, 1)                 # staff number
    assert names("q=%25") == (set(), 1)                           # a LIKE wildcard is literal


def test_exports_hold_the_register_as_csv_with_bom_and_xlsx(app):
    w = make_world(app)
    fy = current_fiscal_year()
    add_pass(app, w.s1, "beginner", fy)
    add_pass(app, w.s2, "beginner", fy - 2, source="former_exam")
    add_pass(app, w.s3, "intermediate", fy)
    c = signed_in(app, "vicechair")
    resp = c.get("/committee/register/export.csv?level=beginner")
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    raw = resp.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == REGISTER_HEADER
    by_number = {r[8]: r for r in rows[1:]}
    assert set(by_number) == {"R00001", "R00002"}
    assert by_number["R00001"] == ["初級", fiscal_year_label(fy), "栄警察署", "栄警察署", "巡査部長", "熱田 一郎",
                                   "あつた いちろう", "1985-04-01", "R00001", "本県の検定", ""]
    assert by_number["R00002"][9:] == ["旧検定（令和元年生戦発甲第126号）", "令和元年生戦発甲第126号"]
    xlsx = c.get("/committee/register/export.xlsx?level=beginner")
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    values = [[("" if v is None else v) for v in r] for r in sheet.iter_rows(values_only=True)]
    assert values[0] == REGISTER_HEADER and sorted(values[1:]) == sorted(rows[1:])
    assert sheet.title == "合格者名簿"
    exported = audit_events(app, "register_exported")
    assert [(e["format"], e["rows"], e["level"]) for e in exported] == [("csv", 2, "beginner"), ("xlsx", 2, "beginner")]


# ---- special passes ------------------------------------------------------------------------

def special_form(**kw):
    data = {"staff_number": "R00002", "level": "advanced", "source": "npa", "source_detail": "",
            "fiscal_year": "R6", "evidence": "警察庁サイバー対処能力検定 上級 合格証 第123号",
            "affiliation_at_pass": ""}
    data.update(kw)
    return data


def passes_of(app, staff_id):
    with app.app_context():
        return {r.level: (r.source, r.implied_by_id, r.fiscal_year, r.source_detail)
                for r in db.session.scalars(select(PassRecord).where(PassRecord.staff_id == staff_id))}, \
            {r.level: r.id for r in db.session.scalars(select(PassRecord).where(PassRecord.staff_id == staff_id))}


def test_a_special_pass_deems_every_lower_level_passed(app):
    w = make_world(app)
    c = signed_in(app, "vicechair")
    resp = c.post_form("/committee/register/special", special_form())
    assert resp.status_code == 302, resp.get_data(as_text=True)
    held, ids = passes_of(app, w.s2)
    assert held == {"advanced": ("npa", None, 2024, None),
                    "intermediate": ("deemed", ids["advanced"], 2024, None),
                    "beginner": ("deemed", ids["advanced"], 2024, None)}
    page = c.get("/committee/register/special").get_data(as_text=True)
    assert "初級、中級" in page and "合格証 第123号" in page
    assert audit_events(app, "special_pass_recorded")[0]["deemed"] == ["beginner", "intermediate"]
    # Someone who already holds beginner by exam keeps that record; only intermediate is deemed.
    add_pass(app, w.s1, "beginner", 2023)
    resp = c.post_form("/committee/register/special", special_form(staff_number="R00001", source="imperial_guard"))
    assert resp.status_code == 302
    held, ids = passes_of(app, w.s1)
    assert held["beginner"] == ("exam", None, 2023, None)
    assert held["intermediate"] == ("deemed", ids["advanced"], 2024, None)


@pytest.mark.parametrize("change,message", [
    ({"source": "other_prefecture"}, "都道府県名"),
    ({"evidence": ""}, "根拠資料"),
    ({"staff_number": "999999"}, "職員番号「999999」"),
    ({"fiscal_year": "令和99"}, "今年度より後"),
    ({"fiscal_year": "来年度"}, "読めません"),
    ({"source": "exam"}, "合格の根拠「exam」はここでは記録できません"),
    ({"level": "expert"}, "級位「expert」は不明です"),
])
def test_a_special_pass_the_rules_refuse_writes_nothing(app, change, message):
    make_world(app)
    resp = signed_in(app, "chair").post_form("/committee/register/special", special_form(**change))
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert count(app) == 0


def test_a_level_already_held_is_not_recorded_twice(app):
    w = make_world(app)
    add_pass(app, w.s2, "advanced", 2024)
    resp = signed_in(app, "vicechair").post_form("/committee/register/special", special_form())
    assert resp.status_code == 400 and "既に上級の合格記録があります" in resp.get_data(as_text=True)
    assert count(app) == 1


def test_other_prefecture_is_named_and_revoking_removes_what_it_deemed(app):
    w = make_world(app)
    c = signed_in(app, "vicechair")
    c.post_form("/committee/register/special", special_form(source="other_prefecture", source_detail="静岡県警察",
                                                            level="intermediate"))
    held, ids = passes_of(app, w.s2)
    assert held["intermediate"] == ("other_prefecture", None, 2024, "静岡県警察")
    assert set(held) == {"beginner", "intermediate"}
    assert c.post_form(f"/committee/register/special/{ids['intermediate']}/revoke", {"reason": ""}).status_code == 302
    assert count(app) == 2                                     # no reason: nothing removed
    c.post_form(f"/committee/register/special/{ids['intermediate']}/revoke", {"reason": "別人の記録を誤登録"})
    assert count(app) == 0
    revoked = audit_events(app, "special_pass_revoked")[0]
    assert revoked["reason"] == "別人の記録を誤登録" and {r["level"] for r in revoked["removed"]} == {"beginner", "intermediate"}
    # An exam pass cannot be revoked here.
    exam = add_pass(app, w.s1, "beginner")
    c.post_form(f"/committee/register/special/{exam}/revoke", {"reason": "誤り"})
    assert count(app) == 1


# ---- bulk import ---------------------------------------------------------------------------

HEADER = "staff_number,level,source,source_detail,fiscal_year,evidence\n"


def upload(client, body: str | bytes, url="/committee/register/special/import", dry_run=False):
    raw = body.encode("utf-8") if isinstance(body, str) else body
    data = {"file": (io.BytesIO(raw), "passes.csv")}
    if dry_run:
        data["dry_run"] = "y"
    return client.post_form(url, data, content_type="multipart/form-data")


def test_import_records_special_passes_and_their_implied_levels(app):
    w = make_world(app)
    body = (HEADER + "R00001,初級,former_exam,,令和元年度,旧検定合格者名簿 R1-15\n"
            "R00003,advanced,npa,,R6,警察庁通知 第45号\n"
            "R00003,intermediate,other_prefecture,岐阜県警察,2023,岐阜県警察本部長通知\n"
            "R00002,beginner,designation,,2025,生活安全部長指定 第1号\n")
    c = signed_in(app, "vicechair")
    dry = upload(c, body, dry_run=True)
    assert dry.status_code == 200 and "4件の特例合格と、みなし合格1件" in dry.get_data(as_text=True)
    assert count(app) == 0                                       # a dry run writes nothing
    assert upload(c, body).status_code == 302
    held, ids = passes_of(app, w.s3)
    # Both of R00003's passes are their own records; only beginner is deemed (by the lower one).
    assert held == {"advanced": ("npa", None, 2024, None),
                    "intermediate": ("other_prefecture", None, 2023, "岐阜県警察"),
                    "beginner": ("deemed", ids["intermediate"], 2023, None)}
    assert passes_of(app, w.s1)[0] == {"beginner": ("former_exam", None, 2019, None)}
    assert audit_events(app, "special_passes_imported")[0]["rows"] == 4


def test_import_reads_shift_jis_from_excel(app):
    w = make_world(app)
    body = (HEADER + "R00001,中級,other_prefecture,三重県警察,令和6,三重県警察本部 合格証\n").encode("cp932")
    assert upload(signed_in(app, "chair"), body).status_code == 302
    assert passes_of(app, w.s1)[0]["intermediate"][3] == "三重県警察"


def problems_in(page: str) -> list[tuple[str, str, str]]:
    import re
    table = page.split('id="problems"')[1].split("</table>")[0]
    return re.findall(r"<tr><td>(\d+)行目</td><td>(.*?)</td><td>(.*?)</td></tr>", table)


def test_bad_cells_are_named_by_row_and_column_and_nothing_is_written(app):
    make_world(app)
    body = (HEADER + "R00001,beginner,npa,,R6,ok\n"
            "R00002,特級,npa,,R6,x\n"
            "R00003,beginner,police,,令和0,x\n"
            "R90001,beginner,npa,,2024,\n")
    resp = upload(signed_in(app, "vicechair"), body)
    assert resp.status_code == 400
    found = problems_in(resp.get_data(as_text=True))
    assert [(line, col) for line, col, _m in found] == [("3", "level"), ("4", "source"), ("4", "fiscal_year"),
                                                         ("5", "evidence")]
    assert "特級" in found[0][2] and "令和の期間外" in found[2][2]
    assert count(app) == 0


def test_rows_the_register_refuses_are_named_and_nothing_is_written(app):
    w = make_world(app)
    add_pass(app, w.s3, "beginner", 2022)
    body = (HEADER + "R00001,beginner,npa,,R6,ok\n"
            "999999,beginner,npa,,R6,x\n"
            "R00002,beginner,other_prefecture,,R6,x\n"
            "R00001,初級,designation,,R6,x\n"
            "R00003,beginner,npa,,2024,x\n"
            "R90001,beginner,npa,,2099,x\n")
    resp = upload(signed_in(app, "vicechair"), body)
    assert resp.status_code == 400
    found = problems_in(resp.get_data(as_text=True))
    assert [(line, col) for line, col, _m in found] == [("3", "staff_number"), ("4", "source_detail"),
                                                         ("5", "level"), ("6", "level"), ("7", "fiscal_year")]
    assert "999999" in found[0][2] and "2行目と同じ" in found[2][2] and "既に初級" in found[3][2]
    assert count(app) == 1


def test_wrong_columns_are_refused_whole(app):
    make_world(app)
    resp = upload(signed_in(app, "vicechair"), "staff_number,level,source,year,evidence\nR00001,beginner,npa,R6,x\n")
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "必要な列がありません: fiscal_year" in page and "不明な列があります: year" in page
    assert count(app) == 0


# ---- the command line ----------------------------------------------------------------------

@pytest.fixture
def cli_env(app, monkeypatch, tmp_path):
    """The commands open their own app on the test database."""
    monkeypatch.setenv("DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    monkeypatch.setenv("CBT_INSTANCE", str(tmp_path / "cli-instance"))
    return tmp_path


def test_passes_import_command_shares_the_pages_rules(app, cli_env):
    w = make_world(app)
    good = cli_env / "good.csv"
    good.write_text(HEADER + "R00002,advanced,imperial_guard,,R5,皇宮警察本部 合格証\n", encoding="utf-8")
    bad = cli_env / "bad.csv"
    bad.write_text(HEADER + "R00002,advanced,npa,,R5,x\n123,beginner,npa,,R5,x\n", encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(passes_cli, ["import", str(bad), "--by", "vicechair"])
    assert out.exit_code == 1
    assert f"{bad}:3: staff_number: 職員番号「123」の職員が登録されていません" in out.output
    assert "nothing was imported" in out.output and count(app) == 0
    no_by = runner.invoke(passes_cli, ["import", str(good)])
    assert no_by.exit_code == 2 and "--by" in no_by.output
    wrong_role = runner.invoke(passes_cli, ["import", str(good), "--by", "secretariat1"])
    assert wrong_role.exit_code == 2 and "vice_chair or chair" in wrong_role.output
    dry = runner.invoke(passes_cli, ["import", str(good), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would record 1 special pass(es), 2 deemed" in dry.output and count(app) == 0
    done = runner.invoke(passes_cli, ["import", str(good), "--by", "chair"])
    assert done.exit_code == 0, done.output
    held, _ids = passes_of(app, w.s2)
    assert held["advanced"][0] == "imperial_guard" and held["beginner"][0] == "deemed"
    with app.app_context():
        recorder = db.session.scalar(select(PassRecord.recorded_by).where(PassRecord.level == "advanced"))
    assert recorder == user_id_in(app, "chair")


def user_id_in(app, username):
    with app.app_context():
        return user_id(username)


def test_register_export_command(app, cli_env):
    w = make_world(app)
    add_pass(app, w.s1, "intermediate", 2024)
    add_pass(app, w.s3, "beginner", 2024)
    runner = CliRunner()
    out = runner.invoke(register_cli, ["export", "--level", "中級"])
    assert out.exit_code == 0, out.output
    assert out.stdout_bytes.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(out.stdout_bytes.decode("utf-8-sig"))))
    assert rows[0] == REGISTER_HEADER and [r[8] for r in rows[1:]] == ["R00001"]
    target = cli_env / "register.xlsx"
    out = runner.invoke(register_cli, ["export", "--level", "beginner", "--format", "xlsx", "--out", str(target)])
    assert out.exit_code == 0, out.output
    sheet = load_workbook(target).active
    assert [r[8] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["R00003"]
    assert runner.invoke(register_cli, ["export", "--level", "beginner", "--format", "xlsx"]).exit_code == 2
    assert runner.invoke(register_cli, ["export", "--level", "特級"]).exit_code == 2
    assert [e["via"] for e in audit_events(app, "register_exported")] == ["cli", "cli"]
    with app.app_context():
        assert db.session.get(Staff, w.s1).staff_number == "R00001"


def test_revoking_a_lower_special_pass_lets_a_higher_one_deem_the_levels_again(app):
    w = make_world(app)
    c = signed_in(app, "vicechair")
    c.post_form("/committee/register/special", special_form(level="intermediate", source="former_exam", fiscal_year="R2"))
    c.post_form("/committee/register/special", special_form(level="advanced", source="npa", fiscal_year="R6"))
    held, ids = passes_of(app, w.s2)
    assert held["beginner"] == ("deemed", ids["intermediate"], 2020, None)
    assert held["advanced"] == ("npa", None, 2024, None)
    resp = c.post_form(f"/committee/register/special/{ids['intermediate']}/revoke", {"reason": "旧検定の合格者ではなかった"})
    assert resp.status_code == 302
    held, ids = passes_of(app, w.s2)
    assert held == {"advanced": ("npa", None, 2024, None),
                    "intermediate": ("deemed", ids["advanced"], 2024, None),
                    "beginner": ("deemed", ids["advanced"], 2024, None)}
    assert [d["level"] for d in audit_events(app, "special_pass_revoked")[0]["deemed_again"]] == ["beginner", "intermediate"]
