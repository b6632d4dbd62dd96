"""Volunteer groups and members: who opens which group, who reads members' personal data
(the group's leader, its division's liaison, the committee and the secretariat), who adds
and changes members, a minor's guardian's consent, leaving, and where each lands."""
from __future__ import annotations

import html
import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Member, Staff, User, VolunteerGroup
from tests.conftest import Client

UNIVERSITY = "桜丘大学サイバー防犯ボランティア"
HIGH_SCHOOL = "みどり高校サイバー防犯部"
KENTA_MAIL = "kenta@example.jp"          # volunteer2's record, in the university's group
MIRAI = "桜丘　未来"                      # volunteer1, the university group's leader
CONSENTED = "緑川　さくら"                # high school, under 18, consent on record
NO_CONSENT = "青木　蓮"                   # high school, under 18, no consent


def signed_in(app, username: str) -> Client:
    c = Client(app)
    assert c.login(username).status_code == 302
    return c


def group_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(VolunteerGroup.id).where(VolunteerGroup.name == name))


def member_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Member.id).where(Member.name == name))


def load_member(app, name: str) -> Member:
    with app.app_context():
        m = db.session.scalar(select(Member).where(Member.name == name))
        db.session.expunge(m)
        return m


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def events(app, event: str) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id))
        return [dict(json.loads(e.detail_json), user_id=e.user_id) for e in rows]


def move_liaison(app, code: str) -> None:
    """liaison1's staff record moves to the division with this code."""
    from app.models import Affiliation
    with app.app_context():
        staff = db.session.scalar(select(Staff).join(User, Staff.user_id == User.id)
                                  .where(User.username == "liaison1"))
        staff.affiliation_id = db.session.scalar(select(Affiliation.id).where(Affiliation.code == code))
        db.session.commit()


@pytest.mark.parametrize("username, sees", [
    ("liaison1", True), ("volunteer1", True), ("committee1", True), ("secretariat1", True),
    ("vicechair", True), ("volunteer2", False)])
def test_members_personal_data_only_for_those_named(app, username, sees):
    page = signed_in(app, username).get(f"/volunteers/groups/{group_id(app, UNIVERSITY)}")
    assert page.status_code == 200
    body = text(page)
    assert UNIVERSITY in body and "サイバー対策課" in body        # name and division for all
    assert ("mirai@example.jp" in body) is sees
    assert (f">{MIRAI}</a>" in body) is sees
    if not sees:
        # A member who is not the leader reads their own record, and no one else's.
        assert KENTA_MAIL in body and "あなたの登録内容" in body and "参加者（" not in body


@pytest.mark.parametrize("username", ["head1", "candidate1", "proctor1", "author1"])
def test_other_roles_are_refused_every_group_page(app, username):
    c = signed_in(app, username)
    gid, mid = group_id(app, UNIVERSITY), member_id(app, MIRAI)
    for url in ("/volunteers/", f"/volunteers/groups/{gid}", f"/volunteers/members/{mid}",
                "/volunteers/groups/new", "/volunteers/home"):
        assert c.get(url).status_code == 403, url
    assert len(events(app, "forbidden")) == 5


def test_a_liaison_of_another_division_is_refused_the_group_and_its_members(app):
    c = signed_in(app, "liaison1")                  # サイバー対策課: the university's only
    gid, mid = group_id(app, HIGH_SCHOOL), member_id(app, CONSENTED)
    assert [line for line in text(c.get("/volunteers/")).splitlines() if HIGH_SCHOOL in line] == []
    for url in (f"/volunteers/groups/{gid}", f"/volunteers/members/{mid}",
                f"/volunteers/groups/{gid}/members/new", f"/volunteers/members/{mid}/edit",
                f"/volunteers/groups/{gid}/edit"):
        assert c.get(url).status_code == 403, url
    before = load_member(app, CONSENTED)
    for url in (f"/volunteers/members/{mid}/consent/withdraw", f"/volunteers/members/{mid}/leave",
                f"/volunteers/members/{mid}/invite"):
        assert c.post_form(url, {"left_on": "2026-01-01"}).status_code == 403, url
    after = load_member(app, CONSENTED)
    assert (after.active, after.guardian_consent_on) == (True, before.guardian_consent_on)
    refused = events(app, "forbidden")
    assert [e["reason"] for e in refused] == ["not_of_group", "not_own_record"] + ["not_of_division"] * 6


def test_a_member_reads_only_their_own_record(app):
    c = signed_in(app, "volunteer2")
    assert c.get(f"/volunteers/members/{member_id(app, MIRAI)}").status_code == 403
    own = c.get(f"/volunteers/members/{member_id(app, '港　健太')}")
    assert own.status_code == 200 and KENTA_MAIL in text(own)
    # Nor may they change someone else's contact.
    resp = c.post_form(f"/volunteers/members/{member_id(app, MIRAI)}/edit", {"phone": "090-0000-0000"})
    assert resp.status_code == 403 and load_member(app, MIRAI).phone is None


def test_the_leader_updates_contacts_and_strengths_but_not_names(app):
    c = signed_in(app, "volunteer1")
    kenta = member_id(app, "港　健太")
    form = c.get(f"/volunteers/members/{kenta}/edit")
    assert form.status_code == 200 and 'name="name"' not in text(form)
    resp = c.post_form(f"/volunteers/members/{kenta}/edit", {
        "email": "kenta.new@example.jp", "phone": "052-951-1611", "strengths": "SNSの見守り、講演",
        "name": "書き換え　太郎", "is_leader": "y"})
    assert resp.status_code == 302
    m = load_member(app, "港　健太")
    assert (m.email, m.phone, m.strengths, m.is_leader) == \
        ("kenta.new@example.jp", "052-951-1611", "SNSの見守り、講演", False)
    [changed] = events(app, "volunteer_member_updated")
    assert set(changed["changes"]) == {"email", "phone", "strengths"}
    # A bad address is refused on its field, in Japanese, and nothing is saved.
    bad = c.post_form(f"/volunteers/members/{kenta}/edit", {"email": "kenta at example", "phone": "",
                                                            "strengths": "x"})
    assert bad.status_code == 200 and "メールアドレスの形式が正しくありません" in text(bad)
    assert load_member(app, "港　健太").strengths == "SNSの見守り、講演"


def test_the_liaison_adds_a_member_and_names_a_new_leader(app):
    c = signed_in(app, "liaison1")
    gid = group_id(app, UNIVERSITY)
    page = c.get(f"/volunteers/groups/{gid}/members/new")
    assert page.status_code == 200
    missing = c.post_form(f"/volunteers/groups/{gid}/members/new", {"name": "", "joined_on": "2026-13-01"})
    assert "氏名を入力してください。" in text(missing) and "日付を正しく入力してください" in text(missing)
    future = c.post_form(f"/volunteers/groups/{gid}/members/new", {"name": "未来　一郎", "joined_on": "2999-01-01"})
    assert "参加日に今日より後の日付は入力できません。" in text(future)
    resp = c.post_form(f"/volunteers/groups/{gid}/members/new", {
        "name": "新井　花子", "name_kana": "あらい　はなこ", "organisation": "桜丘大学 理工学部",
        "email": "hanako@example.jp", "strengths": "講演", "joined_on": "2026-04-01", "is_leader": "y"})
    assert resp.status_code == 302
    new = load_member(app, "新井　花子")
    assert new.group_id == gid and new.is_leader and not new.minor
    assert not load_member(app, MIRAI).is_leader            # one leader per group
    assert len(events(app, "volunteer_member_added")) == 1


def test_groups_are_made_in_the_liaisons_own_division_only(app):
    c = signed_in(app, "liaison1")
    form = text(c.get("/volunteers/groups/new"))
    assert "サイバー対策課" in form and "中央警察署" not in form
    with app.app_context():
        from app.models import Affiliation
        other = db.session.scalar(select(Affiliation.id).where(Affiliation.code == "101"))
        own = db.session.scalar(select(Affiliation.id).where(Affiliation.code == "202"))
    refused = c.post_form("/volunteers/groups/new", {"name": "南市民サイバー防犯隊", "kind": "citizens",
                                                     "division": str(other)})
    assert refused.status_code == 200 and "担当所属を一覧から選んでください。" in text(refused)
    taken = c.post_form("/volunteers/groups/new", {"name": UNIVERSITY, "kind": "citizens", "division": str(own)})
    assert "は既に登録されています" in text(taken)
    made = c.post_form("/volunteers/groups/new", {"name": "南市民サイバー防犯隊", "kind": "citizens",
                                                  "division": str(own), "purpose": "高齢者への啓発", "active": "y"})
    assert made.status_code == 302
    with app.app_context():
        g = db.session.scalar(select(VolunteerGroup).where(VolunteerGroup.name == "南市民サイバー防犯隊"))
        assert (g.division_id, g.kind, g.purpose) == (own, "citizens", "高齢者への啓発")
    # The secretariat may place a group in any division; a head may not make one.
    sec = signed_in(app, "secretariat1")
    assert sec.post_form("/volunteers/groups/new", {"name": "北高校情報部", "kind": "high_school",
                                                    "division": str(other), "active": "y"}).status_code == 302
    assert signed_in(app, "head1").post_form("/volunteers/groups/new", {"name": "x", "kind": "citizens",
                                                                       "division": str(own)}).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count(VolunteerGroup.id))) == 4


def test_a_minor_without_consent_is_not_invited_until_a_guardian_consents(app):
    move_liaison(app, "101")                       # liaison1 now in charge of the high school
    c = signed_in(app, "liaison1")
    ren = member_id(app, NO_CONSENT)
    page = text(c.get(f"/volunteers/members/{ren}"))
    assert "保護者の同意が記録されるまで" in page and "招待リンクを発行する" not in page
    refused = c.post_form(f"/volunteers/members/{ren}/invite")
    assert refused.status_code == 302
    assert "保護者の同意を記録するまで招待できません" in text(c.get(refused.location))
    assert events(app, "volunteer_invitation_refused")[0]["reason"] == "not_invitable"
    # The consent needs the guardian's name and a date that has come.
    bad = c.post_form(f"/volunteers/members/{ren}/consent", {"guardian_name": "", "consent_on": "2999-01-01"})
    assert "保護者の氏名を入力してください。" in text(c.get(bad.location))
    assert load_member(app, NO_CONSENT).guardian_consent_on is None
    ok = c.post_form(f"/volunteers/members/{ren}/consent", {"guardian_name": "青木　誠", "consent_on": "2026-04-10"})
    assert ok.status_code == 302
    m = load_member(app, NO_CONSENT)
    assert m.may_take_part and m.guardian_name == "青木　誠"
    with app.app_context():
        assert m.consent_recorded_by == db.session.scalar(select(User.id).where(User.username == "liaison1"))
    [recorded] = events(app, "volunteer_consent_recorded")
    assert recorded["consent_on"] == "2026-04-10" and recorded["member_id"] == ren
    assert "招待リンクを発行する" in text(c.get(f"/volunteers/members/{ren}"))


def test_a_volunteer_whose_consent_is_withdrawn_is_refused_and_told_why(app):
    move_liaison(app, "101")
    with app.app_context():
        # 緑川 さくら took an account while her guardian's consent was on record.
        from app.models import UserRole
        u = User(username="sakura", display_name=CONSENTED)
        u.set_password("midori-koukou-2026")
        u.roles.append(UserRole(role="volunteer"))
        db.session.add(u)
        db.session.flush()
        db.session.scalar(select(Member).where(Member.name == CONSENTED)).user_id = u.id
        db.session.commit()
    sakura = Client(app)
    assert sakura.login("sakura", "midori-koukou-2026").status_code == 302
    assert sakura.get("/volunteers/home").status_code == 200
    liaison = signed_in(app, "liaison1")
    assert liaison.post_form(f"/volunteers/members/{member_id(app, CONSENTED)}/consent/withdraw").status_code == 302
    for url in ("/volunteers/home", "/volunteers/", f"/volunteers/groups/{group_id(app, HIGH_SCHOOL)}"):
        refused = sakura.get(url)
        assert refused.status_code == 403 and "保護者の同意が記録されるまで活動に参加できません" in text(refused), url
    assert [e["reason"] for e in events(app, "volunteer_refused")] == ["no_consent"] * 3


def test_a_member_who_leaves_loses_their_account(app):
    kenta = Client(app)
    assert kenta.login("volunteer2").status_code == 302
    liaison = signed_in(app, "liaison1")
    mid = member_id(app, "港　健太")
    early = liaison.post_form(f"/volunteers/members/{mid}/leave", {"left_on": "2000-01-01"})
    assert "退会日は参加日より後の日付" in text(liaison.get(early.location))
    assert liaison.post_form(f"/volunteers/members/{mid}/leave", {"left_on": load_member(app, "港　健太")
                                                                  .joined_on.isoformat()}).status_code == 302
    m = load_member(app, "港　健太")
    assert not m.active and m.left_on == m.joined_on
    assert kenta.get("/volunteers/home").status_code == 302        # signed out: sessions ended
    assert Client(app).login("volunteer2").status_code == 401     # the account is closed
    group_page = text(liaison.get(f"/volunteers/groups/{group_id(app, UNIVERSITY)}"))
    assert "退会した参加者" in group_page


def test_liaisons_and_volunteers_land_on_their_pages_and_sign_out(app):
    liaison = Client(app)
    resp = liaison.login("liaison1")
    assert resp.location.endswith("/") and liaison.http.get("/").location.endswith("/volunteers/")
    page = text(liaison.get("/volunteers/"))
    assert UNIVERSITY in page and HIGH_SCHOOL not in page and "参加者 2人" in page
    vol = Client(app)
    vol.login("volunteer1")
    assert vol.http.get("/").location.endswith("/volunteers/home")
    home = text(vol.get("/volunteers/home"))
    assert "ようこそ、桜丘　未来さん" in home and UNIVERSITY in home and "連絡担当" in home
    assert "熊本　安子" in home                     # liaison1's staff record: the division's liaison
    assert 'href="/volunteers/"' in home
    out = vol.post_form("/logout")
    assert out.status_code == 302 and vol.get("/volunteers/home").status_code == 302


def test_a_liaison_edits_their_group_but_only_the_oversight_moves_it(app):
    from app.models import Affiliation
    gid = group_id(app, UNIVERSITY)
    with app.app_context():
        own = db.session.scalar(select(Affiliation.id).where(Affiliation.code == "202"))
        other = db.session.scalar(select(Affiliation.id).where(Affiliation.code == "101"))
    c = signed_in(app, "liaison1")
    moved = c.post_form(f"/volunteers/groups/{gid}/edit", {"name": UNIVERSITY, "kind": "university",
                                                          "division": str(other), "active": "y"})
    assert moved.status_code == 200 and "担当所属を一覧から選んでください。" in text(moved)
    kept = c.post_form(f"/volunteers/groups/{gid}/edit", {"name": UNIVERSITY, "kind": "university",
                                                         "division": str(own), "purpose": "新しい目的", "active": "y"})
    assert kept.status_code == 302
    sec = signed_in(app, "secretariat1")
    assert sec.post_form(f"/volunteers/groups/{gid}/edit", {"name": UNIVERSITY, "kind": "university",
                                                            "division": str(other), "active": "y"}).status_code == 302
    with app.app_context():
        g = db.session.get(VolunteerGroup, gid)
        assert (g.division_id, g.purpose) == (other, "新しい目的")    # a field not sent is kept
    changes = [e["changes"] for e in events(app, "volunteer_group_updated")]
    assert changes == [{"purpose": ["学生による高齢者向けの広報啓発とサイバーパトロール", "新しい目的"]},
                       {"division_id": [own, other]}]
    # The group left liaison1's division: its pages are closed to them now.
    assert c.get(f"/volunteers/groups/{gid}").status_code == 403
    # A leader changes no group.
    assert signed_in(app, "volunteer1").get(f"/volunteers/groups/{gid}/edit").status_code == 403


def test_a_member_keeps_their_own_contact_and_consent_to_publication(app):
    c = signed_in(app, "volunteer2")
    kenta = member_id(app, "港　健太")
    form = text(c.get(f"/volunteers/members/{kenta}/edit"))
    assert 'name="publish_consent"' in form and 'name="joined_on"' not in form
    resp = c.post_form(f"/volunteers/members/{kenta}/edit", {"email": KENTA_MAIL, "phone": "090-1234-5678",
                                                            "strengths": "SNSの見守り", "publish_consent": "y",
                                                            "minor": "y", "is_leader": "y"})
    assert resp.status_code == 302
    m = load_member(app, "港　健太")
    assert (m.phone, m.publish_consent, m.minor, m.is_leader) == ("090-1234-5678", True, False, False)
    # The leader edits a member's contact, never their consent to publication.
    leader_form = text(signed_in(app, "volunteer1").get(f"/volunteers/members/{kenta}/edit"))
    assert 'name="phone"' in leader_form and 'name="publish_consent"' not in leader_form
