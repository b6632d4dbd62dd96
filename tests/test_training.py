"""Periodic training (第3-10): attendance of intermediate passers by form, CSV and command,
and who has not attended this fiscal year (from the year after the pass was recorded)."""
from __future__ import annotations

import io
import re
from datetime import date, datetime

import pytest
from click.testing import CliRunner
from hypothesis import given, strategies as st
from sqlalchemy import func, select

from scoring.jpdate import fiscal_year_label
from scoring.passrules import training_first_year, training_status

from app.cli.register import training as training_cli
from app.extensions import db
from app.models import Staff, TrainingRecord
from app.register.passes import current_fiscal_year
from app.register.training import training_rows
from tests.registertools import add_pass, make_world, signed_in

HEADER = "staff_number,attended_on,course\n"


# (pass year, year recorded here, years attended, this year) -> (missed years, due this year)
TRAINING_CASES = [
    ((2023, 2023, {2024}, 2025), ((), True)),             # owed from 2024: attended; 2025 not yet
    ((2023, 2023, set(), 2025), ((2024,), True)),
    ((2023, 2023, {2024, 2025}, 2025), ((), False)),
    ((2025, 2025, set(), 2025), ((), False)),            # passed this year: owed from next year
    ((2018, 2025, set(), 2025), ((), False)),            # special pass of 2018 recorded this year
    ((2018, 2023, set(), 2025), ((2024,), True)),        # recorded in 2023: owed from 2024 only
    ((2026, 2025, set(), 2025), ((), False)),            # a pass dated after its recording: from 2027
    ((2026, 2025, set(), 2027), ((), True)),
]


@pytest.mark.parametrize("given_, expected", TRAINING_CASES)
def test_training_is_owed_from_the_year_after_the_pass_is_recorded(given_, expected):
    status = training_status(*given_)
    assert (status.missed_years, status.due_this_year) == expected
    assert status.attended_this_year == (given_[3] in given_[2])


@given(st.integers(2000, 2040), st.integers(0, 10), st.sets(st.integers(1995, 2050)), st.integers(2000, 2050))
def test_no_year_before_the_first_is_ever_missed_or_due(pass_year, late, attended, current):
    recorded = pass_year + late
    status = training_status(pass_year, recorded, attended, current)
    first = training_first_year(pass_year, recorded)
    assert first == recorded + 1 and status.first_year == first
    assert all(first <= y < current and y not in attended for y in status.missed_years)
    assert len(status.missed_years) == len([y for y in range(first, current) if y not in attended])
    assert status.due_this_year == (current >= first and current not in attended)


def records(app) -> list[tuple[str, date, int, str]]:
    with app.app_context():
        return [(s.staff_number, t.attended_on, t.fiscal_year, t.course) for t, s in db.session.execute(
            select(TrainingRecord, Staff).join(Staff).where(Staff.staff_number.like("R%"))
            .order_by(TrainingRecord.attended_on))]


def upload(client, body: str, dry_run=False):
    data = {"file": (io.BytesIO(body.encode("utf-8")), "training.csv")}
    if dry_run:
        data["dry_run"] = "y"
    return client.post_form("/committee/register/training/import", data, content_type="multipart/form-data")


def test_the_secretariat_records_attendance_in_either_calendar(app):
    w = make_world(app)
    add_pass(app, w.s1, "intermediate", 2023)
    c = signed_in(app, "secretariat1")
    resp = c.post_form("/committee/register/training", {"staff_number": "R00001", "attended_on": "令和6年5月1日",
                                                       "course": ""})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    resp = c.post_form("/committee/register/training", {"staff_number": "R00001", "attended_on": "2025/3/31",
                                                       "course": "サイバー定期講習（後期）"})
    assert resp.status_code == 302
    # 2025-03-31 belongs to fiscal 2024, as does 2024-05-01.
    assert records(app) == [("R00001", date(2024, 5, 1), 2024, "定期講習"),
                            ("R00001", date(2025, 3, 31), 2024, "サイバー定期講習（後期）")]
    again = c.post_form("/committee/register/training", {"staff_number": "R00001", "attended_on": "R6.5.1",
                                                        "course": "定期講習"})
    assert again.status_code == 400 and "登録済み" in again.get_data(as_text=True)


def test_attendance_of_someone_without_an_intermediate_pass_is_refused(app):
    w = make_world(app)
    add_pass(app, w.s2, "beginner", 2024)
    c = signed_in(app, "secretariat1")

    def refused(number, day, message):
        resp = c.post_form("/committee/register/training", {"staff_number": number, "attended_on": day})
        assert resp.status_code == 400 and message in resp.get_data(as_text=True), (number, day)

    refused("R00002", "2025-05-01", "中級の合格者ではありません")
    refused("R99999", "2025-05-01", "職員番号「R99999」")
    add_pass(app, w.s2, "intermediate", 2024)
    refused("R00002", "令和7年2月30日", "存在しない日付")
    refused("R00002", "平成32年1月1日", "平成の期間外")
    refused("R00002", "2999-01-01", "未来の日付")
    assert records(app) == []


def problems_in(page: str):
    table = page.split('id="problems"')[1].split("</table>")[0]
    return re.findall(r"<tr><td>(\d+)行目</td><td>(.*?)</td><td>(.*?)</td></tr>", table)


def test_a_csv_with_any_bad_row_imports_nothing(app):
    w = make_world(app)
    add_pass(app, w.s1, "intermediate", 2024)
    add_pass(app, w.s3, "advanced", 2024)
    add_pass(app, w.s3, "intermediate", 2023, source="deemed")
    add_pass(app, w.s2, "beginner", 2024)
    c = signed_in(app, "secretariat1")
    bad = (HEADER + "R00001,2025-06-01,定期講習\n"
           "R00002,2025-06-01,定期講習\n"            # beginner only
           "R00003,令和7年6月1日,\n"
           "R00003,2025-06-01,定期講習\n"            # the same as the row above (blank course = 定期講習)
           "R00001,R7.13.1,定期講習\n")
    resp = upload(c, bad)
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    found = problems_in(page)
    assert [(line, col) for line, col, _m in found] == [("6", "attended_on")]   # cells are checked first
    assert records(app) == []
    bad = bad.replace("R7.13.1", "R7.7.1")
    found = problems_in(upload(c, bad).get_data(as_text=True))
    assert [(line, col) for line, col, _m in found] == [("3", "staff_number"), ("5", "attended_on")]
    assert "中級の合格者ではありません" in found[0][2] and "4行目と同じ" in found[1][2]
    assert records(app) == []
    good = bad.replace("R00002,2025-06-01,定期講習\n", "").replace("R00003,2025-06-01,定期講習\n", "")
    assert upload(c, good, dry_run=True).status_code == 200 and records(app) == []
    assert upload(c, good).status_code == 302
    assert [(n, d) for n, d, _fy, _c in records(app)] == [("R00001", date(2025, 6, 1)), ("R00003", date(2025, 6, 1)),
                                                         ("R00001", date(2025, 7, 1))]


def test_who_has_not_attended_this_fiscal_year(app):
    w = make_world(app)
    fy = current_fiscal_year()
    def in_year(year):
        return datetime(year, 6, 1, 3, 0)
    # Exam passes, recorded in their own year: the course is owed from the next year on.
    add_pass(app, w.s1, "intermediate", fy - 2, recorded_at=in_year(fy - 2))   # attended fy-2 only: fy-1 missed, due now
    add_pass(app, w.s2, "intermediate", fy - 1, recorded_at=in_year(fy - 1))   # owed from this year: due
    add_pass(app, w.s3, "intermediate", fy - 2, recorded_at=in_year(fy - 2))   # attended this year: not due
    add_pass(app, w.head1_staff, "beginner", fy)   # not an intermediate passer: not listed
    with app.app_context():
        for sid, year in [(w.s1, fy - 2), (w.s3, fy)]:
            db.session.add(TrainingRecord(staff_id=sid, attended_on=date(year, 6, 1), fiscal_year=year,
                                          course="定期講習", recorded_by=w.secretariat))
        db.session.commit()
        rows = {r.staff.staff_number: r for r in training_rows([w.central, w.north], current_year=fy)}
    assert set(rows) == {"R00001", "R00002", "R00003"}
    assert rows["R00001"].status.due_this_year and rows["R00001"].status.missed_years == (fy - 1,)
    assert rows["R00001"].last_attended == date(fy - 2, 6, 1)
    assert rows["R00002"].status.due_this_year and rows["R00002"].status.missed_years == ()
    assert not rows["R00003"].status.due_this_year and rows["R00003"].status.missed_years == (fy - 1,)
    c = signed_in(app, "committee1")
    page = c.get(f"/committee/register/training?due=1&affiliation={w.central}").get_data(as_text=True)
    table = page.split('id="training-status"')[1]
    assert "熱田 一郎" in table and "瑞穂" in table and "守山" not in table
    page = c.get(f"/committee/register/training?due=1&affiliation={w.north}").get_data(as_text=True)
    assert "守山" not in page.split('id="training-status"')[1]
    page = c.get(f"/committee/register/training?affiliation={w.north}").get_data(as_text=True)
    assert "守山 次郎" in page.split('id="training-status"')[1]
    assert 'id="training-form"' not in page            # the committee reads; the secretariat records
    # A head sees their own staff's status only.
    head = signed_in(app, "head1").get("/head/").get_data(as_text=True).split('id="training"')[1]
    assert "熱田 一郎" in head and "守山" not in head


def test_training_import_command(app, monkeypatch, tmp_path):
    w = make_world(app)
    add_pass(app, w.s1, "intermediate", 2024)
    monkeypatch.setenv("DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    monkeypatch.setenv("CBT_INSTANCE", str(tmp_path / "cli-instance"))
    path = tmp_path / "t.csv"
    path.write_text(HEADER + "R00001,2025-04-10,定期講習\nR00002,2025-04-10,定期講習\n", encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(training_cli, ["import", str(path), "--by", "secretariat1"])
    assert out.exit_code == 1 and f"{path}:3: staff_number:" in out.output and records(app) == []
    path.write_text(HEADER + "R00001,2025-04-10,定期講習\n", encoding="utf-8")
    assert runner.invoke(training_cli, ["import", str(path), "--by", "vicechair"]).exit_code == 2
    out = runner.invoke(training_cli, ["import", str(path), "--by", "secretariat1"])
    assert out.exit_code == 0 and "imported 1 attendance(s)" in out.output
    assert records(app) == [("R00001", date(2025, 4, 10), 2025, "定期講習")]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TrainingRecord)) >= 1


def _row_of(page: str, table_id: str, name: str) -> str:
    table = page.split(f'id="{table_id}"')[1].split("</table>")[0]
    return next(r for r in table.split("<tr") if name in r)


def test_a_special_pass_recorded_this_year_shows_no_missed_years(app):
    """A 中級 pass of years ago (警察庁), recorded today: nothing is missed, nothing is due
    this year, on the secretariat's overdue list and the head's page alike."""
    w = make_world(app)
    fy = current_fiscal_year()
    vc = signed_in(app, "vicechair")
    resp = vc.post_form("/committee/register/special", {
        "staff_number": "R00001", "level": "intermediate", "source": "npa", "source_detail": "",
        "fiscal_year": str(fy - 4), "evidence": "警察庁 中級 合格証 第7号", "affiliation_at_pass": ""})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        [row] = [r for r in training_rows([w.central], current_year=fy) if r.staff.staff_number == "R00001"]
    assert row.status.missed_years == () and not row.status.due_this_year
    assert row.status.first_year == fy + 1
    later = fiscal_year_label(fy + 1)
    overdue = signed_in(app, "secretariat1").get("/committee/register/training").get_data(as_text=True)
    cells = _row_of(overdue, "training-status", "熱田 一郎")
    assert "未受講" not in cells and later in cells
    assert not any(fiscal_year_label(y) in cells for y in range(fy - 3, fy))   # no missed year named
    due_only = signed_in(app, "committee1").get("/committee/register/training?due=1").get_data(as_text=True)
    assert "熱田 一郎" not in due_only.split('id="training-status"')[1]
    head = signed_in(app, "head1").get("/head/").get_data(as_text=True)
    cells = _row_of(head, "training", "熱田 一郎")
    assert "未受講" not in cells and later in cells
    assert not any(fiscal_year_label(y) in cells for y in range(fy - 3, fy))
