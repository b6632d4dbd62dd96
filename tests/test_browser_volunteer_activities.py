"""In Chromium at phone size: a group's leader records an activity with who took part, the
liaison marks it as good practice, and another member reads it on the shared page; the
requests page and the public honours page too. Every page passes axe's WCAG 2.x A/AA
rules and has no sideways scroll."""
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


def check(page, name: str) -> None:
    assert_accessible(page)
    wide = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert wide <= 0, f"{name}: {wide}px of sideways scroll"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"volunteer-{name}.png"), full_page=True)


def menu(page, label: str) -> None:
    toggle = page.get_by_role("button", name="メニュー")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false":
        toggle.click()
    page.get_by_role("navigation", name="メニュー").get_by_role("link", name=label).click()


def test_leader_records_liaison_marks_member_reads(app, live_server, browser):  # noqa: F811
    ctx, leader = open_as(browser, live_server, "volunteer1", r"/volunteers/home$", PHONE)
    menu(leader, "活動の記録")
    expect(leader.get_by_role("heading", name="活動の記録", level=1)).to_be_visible()
    check(leader, "index")
    leader.get_by_role("link", name="活動を記録する").first.click()
    check(leader, "form")
    leader.get_by_label("活動の種類").select_option(label="広報啓発活動")
    leader.get_by_label("場所").fill("桜丘地区公民館")
    leader.get_by_label("対象（例: 地域の高齢者、中学生）").fill("地域の高齢者")
    leader.get_by_label("参加者数（対象となった人の数）").fill("35")
    leader.get_by_label("活動時間（分）", exact=True).fill("90")
    leader.get_by_label("活動の概要").fill("サポート詐欺の偽の警告画面を寸劇で紹介し、#9110を案内した。")
    leader.get_by_role("checkbox", name="港　健太").check()
    leader.get_by_label("港　健太さんの参加時間（分）").fill("200")
    leader.problems.allowed.append("status of 400")       # the refused form's answer
    leader.get_by_role("button", name="記録する").click()
    # Too long for the activity: refused, said where, nothing lost.
    expect(leader.get_by_role("alert")).to_contain_text("港　健太さんの参加時間（200分）が活動時間（90分）を超えています")
    expect(leader.get_by_label("活動の概要")).to_have_value(re.compile("寸劇で紹介"))
    check(leader, "form-error")
    leader.get_by_label("港　健太さんの参加時間（分）").fill("60")
    leader.get_by_role("button", name="記録する").click()
    expect(leader.get_by_text("広報啓発活動を記録しました。")).to_be_visible()
    card = leader.locator("article.vol-activity").first
    expect(card).to_contain_text("港　健太（1時間）")
    expect(leader.locator("#activity-totals")).to_contain_text("1件 1時間30分")
    check(leader, "list")
    leader.problems.check()
    ctx.close()

    ctx, liaison = open_as(browser, live_server, "liaison1", r"/volunteers/$", PHONE)
    menu(liaison, "活動の記録")
    liaison.get_by_role("link", name="活動の一覧").click()
    card = liaison.locator("article.vol-activity").first
    card.get_by_text("好事例の指定").click()
    card.get_by_label("好事例としての講評（他の団体にも表示されます）").fill("寸劇が分かりやすいと好評")
    check(liaison, "mark")
    card.get_by_role("button", name="好事例に指定する").click()
    expect(liaison.get_by_text("好事例に指定しました。")).to_be_visible()
    expect(liaison.locator("article.vol-activity").first.locator(".pill.good")).to_have_text("好事例")
    menu(liaison, "賞揚の記録")
    expect(liaison.get_by_label("賞揚の対象")).to_contain_text("港　健太")
    check(liaison, "commendations")
    liaison.problems.check()
    ctx.close()

    ctx, member = open_as(browser, live_server, "volunteer2", r"/volunteers/home$", PHONE)
    menu(member, "好事例")
    shared = member.locator("article.vol-activity").first
    expect(shared).to_contain_text("桜丘大学サイバー防犯ボランティア")
    expect(shared).to_contain_text("寸劇が分かりやすいと好評")
    expect(shared).not_to_contain_text("港　健太")
    check(member, "good-practices")
    menu(member, "要望と回答")
    member.get_by_label("件名").fill("講師の派遣")
    member.get_by_label("要望の内容").fill("学園祭での講演に署員の方をお願いしたいです。")
    member.get_by_role("button", name="要望を送る").click()
    expect(member.locator("#request-state")).to_have_text("未回答")
    check(member, "request")
    menu(member, "氏名の公表")
    member.get_by_role("checkbox").check()
    member.get_by_role("button", name="保存する").click()
    expect(member.locator("#consent-state")).to_contain_text("氏名を公表します")
    check(member, "consent")
    member.problems.check()
    ctx.close()


def test_the_public_honours_page_at_phone_size(app, live_server, browser):  # noqa: F811
    from datetime import date

    from sqlalchemy import select

    from app.extensions import db
    from app.models import Commendation, User, VolunteerGroup
    with app.app_context():
        group = db.session.scalar(select(VolunteerGroup).order_by(VolunteerGroup.id))
        chair = db.session.scalar(select(User).where(User.username == "chair"))
        db.session.add(Commendation(group_id=group.id, kind="thanks", awarded_on=date(2026, 11, 20),
                                    reason="高齢者向けのサポート詐欺対策講座を年間30回開催した",
                                    awarded_by="警察本部長", recorded_by=chair.id))
        db.session.commit()
    ctx = browser.new_context(viewport=PHONE, locale="ja-JP", timezone_id="Asia/Tokyo")
    page = ctx.new_page()
    page.problems = PageProblems(page)
    page.goto(live_server + "/honours/")
    expect(page.get_by_role("heading", level=1)).to_have_text("サイバー防犯ボランティアの表彰・感謝状")
    expect(page.locator("article.vol-honour")).to_contain_text("年間30回開催")
    check(page, "honours")
    page.set_viewport_size({"width": 320, "height": 700})
    check(page, "honours-320")
    page.problems.check()
    ctx.close()
