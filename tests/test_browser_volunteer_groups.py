"""In Chromium: a liaison opens their group, records a new member and issues an invitation;
the member opens the link on a phone (390x844), chooses a user name and a password and
lands on the volunteer home. Each page passes axe's WCAG 2.x A/AA rules and none scrolls
sideways on the phone."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.a11y import assert_accessible
from tests.conftest import BROWSER_ONCE
from tests.test_browser import ARTIFACTS, PageProblems, browser, live_server  # noqa: F401  (fixtures)
from tests.test_browser_invitations import PHONE, open_as

pytestmark = [pytest.mark.browser, BROWSER_ONCE]
expect.set_options(timeout=15_000)


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"volunteers-{name}.png"), full_page=True)


def sideways(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_a_liaison_invites_and_the_member_joins_on_a_phone(app, live_server, browser):  # noqa: F811
    context, page = open_as(browser, live_server, "liaison1", r"/volunteers/$")
    expect(page.get_by_role("heading", name="ボランティア団体", level=1)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="桜丘大学サイバー防犯ボランティア").click()
    expect(page.get_by_role("heading", name="参加者（2人）")).to_be_visible()
    assert_accessible(page)
    shot(page, "group")
    page.get_by_role("link", name="参加者を追加する").click()
    page.get_by_label("氏名", exact=True).fill("新井　花子")
    page.get_by_label("ふりがな").fill("あらい　はなこ")
    page.get_by_label("学校・勤務先").fill("桜丘大学 理工学部")
    page.get_by_label("得意分野").fill("講演、動画編集")
    assert_accessible(page)
    page.get_by_role("button", name="保存する").click()
    expect(page.get_by_role("heading", name="参加者: 新井　花子")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="招待リンクを発行する").click()
    link_box = page.get_by_label("招待リンク")
    expect(link_box).to_have_value(re.compile(r"/volunteers/join\?t=[A-Za-z0-9_-]{40,}$"))
    link = link_box.input_value()
    page.get_by_role("button", name="リンクをコピーする").click()
    expect(page.get_by_role("status")).to_contain_text("リンク")
    assert_accessible(page)
    shot(page, "invitation")
    page.problems.check()
    context.close()

    phone = browser.new_context(viewport=PHONE, locale="ja-JP", timezone_id="Asia/Tokyo",
                                is_mobile=True, has_touch=True)
    phone.set_default_timeout(10_000)
    mp = phone.new_page()
    mp.problems = PageProblems(mp)
    mp.goto(link)
    expect(mp.get_by_role("heading", name="アカウントの作成")).to_be_visible()
    assert sideways(mp) <= 0
    assert_accessible(mp)
    mp.get_by_label("ユーザーID").fill("hanako")
    mp.get_by_label("パスワード", exact=True).fill("short")
    mp.get_by_label("パスワード（確認）").fill("short")
    mp.get_by_role("button", name="アカウントを作成する").click()
    expect(mp.get_by_text("パスワードは12文字以上256文字以内で入力してください。")).to_be_visible()
    expect(mp.get_by_label("ユーザーID")).to_have_value("hanako")        # kept for the retry
    assert_accessible(mp)
    shot(mp, "join-phone")
    mp.get_by_label("パスワード", exact=True).fill("sakura-hill-volunteer")
    mp.get_by_label("パスワード（確認）").fill("sakura-hill-volunteer")
    mp.get_by_role("button", name="アカウントを作成する").click()
    mp.wait_for_url(re.compile(r"/volunteers/home$"))
    expect(mp.get_by_role("heading", name="ようこそ、新井　花子さん")).to_be_visible()
    expect(mp.get_by_text("桜丘大学 理工学部")).to_be_visible()
    assert sideways(mp) <= 0
    assert_accessible(mp)
    shot(mp, "home-phone")
    # The link is spent (the browser reports the refused page's status on its console).
    mp.problems.allowed.append("status of 410")
    mp.goto(link)
    expect(mp.get_by_role("heading", name="この招待リンクは使用済みです")).to_be_visible()
    assert_accessible(mp)
    mp.problems.check()
    phone.close()
