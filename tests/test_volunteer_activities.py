"""A volunteer group's activities, requests (要望) and good practice (好事例): who may record,
read, export, answer and mark them, group by group; what a bad form gets; the hours by
kind and fiscal year; the CSV that Excel opens without running a formula."""
from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Activity, ActivityMember, AuditEvent, Member, User, VolunteerGroup, VolunteerRequest
from scoring.volunteer_hours import hours_label, totals_by_year
from tests.conftest import Client

UNIVERSITY = "桜丘大学サイバー防犯ボランティア"
HIGH_SCHOOL = "みどり高校サイバー防犯部"


def ids(app) -> dict:
    with app.app_context():
        groups = {g.name: g.id for g in db.session.scalars(select(VolunteerGroup))}
        members = {m.name: m.id for m in db.session.scalars(select(Member))}
    return {"uni": groups[UNIVERSITY], "high": groups[HIGH_SCHOOL], **members}


def signed_in(app, username: str) -> Client:
    c = Client(app)
    assert c.login(username).status_code == 302
    return c


def move_liaison(app, group_name: str) -> None:
    """liaison1 now works for the division in charge of another group."""
    with app.app_context():
        liaison = db.session.scalar(select(User).where(User.username == "liaison1"))
        group = db.session.scalar(select(VolunteerGroup).where(VolunteerGroup.name == group_name))
        liaison.staff.affiliation_id = group.division_id
        db.session.commit()


def refusals(app, event: str = "volunteer_access_refused") -> list[dict]:
    with app.app_context():
        return [json.loads(e.detail_json) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id))]


def activity_form(**over) -> dict:
    data = {"kind": "awareness", "held_on": "2026-05-10", "place": "桜丘地区公民館",
            "audience": "地域の高齢者", "participants": "35", "minutes": "90",
            "summary": "サポート詐欺の手口と対処法を寸劇で紹介"}
    data.update(over)
    return data


def activities(app) -> list[Activity]:
    with app.app_context():
        rows = list(db.session.scalars(select(Activity).order_by(Activity.id)))
        for a in rows:
            _ = [(p.member_id, p.minutes) for p in a.members]
        db.session.expunge_all()
        return rows


def parts(app, activity_id: int) -> dict[int, int]:
    with app.app_context():
        return dict(db.session.execute(select(ActivityMember.member_id, ActivityMember.minutes)
                                       .where(ActivityMember.activity_id == activity_id)).all())


def test_leader_records_an_activity_with_who_took_part(app):
    n = ids(app)
    leader = signed_in(app, "volunteer1")
    leader.get(f"/volunteers/groups/{n['uni']}/activities/new")
    resp = leader.post_form(f"/volunteers/groups/{n['uni']}/activities/new", activity_form(**{
        f"part-{n['桜丘　未来']}": "1", f"part-{n['港　健太']}": "1", f"minutes-{n['港　健太']}": "60"}))
    assert resp.status_code == 302
    [a] = activities(app)
    assert (a.kind, a.held_on, a.participants, a.minutes) == ("awareness", date(2026, 5, 10), 35, 90)
    # A blank minutes box is the whole activity.
    assert parts(app, a.id) == {n["桜丘　未来"]: 90, n["港　健太"]: 60}
    page = leader.get(f"/volunteers/groups/{n['uni']}/activities").get_data(as_text=True)
    assert "港　健太（1時間）" in page and "1件 1時間30分" in page
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "activity_recorded"))
        assert json.loads(event.detail_json)["member_ids"] == sorted([n["桜丘　未来"], n["港　健太"]])


def test_a_member_reads_activities_without_names_and_cannot_record(app):
    n = ids(app)
    liaison = signed_in(app, "liaison1")
    liaison.get(f"/volunteers/groups/{n['uni']}/activities/new")
    assert liaison.post_form(f"/volunteers/groups/{n['uni']}/activities/new",
                             activity_form(**{f"part-{n['桜丘　未来']}": "1"})).status_code == 302
    member = signed_in(app, "volunteer2")
    page = member.get(f"/volunteers/groups/{n['uni']}/activities").get_data(as_text=True)
    assert "サポート詐欺の手口" in page and "桜丘　未来（" not in page and "<dd>1人</dd>" in page
    [a] = activities(app)
    for url in (f"/volunteers/groups/{n['uni']}/activities/new", f"/volunteers/activities/{a.id}/edit"):
        assert member.get(url).status_code == 403
    assert member.post_form(f"/volunteers/activities/{a.id}/delete").status_code == 403
    assert len(activities(app)) == 1
    assert [r["path"] for r in refusals(app)] == [
        f"/volunteers/groups/{n['uni']}/activities/new", f"/volunteers/activities/{a.id}/edit",
        f"/volunteers/activities/{a.id}/delete"]


def test_another_division_and_other_roles_are_refused(app):
    n = ids(app)
    move_liaison(app, HIGH_SCHOOL)
    liaison = signed_in(app, "liaison1")
    assert liaison.get(f"/volunteers/groups/{n['uni']}/activities").status_code == 403
    assert liaison.get(f"/volunteers/groups/{n['uni']}/activities.csv").status_code == 403
    assert liaison.get(f"/volunteers/groups/{n['high']}/activities").status_code == 200
    head = signed_in(app, "head1")
    assert head.get(f"/volunteers/groups/{n['uni']}/activities").status_code == 403
    # The secretariat reads every group's records and exports them, but records none.
    secretariat = signed_in(app, "secretariat1")
    assert secretariat.get(f"/volunteers/groups/{n['uni']}/activities").status_code == 200
    assert secretariat.get(f"/volunteers/groups/{n['uni']}/activities/new").status_code == 403
    assert len(refusals(app)) == 2


def test_a_minor_without_consent_cannot_be_recorded(app):
    n = ids(app)
    move_liaison(app, HIGH_SCHOOL)
    liaison = signed_in(app, "liaison1")
    page = liaison.get(f"/volunteers/groups/{n['high']}/activities/new").get_data(as_text=True)
    assert f'name="part-{n["緑川　さくら"]}"' in page and f'name="part-{n["青木　蓮"]}"' not in page
    assert "参加できません" in page and "青木　蓮" in page
    resp = liaison.post_form(f"/volunteers/groups/{n['high']}/activities/new", activity_form(**{
        f"part-{n['緑川　さくら']}": "1", f"part-{n['青木　蓮']}": "1"}))
    assert resp.status_code == 400
    assert "参加できない会員が選ばれています" in resp.get_data(as_text=True)
    assert activities(app) == []
    # A member of another group is refused the same way.
    resp = liaison.post_form(f"/volunteers/groups/{n['high']}/activities/new",
                             activity_form(**{f"part-{n['港　健太']}": "1"}))
    assert resp.status_code == 400 and activities(app) == []


@pytest.mark.parametrize("field, value, message", [
    ("held_on", "2999-01-01", "実施日が未来の日付です"),
    ("held_on", "来週", "日付を正しく入力してください"),
    ("minutes", "0", "活動時間は1分から1440分"),
    ("minutes", "九十", "活動時間を分単位の半角数字で"),
    ("participants", "-1", "参加者数は0から100000まで"),
    ("place", "", "入力してください"),
    ("kind", "party", "活動の種類を選んでください"),
])
def test_bad_input_is_refused_in_japanese_and_kept(app, field, value, message):
    n = ids(app)
    leader = signed_in(app, "volunteer1")
    leader.get(f"/volunteers/groups/{n['uni']}/activities/new")
    resp = leader.post_form(f"/volunteers/groups/{n['uni']}/activities/new",
                            activity_form(**{field: value, f"part-{n['港　健太']}": "1",
                                             f"minutes-{n['港　健太']}": "45"}))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and message in page
    # What was typed is still there.
    assert "サポート詐欺の手口と対処法を寸劇で紹介" in page
    assert f'id="part-{n["港　健太"]}" name="part-{n["港　健太"]}" value="1" checked' in page
    assert f'name="minutes-{n["港　健太"]}" min="1" inputmode="numeric" value="45"' in page
    assert activities(app) == []


def test_member_minutes_cannot_exceed_the_activity(app):
    n = ids(app)
    leader = signed_in(app, "volunteer1")
    leader.get(f"/volunteers/groups/{n['uni']}/activities/new")
    resp = leader.post_form(f"/volunteers/groups/{n['uni']}/activities/new", activity_form(**{
        f"part-{n['港　健太']}": "1", f"minutes-{n['港　健太']}": "120"}))
    assert resp.status_code == 400
    assert "港　健太さんの参加時間（120分）が活動時間（90分）を超えています" in resp.get_data(as_text=True)


def test_edit_and_delete_are_audited(app):
    n = ids(app)
    leader = signed_in(app, "volunteer1")
    leader.get(f"/volunteers/groups/{n['uni']}/activities/new")
    leader.post_form(f"/volunteers/groups/{n['uni']}/activities/new",
                     activity_form(**{f"part-{n['桜丘　未来']}": "1", f"part-{n['港　健太']}": "1"}))
    [a] = activities(app)
    form = leader.get(f"/volunteers/activities/{a.id}/edit").get_data(as_text=True)
    assert 'value="桜丘地区公民館"' in form and '<option selected value="awareness">' in form
    assert f'name="part-{n["港　健太"]}" value="1" checked' in form
    assert f'name="minutes-{n["港　健太"]}" min="1" inputmode="numeric" value="90"' in form
    resp = leader.post_form(f"/volunteers/activities/{a.id}/edit", activity_form(
        kind="patrol", minutes="120", **{f"part-{n['港　健太']}": "1", f"minutes-{n['港　健太']}": "30"}))
    assert resp.status_code == 302
    [a] = activities(app)
    assert (a.kind, a.minutes) == ("patrol", 120) and parts(app, a.id) == {n["港　健太"]: 30}
    with app.app_context():
        changes = json.loads(db.session.scalar(select(AuditEvent.detail_json).where(
            AuditEvent.event == "activity_updated")))["changes"]
    assert changes["kind"] == ["awareness", "patrol"] and changes["minutes"] == [90, 120]
    assert leader.post_form(f"/volunteers/activities/{a.id}/delete").status_code == 302
    assert activities(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ActivityMember)) == 0
        deleted = json.loads(db.session.scalar(select(AuditEvent.detail_json).where(
            AuditEvent.event == "activity_deleted")))
    assert deleted["summary"] == "サポート詐欺の手口と対処法を寸劇で紹介"


def test_hours_by_kind_and_fiscal_year():
    years = totals_by_year([("education", date(2026, 3, 31), 60), ("education", date(2026, 4, 1), 30),
                            ("patrol", date(2027, 3, 31), 45), ("education", date(2026, 10, 1), 90)])
    assert [(y.year, y.minutes, y.count) for y in years] == [
        (2026, {"education": 120, "patrol": 45}, {"education": 2, "patrol": 1}),
        (2025, {"education": 60}, {"education": 1})]
    assert years[0].total_minutes == 165 and years[0].total_count == 3
    assert [hours_label(m) for m in (45, 60, 90, 600)] == ["45分", "1時間", "1時間30分", "10時間"]


def test_list_totals_split_at_april(app):
    n = ids(app)
    liaison = signed_in(app, "liaison1")
    liaison.get(f"/volunteers/groups/{n['uni']}/activities/new")
    for held_on, kind in (("2026-03-31", "education"), ("2026-04-01", "patrol")):
        liaison.post_form(f"/volunteers/groups/{n['uni']}/activities/new",
                          activity_form(held_on=held_on, kind=kind, minutes="60"))
    page = liaison.get(f"/volunteers/groups/{n['uni']}/activities").get_data(as_text=True)
    rows = {y: page.split(f"<th scope=\"row\">{y}")[1].split("</tr>")[0]
            for y in ("2026年度（令和8年度）", "2025年度（令和7年度）")}
    assert "<td>1件 1時間</td><td>—</td><td>—</td>" in rows["2025年度（令和7年度）"]
    assert "<td>—</td><td>—</td><td>1件 1時間</td>" in rows["2026年度（令和8年度）"]


def test_csv_export_neutralises_formulas(app):
    n = ids(app)
    liaison = signed_in(app, "liaison1")
    liaison.get(f"/volunteers/groups/{n['uni']}/activities/new")
    liaison.post_form(f"/volunteers/groups/{n['uni']}/activities/new", activity_form(
        place='=HYPERLINK("http://evil.example","x")', summary="@SUM(A1:A9)",
        **{f"part-{n['港　健太']}": "1"}))
    resp = liaison.get(f"/volunteers/groups/{n['uni']}/activities.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data().decode("utf-8-sig"))))
    assert rows[0][:3] == ["実施日", "年度", "活動の種類"]
    assert rows[1][3] == "'=HYPERLINK(\"http://evil.example\",\"x\")" and rows[1][7] == "'@SUM(A1:A9)"
    assert rows[1][8] == "港　健太（90）" and rows[1][6] == "90"
    # Names are personal data: the group's leader reads them on the page, not in a file.
    assert signed_in(app, "volunteer1").get(f"/volunteers/groups/{n['uni']}/activities.csv").status_code == 403


def test_good_practice_is_marked_by_the_liaison_and_shared_without_names(app):
    n = ids(app)
    leader = signed_in(app, "volunteer1")
    leader.get(f"/volunteers/groups/{n['uni']}/activities/new")
    leader.post_form(f"/volunteers/groups/{n['uni']}/activities/new",
                     activity_form(**{f"part-{n['港　健太']}": "1"}))
    [a] = activities(app)
    # Only a liaison of the group's division marks it.
    assert leader.post_form(f"/volunteers/activities/{a.id}/good-practice", {"note": "x"}).status_code == 403
    move_liaison(app, HIGH_SCHOOL)
    other = signed_in(app, "liaison1")
    assert other.post_form(f"/volunteers/activities/{a.id}/good-practice", {"note": "x"}).status_code == 403
    move_liaison(app, UNIVERSITY)
    liaison = signed_in(app, "liaison1")
    assert liaison.post_form(f"/volunteers/activities/{a.id}/good-practice",
                             {"note": "寸劇が分かりやすく好評"}).status_code == 302
    [a] = activities(app)
    assert a.good_practice and a.good_practice_note == "寸劇が分かりやすく好評"
    page = signed_in(app, "volunteer2").get("/volunteers/good-practices").get_data(as_text=True)
    assert UNIVERSITY in page and "寸劇が分かりやすく好評" in page and "サポート詐欺の手口" in page
    assert "港　健太" not in page and "桜丘　未来" not in page
    liaison.post_form(f"/volunteers/activities/{a.id}/good-practice", {"unmark": "y"})
    assert "寸劇が分かりやすく好評" not in liaison.get("/volunteers/good-practices").get_data(as_text=True)


def test_requests_filed_by_a_member_and_answered_by_the_division(app):
    n = ids(app)
    member = signed_in(app, "volunteer2")
    member.get("/volunteers/requests")
    resp = member.post_form(f"/volunteers/groups/{n['uni']}/requests",
                            {"subject": "講師の派遣", "body": "学園祭で講演をお願いしたい"})
    assert resp.status_code == 302
    with app.app_context():
        item = db.session.scalar(select(VolunteerRequest))
        rid = item.id
        assert item.answer is None
    assert "未回答" in member.get(f"/volunteers/requests/{rid}").get_data(as_text=True)
    # Not the group's member: refused; an empty request: refused in Japanese.
    assert member.post_form(f"/volunteers/groups/{n['high']}/requests",
                            {"subject": "x", "body": "y"}).status_code == 403
    resp = member.post_form(f"/volunteers/groups/{n['uni']}/requests", {"subject": "", "body": "本文"})
    assert resp.status_code == 400 and "入力してください" in resp.get_data(as_text=True)
    # The member cannot answer; a liaison of another division cannot either.
    assert member.post_form(f"/volunteers/requests/{rid}/answer", {"answer": "x"}).status_code == 403
    move_liaison(app, HIGH_SCHOOL)
    assert signed_in(app, "liaison1").get(f"/volunteers/requests/{rid}").status_code == 403
    move_liaison(app, UNIVERSITY)
    liaison = signed_in(app, "liaison1")
    liaison.get(f"/volunteers/requests/{rid}")
    assert liaison.post_form(f"/volunteers/requests/{rid}/answer",
                             {"answer": "11月の講演に署員を派遣します"}).status_code == 302
    page = member.get(f"/volunteers/requests/{rid}").get_data(as_text=True)
    assert "回答済み" in page and "11月の講演に署員を派遣します" in page and "サイバー対策課" in page
    assert "未回答" not in member.get("/volunteers/requests?show=open").get_data(as_text=True).split("<main")[1] \
        .replace("未回答のみ", "").replace("未回答の要望はありません", "")
    assert signed_in(app, "head1").get(f"/volunteers/requests/{rid}").status_code == 403


def test_a_minor_without_consent_cannot_file_a_request(app):
    n = ids(app)
    with app.app_context():
        member = db.session.get(Member, n["港　健太"])
        member.minor = True
        db.session.commit()
    c = signed_in(app, "volunteer2")
    page = c.get("/volunteers/requests").get_data(as_text=True)
    assert 'id="request-form"' not in page
    assert c.post_form(f"/volunteers/groups/{n['uni']}/requests", {"subject": "a", "body": "b"}).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(VolunteerRequest)) == 0


def test_the_index_totals_this_fiscal_year(app):
    from app.volunteers.activities import today_jst
    n = ids(app)
    today = today_jst()
    last_year = date(today.year - 1 if today.month >= 4 else today.year - 2, 12, 1)
    leader = signed_in(app, "volunteer1")
    leader.get(f"/volunteers/groups/{n['uni']}/activities/new")
    for held_on in (today, last_year):
        leader.post_form(f"/volunteers/groups/{n['uni']}/activities/new",
                         activity_form(held_on=held_on.isoformat(), minutes="75"))
    page = leader.get("/volunteers/activities").get_data(as_text=True)
    assert "1件、1時間15分" in page
