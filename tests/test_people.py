"""The secretariat's pages (庶務): who may open them, staff records edited in the browser,
sign-in accounts and roles, and the staff CSV import (browser and command), all or nothing."""
from __future__ import annotations

import io
import json
import re
from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from app.cli.people import affiliations_group, staff_group
from app.extensions import db
from app.models import Affiliation, Appointment, AuditEvent, Staff, User
from tests.conftest import Client

HEADER = "staff_number,name_kanji,name_kana,birth_date,post,affiliation_code,employment_category,email"
ROLE_USERS = {"candidate": "candidate1", "author": "author1", "committee": "committee1",
              "vice_chair": "vicechair", "chair": "chair", "head": "head1", "secretariat": "secretariat1"}
MANAGERS = {"secretariat1", "vicechair", "chair"}
VIEWERS = MANAGERS | {"committee1"}


def signed_in(app, username):
    c = Client(app)
    assert c.login(username).status_code == 302
    return c


def staff_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Staff.id)))


def staff(app, number) -> Staff | None:
    with app.app_context():
        s = db.session.scalar(select(Staff).where(Staff.staff_number == number))
        if s is not None:
            db.session.expunge(s)
        return s


def ids(app):
    with app.app_context():
        return {"s4": db.session.scalar(select(Staff.id).where(Staff.staff_number == "100004")),
                "s5": db.session.scalar(select(Staff.id).where(Staff.staff_number == "100005")),
                "cand3": db.session.scalar(select(User.id).where(User.username == "candidate3")),
                "aff": db.session.scalar(select(Affiliation.id).where(Affiliation.code == "102")),
                "appt": db.session.scalar(select(Appointment.id).join(User, User.id == Appointment.user_id)
                                          .where(User.username == "committee1"))}


def events(app, name):
    with app.app_context():
        return [json.loads(e.detail_json) | {"_user": e.user_id} for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == name).order_by(AuditEvent.id))]


# ---- who may open what --------------------------------------------------------------------

def routes(i):
    """(method, url, data, roles allowed, statuses an allowed role may get)."""
    return [
        ("GET", "/admin/", None, VIEWERS, {200}),
        ("GET", "/admin/staff", None, VIEWERS, {200}),
        ("GET", "/admin/staff?q=%E6%84%9B%E7%9F%A5&page=1", None, VIEWERS, {200}),
        ("GET", "/admin/affiliations", None, VIEWERS, {200}),
        ("GET", "/admin/affiliations/new", None, MANAGERS, {200}),
        ("POST", "/admin/affiliations/new", {}, MANAGERS, {200}),
        ("GET", f"/admin/affiliations/{i['aff']}", None, MANAGERS, {200}),
        ("POST", f"/admin/affiliations/{i['aff']}", {}, MANAGERS, {200}),
        ("GET", "/admin/staff/new", None, MANAGERS, {200}),
        ("POST", "/admin/staff/new", {}, MANAGERS, {200}),
        ("GET", f"/admin/staff/{i['s4']}", None, MANAGERS, {200}),
        ("POST", f"/admin/staff/{i['s4']}", {}, MANAGERS, {200}),
        ("POST", f"/admin/staff/{i['s5']}/login", {}, MANAGERS, {200, 302}),
        ("POST", f"/admin/staff/{i['s4']}/link", {}, MANAGERS, {302}),
        ("GET", "/admin/import/staff", None, MANAGERS, {200}),
        ("POST", "/admin/import/staff", {}, MANAGERS, {400}),
        ("POST", "/admin/import/staff/confirm", {}, MANAGERS, {400}),
        ("GET", "/admin/import/staff/template.csv", None, MANAGERS, {200}),
        ("GET", "/admin/import/affiliations", None, MANAGERS, {200}),
        ("POST", "/admin/import/affiliations/confirm", {}, MANAGERS, {400}),
        ("GET", "/admin/users", None, MANAGERS, {200}),
        ("GET", f"/admin/users/{i['cand3']}", None, MANAGERS, {200}),
        ("POST", f"/admin/users/{i['cand3']}", {"roles": "candidate", "active": "y"}, MANAGERS, {302}),
        ("POST", f"/admin/users/{i['cand3']}/password", {}, MANAGERS, {200}),
        ("GET", "/admin/appointments", None, VIEWERS, {200}),
        ("POST", "/admin/appointments", {}, VIEWERS, {400}),
        ("POST", f"/admin/appointments/{i['appt']}/end", {}, VIEWERS, {302}),
        ("GET", "/admin/audit", None, VIEWERS, {200}),
        ("GET", "/admin/audit/export.csv", None, VIEWERS, {200}),
    ]


def test_every_admin_route_is_in_the_access_table(app):
    """A new route must be added to the table above, so its access is proven too."""
    adapter = app.url_map.bind("localhost")
    listed = {adapter.match(url.split("?")[0], method=method)[0] for method, url, *_ in routes(ids(app))}
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")}
    assert endpoints == listed


@pytest.mark.parametrize("role", list(ROLE_USERS))
def test_each_role_gets_200_or_403(app, role):
    username = ROLE_USERS[role]
    c = signed_in(app, username)
    i = ids(app)
    for method, url, data, allowed, ok in routes(i):
        resp = c.get(url) if method == "GET" else c.post_form(url, data)
        if username in allowed:
            assert resp.status_code in ok, (role, method, url, resp.status_code)
        else:
            assert resp.status_code == 403, (role, method, url, resp.status_code)
    refused = events(app, "forbidden")
    expected = [u for m, u, _d, allowed, _ok in routes(i) if username not in allowed]
    assert [e["path"] for e in refused if e["_user"] is not None] == [u.split("?")[0] for u in expected]


def test_anonymous_is_sent_to_sign_in(app):
    c = Client(app)
    c.get("/login")                                  # a CSRF token, so POSTs reach the check
    for method, url, data, _allowed, _ok in routes(ids(app)):
        resp = c.get(url) if method == "GET" else c.post_form(url, data)
        assert resp.status_code == 302 and "/login" in resp.location, (method, url)


def test_committee_reads_the_staff_list_but_cannot_change_it(app):
    c = signed_in(app, "committee1")
    page = c.get("/admin/staff").get_data(as_text=True)
    assert "愛知　太郎" in page and "100001" in page
    assert "/admin/staff/new" not in page                # no edit links for a reader
    assert c.get(f"/admin/staff/{ids(app)['s4']}").status_code == 403


def test_admin_home_for_the_secretariat(app):
    c = signed_in(app, "secretariat1")
    page = c.get("/admin/")
    assert page.status_code == 200 and "職員の一括登録" in page.get_data(as_text=True)


# ---- staff list ---------------------------------------------------------------------------

def test_staff_search_by_number_name_kana_affiliation_and_category(app):
    c = signed_in(app, "secretariat1")

    def numbers(query):
        return set(re.findall(r">(\d{6}|V\d{4})</a>", c.get("/admin/staff" + query).get_data(as_text=True)))
    assert numbers("?q=100004") == {"100004"}
    assert numbers("?q=愛知") == {"100001"}
    assert numbers("?q=ミカワ") == {"100003"}            # katakana finds a hiragana furigana
    assert numbers("?q=みかわ じろう") == {"100003"}      # half-width space typed
    assert numbers(f"?affiliation={ids(app)['aff']}") == {"100003", "100008", "100011"}
    assert numbers("?category=臨時補助職員") == {"100012"}
    assert numbers("?category=職員以外") == {"V0001"}


def test_staff_list_pages(app):
    with app.app_context():
        aff = db.session.scalar(select(Affiliation).where(Affiliation.code == "101"))
        for n in range(60):
            db.session.add(Staff(staff_number=f"9{n:05d}", name_kanji=f"試験　{n}", name_kana="しけん",
                                 birth_date=date(1990, 1, 1), post="巡査", employment_category="警察官",
                                 affiliation_id=aff.id))
        db.session.commit()
    c = signed_in(app, "committee1")
    first = c.get("/admin/staff?q=9").get_data(as_text=True)
    second = c.get("/admin/staff?q=9&page=2").get_data(as_text=True)
    assert "1 / 2 ページ（全" in first and "900000" in first and "900059" not in first
    assert "2 / 2 ページ" in second and "900059" in second and "900000" not in second


# ---- editing a staff record in the browser --------------------------------------------------

def staff_form(**over):
    data = {"staff_number": "100004", "name_kanji": "知多　一郎", "name_kana": "ちた　いちろう",
            "birth_date": "1985-07-01", "post": "警部補", "affiliation": "0",
            "employment_category": "警察官", "email": ""}
    data.update(over)
    return data


def test_browser_edit_of_a_staff_record(app):
    c = signed_in(app, "secretariat1")
    i = ids(app)
    page = c.get(f"/admin/staff/{i['s4']}").get_data(as_text=True)
    assert 'value="1985-07-01"' in page and "1985年7月1日（昭和60年7月1日）" in page
    resp = c.post_form(f"/admin/staff/{i['s4']}", staff_form(
        name_kanji="知多 一朗", name_kana="チタ イチロウ", birth_date="昭和60年7月2日", post="警部",
        affiliation=str(i["aff"]), email="ichiro@example.jp"))
    assert resp.status_code == 302
    s = staff(app, "100004")
    assert (s.name_kanji, s.name_kana, s.birth_date, s.post, s.affiliation_id, s.email) == \
        ("知多　一朗", "チタ　イチロウ", date(1985, 7, 2), "警部", i["aff"], "ichiro@example.jp")
    [ev] = events(app, "staff_updated")
    assert ev["staff_number"] == "100004" and ev["changes"]["post"] == ["警部補", "警部"]
    # Personal fields are only noted as changed: the audit detail also reaches the server log.
    assert ev["changes"]["birth_date"] == "変更" and "1985-07-02" not in json.dumps(ev)


@pytest.mark.parametrize("field, value, message", [
    ("name_kana", "ちた1ろう", "ふりがなはひらがな・カタカナ・空白で入力してください"),
    ("birth_date", "平成32年1月1日", "平成の期間外"),
    ("birth_date", "2999-01-01", "今日以降"),
    ("staff_number", "10 0004", "使えない文字"),
    ("email", "not-an-address", "メールアドレス"),
    ("name_kanji", "", "氏名を入力してください"),
])
def test_browser_edit_refuses_bad_values_with_the_reason(app, field, value, message):
    c = signed_in(app, "secretariat1")
    i = ids(app)
    c.get(f"/admin/staff/{i['s4']}")
    resp = c.post_form(f"/admin/staff/{i['s4']}", staff_form(affiliation=str(i["aff"]), **{field: value}))
    assert resp.status_code == 200 and message in resp.get_data(as_text=True)
    assert staff(app, "100004").affiliation_id != i["aff"]          # nothing saved
    assert events(app, "staff_updated") == []


def test_police_staff_need_an_affiliation_volunteers_do_not(app):
    c = signed_in(app, "secretariat1")
    c.get("/admin/staff/new")
    new = staff_form(staff_number="300001", name_kanji="新人　一", name_kana="しんじん　はじめ")
    resp = c.post_form("/admin/staff/new", new)
    assert resp.status_code == 200 and "所属を選んでください" in resp.get_data(as_text=True)
    assert staff(app, "300001") is None
    resp = c.post_form("/admin/staff/new", new | {"employment_category": "職員以外", "post": "ボランティア"})
    assert resp.status_code == 302
    assert staff(app, "300001").affiliation_id is None
    # A staff number already taken is refused, not a crash.
    resp = c.post_form("/admin/staff/new", new | {"staff_number": "100001", "affiliation": str(ids(app)["aff"])})
    assert "既に登録されています" in resp.get_data(as_text=True)


def test_a_staff_record_cannot_take_another_ones_number(app):
    c = signed_in(app, "vicechair")
    i = ids(app)
    c.get(f"/admin/staff/{i['s4']}")
    resp = c.post_form(f"/admin/staff/{i['s4']}", staff_form(staff_number="100005", affiliation=str(i["aff"])))
    assert "既に別の職員に使われています" in resp.get_data(as_text=True)
    assert staff(app, "100004") is not None


# ---- sign-in accounts and roles ---------------------------------------------------------------

def test_create_a_login_for_a_staff_member_password_shown_once(app):
    c = signed_in(app, "secretariat1")
    i = ids(app)
    c.get(f"/admin/staff/{i['s4']}")
    resp = c.post_form(f"/admin/staff/{i['s4']}/login", {"username": ""})
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    password = re.search(r'<code class="password">([^<]+)</code>', page).group(1)
    assert len(password) == 12 and "<code>100004</code>" in page
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "100004"))
        assert user.role_set == {"candidate"} and user.display_name == "知多　一郎"
        assert db.session.get(Staff, i["s4"]).user_id == user.id
    [ev] = events(app, "user_created")
    assert ev["username"] == "100004" and password not in json.dumps(ev)
    # Shown once: the staff page afterwards names the account, never the password.
    again = c.get(f"/admin/staff/{i['s4']}").get_data(as_text=True)
    assert password not in again and "100004" in again
    # A second account for the same person is refused.
    resp = c.post_form(f"/admin/staff/{i['s4']}/login", {"username": "other"})
    assert resp.status_code == 302
    assert "既にログインアカウントがあります" in c.get(resp.location).get_data(as_text=True)
    # The new account signs in with the password shown.
    assert Client(app).login("100004", password).status_code == 302


def test_login_user_name_clash_and_linking_an_existing_account(app):
    c = signed_in(app, "secretariat1")
    i = ids(app)
    c.get(f"/admin/staff/{i['s4']}")
    resp = c.post_form(f"/admin/staff/{i['s4']}/login", {"username": "candidate2"})
    assert "既に使われています" in c.get(resp.location).get_data(as_text=True)
    resp = c.post_form(f"/admin/staff/{i['s4']}/link", {"username": "candidate2"})
    assert "既に職員番号「100002」と紐付いています" in c.get(resp.location).get_data(as_text=True)
    resp = c.post_form(f"/admin/staff/{i['s4']}/link", {"username": "author1"})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Staff, i["s4"]).user.username == "author1"
    assert events(app, "user_linked")[0]["username"] == "author1"


def test_roles_are_assigned_by_managers_and_audited(app):
    c = signed_in(app, "chair")
    i = ids(app)
    c.get(f"/admin/users/{i['cand3']}")
    resp = c.post_form(f"/admin/users/{i['cand3']}", {"roles": ["candidate", "proctor"], "active": "y"})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(User, i["cand3"]).role_set == {"candidate", "proctor"}
    [ev] = events(app, "user_roles_changed")
    assert ev["added"] == ["proctor"] and ev["removed"] == [] and ev["username"] == "candidate3"
    # Deactivated: the account can no longer sign in.
    c.post_form(f"/admin/users/{i['cand3']}", {"roles": ["candidate"]})
    assert Client(app).login("candidate3").status_code == 401


def test_nobody_edits_their_own_roles(app):
    c = signed_in(app, "secretariat1")
    with app.app_context():
        me = db.session.scalar(select(User).where(User.username == "secretariat1"))
    page = c.get(f"/admin/users/{me.id}").get_data(as_text=True)
    assert "自分自身の役割や利用状態は変更できません" in page
    resp = c.post_form(f"/admin/users/{me.id}", {"roles": list(ROLE_USERS), "active": "y"})
    assert "自分自身の役割や利用状態は変更できません" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, me.id).role_set == {"secretariat"}


def test_a_head_keeps_the_head_role_while_heading_an_affiliation(app):
    c = signed_in(app, "secretariat1")
    with app.app_context():
        head = db.session.scalar(select(User).where(User.username == "head1"))
    c.get(f"/admin/users/{head.id}")
    resp = c.post_form(f"/admin/users/{head.id}", {"roles": ["candidate"], "active": "y"})
    assert "「中央警察署」の長に設定されています" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, head.id).role_set == {"head"}


def test_password_reset_shows_a_new_password_once(app):
    c = signed_in(app, "secretariat1")
    i = ids(app)
    c.get(f"/admin/users/{i['cand3']}")
    page = c.post_form(f"/admin/users/{i['cand3']}/password").get_data(as_text=True)
    password = re.search(r'<code class="password">([^<]+)</code>', page).group(1)
    assert Client(app).login("candidate3").status_code == 401          # the old one is gone
    assert Client(app).login("candidate3", password).status_code == 302
    assert events(app, "password_reset")[0]["username"] == "candidate3"


# ---- affiliations -----------------------------------------------------------------------------

def test_affiliation_create_and_edit_with_a_head(app):
    c = signed_in(app, "secretariat1")
    with app.app_context():
        head = db.session.scalar(select(User.id).where(User.username == "head1"))
        not_head = db.session.scalar(select(User.id).where(User.username == "committee1"))
    c.get("/admin/affiliations/new")
    resp = c.post_form("/admin/affiliations/new", {"code": "103", "name": "南警察署", "head": str(not_head),
                                                   "active": "y"})
    assert "「所属の長」の役割を持つ利用者" in resp.get_data(as_text=True)
    resp = c.post_form("/admin/affiliations/new", {"code": "101", "name": "重複", "head": "0", "active": "y"})
    assert "既に「中央警察署」で使われています" in resp.get_data(as_text=True)
    resp = c.post_form("/admin/affiliations/new", {"code": "103", "name": "南警察署", "head": str(head),
                                                   "active": "y"})
    assert resp.status_code == 302
    with app.app_context():
        aff = db.session.scalar(select(Affiliation).where(Affiliation.code == "103"))
        assert aff.name == "南警察署" and aff.head_user_id == head and aff.active
    resp = c.post_form(f"/admin/affiliations/{aff.id}", {"code": "103", "name": "南警察署", "head": "0"})
    assert resp.status_code == 302
    with app.app_context():
        aff = db.session.get(Affiliation, aff.id)
        assert aff.head_user_id is None and not aff.active
    assert events(app, "affiliation_updated")[0]["changes"]["active"] == [True, False]


# ---- staff CSV import ------------------------------------------------------------------------

def csv_bytes(*rows, header=HEADER, encoding="utf-8-sig"):
    return ("\r\n".join([header, *rows]) + "\r\n").encode(encoding)


GOOD = csv_bytes(
    "200001,新規　一郎,しんき　いちろう,1991-04-01,巡査,101,警察官,",
    "200002,新規　花子,シンキ　ハナコ,平成5年6月7日,主事,201,一般職員,hanako@example.jp",
    "200003,新規　三郎,しんき　さぶろう,H10.1.2,巡査,102,警察官,",
    "100001,愛知　太郎,あいち　たろう,1990-05-12,警部補,202,警察官,",        # an update: post and affiliation
    "100002,尾張　花子,おわり　はなこ,1994-11-03,主事,201,一般職員,",        # unchanged
)


def upload(c, data, kind="staff", name="staff.csv"):
    c.get(f"/admin/import/{kind}")
    return c.post_form(f"/admin/import/{kind}", {"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def confirm(c, preview_page, kind="staff"):
    fields = dict(re.findall(r'name="(payload|fingerprint|filename)" type="hidden" value="([^"]*)"', preview_page))
    return c.post_form(f"/admin/import/{kind}/confirm", fields)


def test_staff_import_previews_then_applies_on_confirm(app):
    c = signed_in(app, "secretariat1")
    before = staff_count(app)
    resp = upload(c, GOOD)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert re.search(r'id="count-created">3件', page) and re.search(r'id="count-updated">1件', page)
    assert re.search(r'id="count-unchanged">1件', page)
    assert "すでに登録されている職員1件の情報を、このファイルの内容で更新します" in page
    assert "巡査部長" in page and "警部補" in page and "サイバー対策課（202）" in page
    assert "1993年6月7日（平成5年6月7日）" in page               # an era date, read and shown
    assert staff_count(app) == before                           # the preview writes nothing
    resp = confirm(c, page)
    assert resp.status_code == 302
    assert staff_count(app) == before + 3
    assert staff(app, "200002").birth_date == date(1993, 6, 7)
    assert staff(app, "200003").birth_date == date(1998, 1, 2)
    assert staff(app, "200002").name_kana == "シンキ　ハナコ"
    s = staff(app, "100001")
    with app.app_context():
        assert (s.post, db.session.get(Affiliation, s.affiliation_id).code) == ("警部補", "202")
        assert db.session.get(User, s.user_id).username == "candidate1"   # the account stays linked
    [ev] = events(app, "staff_import")
    assert (ev["created"], ev["updated"], ev["unchanged"], ev["source"]) == (3, 1, 1, "web")
    assert ev["created_numbers"] == ["200001", "200002", "200003"]


def test_blank_email_keeps_the_address_on_record(app):
    with app.app_context():
        db.session.scalar(select(Staff).where(Staff.staff_number == "100001")).email = "taro@example.jp"
        db.session.commit()
    c = signed_in(app, "secretariat1")
    confirm(c, upload(c, GOOD).get_data(as_text=True))
    assert staff(app, "100001").email == "taro@example.jp"


def test_the_confirmation_refuses_a_plan_that_changed_since_the_preview(app):
    c = signed_in(app, "secretariat1")
    page = upload(c, GOOD).get_data(as_text=True)
    with app.app_context():                # someone edits 100002 meanwhile
        db.session.scalar(select(Staff).where(Staff.staff_number == "100002")).post = "主任"
        db.session.commit()
    before = staff_count(app)
    resp = confirm(c, page)
    assert resp.status_code == 302
    assert "確認画面の表示後に登録内容が変わりました" in c.get(resp.location).get_data(as_text=True)
    assert staff_count(app) == before and events(app, "staff_import") == []


def test_shift_jis_file_is_read(app):
    c = signed_in(app, "secretariat1")
    data = csv_bytes("200010,髙橋　﨑子,たかはし　さきこ,昭和59年5月1日,主事,101,一般職員,",
                     encoding="cp932")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")                       # really Shift_JIS, not UTF-8 in disguise
    page = upload(c, data).get_data(as_text=True)
    assert "新規登録される職員（1件）" in page
    assert confirm(c, page).status_code == 302
    s = staff(app, "200010")
    assert s.name_kanji == "髙橋　﨑子" and s.birth_date == date(1984, 5, 1)


BAD_CASES = [
    # (rows, expected (line, column, fragment) problems)
    (["200001,新規　一郎,しんき　いちろう,1991-04-01,巡査,999,警察官,"],
     [(2, "affiliation_code", "所属コード「999」は登録されていません")]),
    (["200001,新規　一郎,しんき　いちろう,平成32年1月1日,巡査,101,警察官,"],
     [(2, "birth_date", "平成の期間外")]),
    (["200001,新規　一郎,しんき　いちろう,1991-02-30,巡査,101,警察官,"],
     [(2, "birth_date", "存在しない日付")]),
    (["200001,,しんき　いちろう,1991-04-01,巡査,101,警察官,"],
     [(2, "name_kanji", "値が空です")]),
    (["200001,新規　一郎,しんきichiro,1991-04-01,巡査,101,警察官,"],
     [(2, "name_kana", "ひらがな・カタカナ・空白")]),
    (["200001,新規　一郎,しんき　いちろう,1991-04-01,巡査,101,アルバイト,"],
     [(2, "employment_category", "勤務形態「アルバイト」は登録できません")]),
    (["200001,新規　一郎,しんき　いちろう,1991-04-01,巡査,,警察官,"],
     [(2, "affiliation_code", "値が空です")]),
    (["200001,新規　一郎,しんき　いちろう,1991-04-01,巡査,101,警察官,",
      "200002,新規　二郎,しんき　じろう,1991-04-01,巡査,101,警察官,",
      "２０００01,新規　一郎,しんき　いちろう,1991-04-01,巡査,101,警察官,"],
     [(2, "staff_number", "（2行目、4行目）"), (4, "staff_number", "（2行目、4行目）")]),
    # Several problems at once, each with its row and column.
    (["200001,新規　一郎,しんき　いちろう,1991-04-01,巡査,101,警察官,",
      "200002,新規　二郎,しんき　じろう,R99.1.1,巡査,555,警察官,bad-mail"],
     [(3, "birth_date", ""), (3, "affiliation_code", "555"), (3, "email", "bad-mail")]),
]


@pytest.mark.parametrize("rows, expected", BAD_CASES)
def test_bad_staff_files_name_row_and_column_and_import_nothing(app, rows, expected):
    c = signed_in(app, "secretariat1")
    before = staff_count(app)
    resp = upload(c, csv_bytes(*rows, "100001,愛知　太郎,あいち　たろう,1990-05-12,警視,101,警察官,"))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    shown = re.findall(r'<li class="error">(\d+)行目「([a-z_]+)」列: ([^<]*)</li>', page)
    assert len(shown) == len(expected), shown
    for (line, column, fragment), (s_line, s_col, s_msg) in zip(expected, shown):
        assert (str(line), column) == (s_line, s_col) and fragment in s_msg
    assert "1行も登録しません" in page
    assert staff_count(app) == before
    assert staff(app, "100001").post == "巡査部長"                 # the valid update was not applied
    assert events(app, "staff_import") == []


def test_wrong_columns_are_refused(app):
    c = signed_in(app, "secretariat1")
    resp = upload(c, csv_bytes("200001,新規,しんき,1991-04-01,巡査,101",
                               header="staff_number,name,name_kana,birth_date,post,affiliation_code"))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "必要な列がありません: name_kanji、employment_category" in page
    assert "不明な列があります: name" in page


def test_volunteer_rows_may_leave_the_affiliation_blank(app):
    c = signed_in(app, "secretariat1")
    page = upload(c, csv_bytes("V0002,港　一,みなと　はじめ,2001-01-01,ボランティア,,職員以外,")).get_data(as_text=True)
    assert confirm(c, page).status_code == 302
    assert staff(app, "V0002").affiliation_id is None


def test_affiliation_import_in_the_browser(app):
    c = signed_in(app, "chair")
    data = csv_bytes("103,南警察署,head1", "102,北警察署（改称）,", header="code,name,head_username")
    page = upload(c, data, kind="affiliations", name="affs.csv").get_data(as_text=True)
    assert "北警察署（改称）" in page
    assert confirm(c, page, kind="affiliations").status_code == 302
    with app.app_context():
        south = db.session.scalar(select(Affiliation).where(Affiliation.code == "103"))
        north = db.session.scalar(select(Affiliation).where(Affiliation.code == "102"))
        assert south.head.username == "head1" and north.name == "北警察署（改称）"
    bad = upload(c, csv_bytes("104,東警察署,candidate1", "104,東,", header="code,name,head_username"),
                 kind="affiliations").get_data(as_text=True)
    assert "2行目「head_username」列" in bad and "2行目「code」列" in bad and "3行目「code」列" in bad


# ---- the command line ---------------------------------------------------------------------

@pytest.fixture
def cli(app, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    monkeypatch.setenv("CBT_INSTANCE", str(tmp_path / "cli-instance"))

    def run(group, *args):
        return CliRunner().invoke(group, [str(a) for a in args])
    return run


def test_cli_staff_import_errors_are_file_line_column(app, cli, tmp_path):
    path = tmp_path / "staff.csv"
    path.write_bytes(csv_bytes("200001,新規　一郎,しんき　いちろう,1991-04-01,巡査,999,警察官,",
                               "200002,新規　二郎,しんき　じろう,S64.1.8,巡査,101,警察官,",
                               encoding="cp932"))
    before = staff_count(app)
    result = cli(staff_group, "import", path)
    assert result.exit_code == 1
    assert f"{path}:2: affiliation_code: 所属コード「999」は登録されていません" in result.output
    assert f"{path}:3: birth_date: 「S64.1.8」は昭和の期間外の日付です" in result.output
    assert "nothing imported" in result.output
    assert staff_count(app) == before


def test_cli_staff_import_dry_run_then_real(app, cli, tmp_path):
    path = tmp_path / "staff.csv"
    path.write_bytes(GOOD)
    before = staff_count(app)
    dry = cli(staff_group, "import", path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "dry run: 3 to create, 1 to update, 1 unchanged; nothing written" in dry.output
    assert f"{path}:5: update staff 100001 (官職（階級）: 巡査部長 -> 警部補" in dry.output
    assert staff_count(app) == before and events(app, "staff_import") == []
    real = cli(staff_group, "import", path)
    assert real.exit_code == 0, real.output
    assert "imported: 3 created, 1 updated, 1 unchanged" in real.output
    assert staff_count(app) == before + 3 and staff(app, "100001").post == "警部補"
    [ev] = events(app, "staff_import")
    assert ev["source"] == "cli" and ev["_user"] is None and ev["filename"] == str(path)
    again = cli(staff_group, "import", path)           # the same file again changes nothing
    assert "imported: 0 created, 0 updated, 5 unchanged" in again.output


def test_cli_affiliations_import(app, cli, tmp_path):
    path = tmp_path / "affs.csv"
    path.write_bytes(csv_bytes("301,東警察署,head1", "301,東,", header="code,name,head_username"))
    bad = cli(affiliations_group, "import", path)
    assert bad.exit_code == 1 and f"{path}:2: code: 所属コード「301」がファイル内で重複しています（2行目、3行目）" in bad.output
    path.write_bytes(csv_bytes("301,東警察署,head1", header="code,name,head_username"))
    ok = cli(affiliations_group, "import", path)
    assert ok.exit_code == 0, ok.output
    with app.app_context():
        assert db.session.scalar(select(Affiliation).where(Affiliation.code == "301")).head.username == "head1"


# ---- demo data ------------------------------------------------------------------------------

def test_demo_people(app):
    with app.app_context():
        affs = {a.code: a for a in db.session.scalars(select(Affiliation))}
        assert affs["101"].name == "中央警察署" and affs["101"].head.username == "head1"
        linked = {s.user.username: s for s in db.session.scalars(select(Staff).where(Staff.user_id.is_not(None)))}
        # The liaison officer acts for their division through their staff record.
        assert set(linked) == {"candidate1", "candidate2", "candidate3", "liaison1"}
        assert {s.employment_category for s in linked.values()} == {"警察官", "一般職員"}
        cats = list(db.session.scalars(select(Staff.employment_category)))
        assert len(cats) >= 13 and "臨時補助職員" in cats and "職員以外" in cats
        from app.cli.demo import DEMO_USERS, ensure_people
        users = {u: db.session.scalar(select(User).where(User.username == u)) for u, _n, _r in DEMO_USERS}
        ensure_people(users)                            # idempotent
        db.session.flush()
        assert db.session.scalar(select(func.count(Staff.id))) == len(cats)


def test_a_tampered_confirmation_payload_is_refused(app):
    c = signed_in(app, "secretariat1")
    page = upload(c, GOOD).get_data(as_text=True)
    fields = dict(re.findall(r'name="(payload|fingerprint|filename)" type="hidden" value="([^"]*)"', page))
    before = staff_count(app)
    for payload in ("not base64!", "QUJD", fields["payload"][:-8]):
        resp = c.post_form("/admin/import/staff/confirm", fields | {"payload": payload})
        assert resp.status_code == 400 and "確認用のデータが壊れています" in resp.get_data(as_text=True)
    assert staff_count(app) == before and events(app, "staff_import") == []
