"""A volunteer's whole way through the engine, in Chromium at phone size, across the parts
that serve it: the liaison invites a new member, the member makes their account from the
link, completes the starter course, the liaison issues the completion certificate, anyone
verifies it from its URL, and once revoked it shows so."""
from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import CourseCompletion, Member, VolunteerGroup
from tests.a11y import assert_accessible
from tests.conftest import BROWSER_ONCE, Client
from tests.test_browser import PageProblems, browser, live_server  # noqa: F401  (fixtures)
from tests.test_browser_invitations import PHONE, open_as
from tests.test_training_courses import TOPICS, take_module

pytestmark = [pytest.mark.browser, BROWSER_ONCE]
expect.set_options(timeout=15_000)

PASSWORD = "sakura-hill-volunteer"


def phone(browser):  # noqa: F811
    context = browser.new_context(viewport=PHONE, locale="ja-JP", timezone_id="Asia/Tokyo",
                                  is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.problems = PageProblems(page)
    return context, page


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_invited_trained_certified_verified_revoked(app, live_server, browser):  # noqa: F811
    with app.app_context():
        group = db.session.scalar(select(VolunteerGroup).where(VolunteerGroup.name.like("桜丘大学%")))
        member = Member(group_id=group.id, name="新井　花子", name_kana="あらい　はなこ",
                        organisation="桜丘大学 理工学部", joined_on=date(2026, 10, 1))
        db.session.add(member)
        db.session.commit()
        member_id, group_name = member.id, group.name

    # The liaison of the group's division issues the invitation link.
    lctx, liaison = open_as(browser, live_server, "liaison1", r"/volunteers/$", viewport=PHONE)
    liaison.goto(f"{live_server}/volunteers/members/{member_id}")
    liaison.get_by_role("button", name="招待リンクを発行する").click()
    link = liaison.get_by_label("招待リンク").input_value()
    assert "/volunteers/join?t=" in link

    # The member makes their account from the link, on a phone, and lands on their home.
    mctx, me = phone(browser)
    me.goto(link)
    me.get_by_label("ユーザーID").fill("hanako")
    me.get_by_label("パスワード", exact=True).fill(PASSWORD)
    me.get_by_label("パスワード（確認）").fill(PASSWORD)
    me.get_by_role("button", name="アカウントを作成する").click()
    me.wait_for_url(re.compile(r"/volunteers/home$"))
    expect(me.get_by_role("heading", name="ようこそ、新井　花子さん")).to_be_visible()

    # The starter course, every module passed (the questions one by one through HTTP; the
    # browser's own run of a module is tests/test_browser_training.py).
    c = Client(app)
    assert c.login("hanako", PASSWORD).status_code == 302
    for module in TOPICS:
        take_module(app, c, module, right=8)
    me.get_by_role("link", name="研修", exact=True).click()
    expect(me.get_by_text(re.compile(r"修了しました"))).to_be_visible()
    with app.app_context():
        done = db.session.scalar(select(CourseCompletion).where(CourseCompletion.member_id == member_id))
        assert (done.minutes, done.score, done.total) == (120, 32, 32)
        title = done.course_title

    # The liaison issues the completion certificate.
    liaison.goto(live_server + "/certificates/")
    liaison.get_by_label("修了した研修").select_option(label=f"新井　花子（{group_name}）: {title}")
    liaison.get_by_role("button", name="修了証を発行").click()
    expect(liaison.get_by_text("修了証を発行しました。")).to_be_visible()
    url = liaison.locator(".cert-url a").get_attribute("href")

    # The member finds it among their own certificates, with the address to give a university.
    me.goto(live_server + "/certificates/")
    me.get_by_role("link", name=re.compile("修了証: 新井")).click()
    expect(me.locator(".cert-badge.valid")).to_have_text("有効")
    expect(me.locator(".cert-url a")).to_have_attribute("href", url)
    assert_accessible(me)
    fits(me)

    # Anyone, signed out, verifies it; once revoked, it says so.
    pctx, public = phone(browser)
    public.goto(url)
    expect(public.locator(".cert-status")).to_contain_text("有効")
    expect(public.locator(".cert-rows")).to_contain_text("新井　花子")
    expect(public.locator(".cert-rows")).to_contain_text(title)
    fits(public)
    liaison.get_by_label("失効の理由").fill("修了記録の誤り")
    liaison.get_by_role("button", name="失効させる").click()
    expect(liaison.locator(".cert-badge.revoked")).to_have_text("失効")
    public.reload()
    expect(public.locator(".cert-status")).to_contain_text("失効")
    assert_accessible(public)
    for page in (liaison, me, public):
        page.problems.check()
    for context in (lctx, mctx, pctx):
        context.close()
