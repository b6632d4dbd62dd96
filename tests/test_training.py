"""Periodic training (第3-10): attendance of intermediate passers by form, CSV and command,
and who has not attended this fiscal year (the year of the pass included)."""
from __future__ import annotations

import io
import re
from datetime import date

from click.testing import CliRunner
from sqlalchemy import func, select

from app.cli.register import training as training_cli
from app.extensions import db
from app.models import Staff, TrainingRecord
from app.register.passes import current_fiscal_year
from app.register.training import training_rows
from tests.registertools import add_pass, make_world, signed_in

HEADER = "staff_number,attended_on,course\n"


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
    add_pass(app, w.s1, "intermediate", fy - 2)    # attended fy-2 only: fy-1 missed, due now
    add_pass(app, w.s2, "intermediate", fy)        # passed this year: due this year too
    add_pass(app, w.s3, "intermediate", fy - 1)    # attended this year: not due
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
