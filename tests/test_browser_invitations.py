"""In Chromium: a head invites a staff member to a session ahead (第3-11) and the staff
member reads it, with what each level requires (別表第1), on their home; the pages pass
axe's WCAG 2.x A/AA rules at desktop and phone sizes."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.cli.demo import DEMO_PASSWORD
from tests.a11y import assert_accessible
from tests.conftest import BROWSER_ONCE
from tests.test_browser import ARTIFACTS, PageProblems, browser, live_server  # noqa: F401  (fixtures)
from tests.test_level_descriptions import BEGINNER_3, add_session

pytestmark = [pytest.mark.browser, BROWSER_ONCE]
expect.set_options(timeout=15_000)

PHONE = {"width": 390, "height": 844}


def open_as(browser, base, username, lands, viewport=None):  # noqa: F811
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900}, locale="ja-JP",
                                  timezone_id="Asia/Tokyo")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.problems = PageProblems(page)
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(re.compile(lands))
    return context, page


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"invite-{name}.png"), full_page=True)


def test_a_head_invites_and_the_staff_member_reads_it(app, live_server, browser):  # noqa: F811
    sid = add_session(app, "来月の初級", "beginner")
    ctx, head = open_as(browser, live_server, "head1", r"/head/$")
    form = head.locator(f'form[action$="/head/sessions/{sid}/invite"]')
    expect(form.get_by_role("checkbox", name="愛知　太郎")).to_be_visible()
    expect(head.locator("#upcoming")).to_contain_text(BEGINNER_3)
    assert_accessible(head)
    form.get_by_role("checkbox", name="愛知　太郎").check()
    form.get_by_label("職員へのひとこと（任意）").fill("ぜひ受検してください。")
    form.get_by_role("button", name="選択した職員に受検を奨励する").click()
    expect(head.get_by_text("1名に受検を奨励しました。")).to_be_visible()
    row = head.locator(f'form[action$="/head/sessions/{sid}/invite"] tr', has_text="愛知")
    expect(row).to_contain_text("奨励済")
    expect(row).to_contain_text("未登録")
    assert_accessible(head)
    shot(head, "head")
    head.set_viewport_size(PHONE)
    expect(row).to_contain_text("奨励済")
    assert_accessible(head)
    shot(head, "head-phone")
    head.problems.check()
    ctx.close()

    for size, viewport in (("desktop", None), ("phone", PHONE)):
        ctx, me = open_as(browser, live_server, "candidate1", r"/exam/$", viewport)
        card = me.locator("#invitations article", has_text="来月の初級")
        expect(card).to_contain_text("ぜひ受検してください。")
        expect(card).to_contain_text("所属を通じてお申し出ください")
        expect(me.locator("#level-requirements")).to_contain_text(BEGINNER_3)
        assert_accessible(me)
        shot(me, f"home-{size}")
        me.goto(live_server + "/exam/practice/")
        expect(me.locator("section", has=me.get_by_role("heading", name="初級", exact=True))).to_contain_text(BEGINNER_3)
        assert_accessible(me)
        shot(me, f"practice-{size}")
        me.problems.check()
        ctx.close()

    # The vice-chair reads the levels in the session settings and registers the invited.
    ctx, vc = open_as(browser, live_server, "vicechair", r"/committee/sessions/$")
    vc.goto(live_server + "/committee/sessions/new")
    expect(vc.locator("#level-requirements")).to_contain_text(BEGINNER_3)
    assert_accessible(vc)
    shot(vc, "session-form")
    vc.goto(live_server + f"/committee/sessions/{sid}")
    invited = vc.locator("#invited")
    expect(invited).to_contain_text("愛知　太郎")
    assert_accessible(vc)
    invited.get_by_role("checkbox", name="愛知　太郎を選択").check()
    invited.get_by_role("button", name="選択した職員を登録").click()
    expect(vc.get_by_text("1名を登録しました。")).to_be_visible()
    vc.goto(live_server + f"/committee/sessions/{sid}")
    expect(vc.locator("#invited tr", has_text="愛知")).to_contain_text("登録済")
    shot(vc, "session-detail")
    vc.problems.check()
    ctx.close()
