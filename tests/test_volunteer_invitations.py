"""A member's account by the liaison's invitation: the link shown once and e-mailed, only
its hash stored, single use, expiring, revocable, replaced by a new one; the account made
from it (volunteer role, linked to the member, password rules); every refused link logged."""
from __future__ import annotations

import html
import re
from datetime import timedelta
from email import message_from_bytes, policy

from sqlalchemy import func, select

from app.extensions import db
from app.models import Member, User, VolunteerInvitation, utcnow
from app.volunteers.invitations import token_hash
from tests.conftest import Client
from tests.test_notices import mail_config, smtp  # noqa: F401  (the SMTP server fixture)
from tests.test_volunteer_groups import events, load_member, member_id, move_liaison, signed_in, text

LINK = re.compile(r'id="invite-link" value="([^"]+)"')
PASSWORD = "sakura-hill-volunteer"


def new_member(app, name="新井　花子", email=None, minor=False) -> int:
    c = signed_in(app, "liaison1")
    with app.app_context():
        from app.models import VolunteerGroup
        gid = db.session.scalar(select(VolunteerGroup.id).where(VolunteerGroup.name.like("桜丘大学%")))
    resp = c.post_form(f"/volunteers/groups/{gid}/members/new", {
        "name": name, "joined_on": "2026-04-01", "email": email or "", **({"minor": "y"} if minor else {})})
    assert resp.status_code == 302
    return member_id(app, name)


def issue(app, mid: int, liaison: Client | None = None) -> str:
    """The link the liaison reads on the page the issue answers with."""
    c = liaison or signed_in(app, "liaison1")
    resp = c.post_form(f"/volunteers/members/{mid}/invite")
    assert resp.status_code == 200, resp.status_code
    return html.unescape(LINK.search(resp.get_data(as_text=True)).group(1))


def join(link: str, client: Client, username="hanako", password=PASSWORD, confirm=None):
    path = link.split("localhost", 1)[1]
    client.get(path)
    return client.post_form(path, {"username": username, "password": password,
                                   "confirm": password if confirm is None else confirm})


def test_the_link_is_shown_once_and_only_its_hash_is_kept(app):
    mid = new_member(app)
    liaison = signed_in(app, "liaison1")
    link = issue(app, mid, liaison)
    token = link.split("t=", 1)[1]
    assert link.startswith("http://localhost/volunteers/join?t=") and len(token) >= 40
    with app.app_context():
        inv = db.session.scalar(select(VolunteerInvitation).where(VolunteerInvitation.member_id == mid))
        assert inv.token_hash == token_hash(token) != token
        assert timedelta(days=6, hours=23) < inv.expires_at - utcnow() <= timedelta(days=7)
    member_page = text(liaison.get(f"/volunteers/members/{mid}"))
    assert token not in member_page and "有効（" in member_page
    [issued] = events(app, "volunteer_invitation_issued")
    assert issued["member_id"] == mid and token not in str(issued)


def test_the_member_makes_their_account_once(app):
    mid = new_member(app)
    link = issue(app, mid)
    member = Client(app)
    page = member.get(link.split("localhost", 1)[1])
    assert page.status_code == 200 and "桜丘大学サイバー防犯ボランティア" in text(page)
    assert "新井" not in text(page)                   # no personal data on a public page
    assert page.headers["Referrer-Policy"] == "no-referrer"      # the address holds the token
    resp = join(link, member)
    assert resp.status_code == 302 and resp.location.endswith("/volunteers/home")
    home = member.get("/volunteers/home")
    assert home.status_code == 200 and "ようこそ、新井　花子さん" in text(home)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "hanako"))
        assert user.role_set == {"volunteer"} and user.display_name == "新井　花子"
        assert db.session.get(Member, mid).user_id == user.id
        inv = db.session.scalar(select(VolunteerInvitation).where(VolunteerInvitation.member_id == mid))
        assert inv.used_at is not None and inv.user_id == user.id
    assert events(app, "volunteer_account_created")[0]["member_id"] == mid
    # The link is spent: a replay, even with another user name, makes nothing.
    replay = join(link, Client(app), username="hanako2")
    assert replay.status_code == 410 and "この招待リンクは使用済みです" in text(replay)
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id)).where(User.username.like("hanako%"))) == 1
    assert [e["reason"] for e in events(app, "volunteer_invitation_refused")] == ["used", "used"]
    # Signing in and out afterwards is the ordinary sign-in.
    again = Client(app)
    assert again.login("hanako", PASSWORD).status_code == 302
    assert again.post_form("/logout").status_code == 302
    assert again.get("/volunteers/home").status_code == 302


def test_expired_revoked_replaced_and_unknown_links_are_refused(app):
    liaison = signed_in(app, "liaison1")
    mid = new_member(app)
    first = issue(app, mid, liaison)
    second = issue(app, mid, liaison)                # a new link revokes the first
    refused = Client(app).get(first.split("localhost", 1)[1])
    assert refused.status_code == 410 and "取り消されています" in text(refused)
    with app.app_context():
        inv = db.session.scalar(select(VolunteerInvitation).where(
            VolunteerInvitation.token_hash == token_hash(second.split("t=")[1])))
        inv.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    expired = join(second, Client(app))
    assert expired.status_code == 410 and "有効期限が切れています" in text(expired)
    for bad in ("/volunteers/join", "/volunteers/join?t=abc", "/volunteers/join?t=" + "A" * 43,
                "/volunteers/join?t=%3Cscript%3E"):
        resp = Client(app).get(bad)
        assert resp.status_code == 404 and "招待リンクが正しくありません" in text(resp), bad
    third = issue(app, mid, liaison)
    with app.app_context():
        third_id = db.session.scalar(select(VolunteerInvitation.id).where(
            VolunteerInvitation.token_hash == token_hash(third.split("t=")[1])))
    assert liaison.post_form(f"/volunteers/invitations/{third_id}/revoke").status_code == 302
    assert Client(app).get(third.split("localhost", 1)[1]).status_code == 410
    reasons = [e["reason"] for e in events(app, "volunteer_invitation_refused")]
    assert reasons == ["revoked", "expired", "expired"] + ["unknown"] * 4 + ["revoked"]   # join: GET, POST
    with app.app_context():
        assert db.session.get(Member, mid).user_id is None


def test_password_and_user_name_rules_lose_nothing(app):
    mid = new_member(app)
    link = issue(app, mid)
    c = Client(app)
    for username, password, confirm, message in [
        ("hanako", "short", None, "パスワードは12文字以上256文字以内で入力してください。"),
        ("hanako", "aaaaaaaaaaaaaaa", None, "同じ文字ばかり"),
        ("hanako", "my-hanako-password", None, "パスワードにユーザーIDを含めないでください。"),
        ("hanako", PASSWORD, PASSWORD + "x", "確認のパスワードが一致しません。"),
        ("は な", PASSWORD, None, "ユーザーIDは半角英数字で始まる3〜32文字"),
        ("Volunteer1", PASSWORD, None, "ユーザーID「Volunteer1」は既に使われています。"),
    ]:
        resp = join(link, c, username, password, confirm)
        assert resp.status_code == 200 and message in text(resp), message
        assert password not in resp.get_data(as_text=True)     # a password is never sent back
    with app.app_context():
        assert db.session.get(Member, mid).user_id is None
    assert join(link, c).status_code == 302                       # the link still works


def test_who_may_issue_and_for_whom(app):
    mid = new_member(app)
    for username in ("volunteer1", "secretariat1", "head1"):
        assert signed_in(app, username).post_form(f"/volunteers/members/{mid}/invite").status_code == 403
    # A member who has an account already, or who left, gets no link.
    liaison = signed_in(app, "liaison1")
    has_account = member_id(app, "港　健太")
    resp = liaison.post_form(f"/volunteers/members/{has_account}/invite")
    assert resp.status_code == 302 and "すでにアカウントがあります" in text(liaison.get(resp.location))
    with app.app_context():
        assert db.session.scalar(select(func.count(VolunteerInvitation.id))) == 0


def test_a_minor_whose_consent_is_withdrawn_cannot_use_an_open_link(app):
    mid = new_member(app, "若葉　翼", minor=True)
    liaison = signed_in(app, "liaison1")
    liaison.post_form(f"/volunteers/members/{mid}/consent", {"guardian_name": "若葉　誠", "consent_on": "2026-04-01"})
    link = issue(app, mid, liaison)
    liaison.post_form(f"/volunteers/members/{mid}/consent/withdraw")
    resp = join(link, Client(app), username="tsubasa")
    assert resp.status_code == 403 and "保護者の同意" in text(resp)
    assert load_member(app, "若葉　翼").user_id is None


def test_the_link_is_e_mailed_to_the_member(app, smtp):  # noqa: F811
    mail_config(app, smtp.port)
    mid = new_member(app, email="hanako@example.jp")
    resp = signed_in(app, "liaison1").post_form(f"/volunteers/members/{mid}/invite")
    assert "hanako@example.jp にメールで送信しました" in text(resp)
    link = html.unescape(LINK.search(resp.get_data(as_text=True)).group(1))
    [envelope] = smtp.messages
    assert envelope.rcpt_tos == ["hanako@example.jp"]
    mail = message_from_bytes(envelope.content, policy=policy.default)
    assert "アカウント登録のご案内" in str(mail["Subject"])
    body = mail.get_content()
    assert link in body and "新井　花子 様" in body and "一度だけ使えます" in body
    assert events(app, "volunteer_invitation_emailed")[0]["to"] == "hanako@example.jp"


def test_the_liaison_of_another_division_does_not_reach_the_link_pages(app):
    mid = new_member(app)
    link = issue(app, mid)
    move_liaison(app, "101")
    with app.app_context():
        inv_id = db.session.scalar(select(VolunteerInvitation.id))
    c = signed_in(app, "liaison1")
    assert c.post_form(f"/volunteers/invitations/{inv_id}/revoke").status_code == 403
    assert c.post_form(f"/volunteers/members/{mid}/invite").status_code == 403
    assert Client(app).get(link.split("localhost", 1)[1]).status_code == 200     # still open


def test_of_two_submissions_of_one_link_only_one_makes_an_account(app, monkeypatch):
    """The second submission read the link as open before the first one's commit: the
    claim (one UPDATE ... WHERE used_at IS NULL) refuses it and nothing of it is kept."""
    mid = new_member(app)
    link = issue(app, mid)
    late = Client(app)
    late.get(link.split("localhost", 1)[1])
    assert join(link, Client(app), username="first").status_code == 302
    with app.app_context():
        db.session.get(Member, mid).user_id = None       # as the late request read the member
        db.session.commit()
    monkeypatch.setattr(VolunteerInvitation, "state", lambda self, now: "open")
    resp = late.post_form(link.split("localhost", 1)[1], {"username": "second", "password": PASSWORD,
                                                          "confirm": PASSWORD})
    assert resp.status_code == 410 and "使用済み" in text(resp)
    with app.app_context():
        assert db.session.scalar(select(User.id).where(User.username == "second")) is None
