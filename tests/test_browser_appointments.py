"""In Chromium: the chair nominates a committee member and ends the appointment on the
appointments page, and the vice-chair certifies a sheet as the committee's decision; both
pages pass axe (WCAG 2.x A/AA) at desktop and phone width."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.cli.demo import DEMO_PASSWORD
from tests.a11y import assert_accessible
from tests.conftest import BROWSER_ONCE
from tests.test_browser import browser, context, live_server, page  # noqa: F401  (fixtures)
from tests.test_review import affiliation, person, right_first, session_id, sit

pytestmark = [pytest.mark.browser, BROWSER_ONCE]


def sign_in(page, base, username):
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(lambda url: not url.endswith("/login"))


def test_the_chair_nominates_and_ends_a_member(live_server, page):
    sign_in(page, live_server, "chair")
    page.goto(live_server + "/admin/appointments")
    assert_accessible(page)
    page.get_by_label("ユーザーID又は職員番号").fill("candidate3")
    page.get_by_label("役割").select_option(label="委員")
    page.get_by_label("根拠・備考（任意）").fill("令和8年度第1回委員会で指名")
    page.get_by_role("button", name="任命を記録する").click()
    expect(page.locator("body")).to_contain_text("三河 次郎（受検者）さんを委員に任命しました")
    row = page.locator("#current-committee tbody tr", has_text="candidate3")
    expect(row).to_contain_text("サイバー局長（委員長）")
    expect(row).to_contain_text("令和8年度第1回委員会で指名")
    assert_accessible(page)
    row.locator("summary", has_text="任命を終了する").click()
    row.get_by_label("終了の理由").fill("本人の異動")
    row.get_by_role("button", name="任命の終了を記録する").click()
    expect(page.locator("body")).to_contain_text("委員の任命を終了しました")
    expect(page.locator("#current-committee")).not_to_contain_text("candidate3")
    expect(page.locator("#past-appointments tbody tr", has_text="candidate3")).to_contain_text("本人の異動")
    page.set_viewport_size({"width": 390, "height": 844})
    assert_accessible(page)
    page.problems.check()


def test_the_vice_chair_certifies_as_the_committee(app, live_server, page):
    sid = session_id(app)
    aff = affiliation(app, "T01", "試験警察署")
    uid = person(app, "candidate1", "D0001", affiliation_id=aff, register_in=sid)
    aid = sit(app, sid, uid, right_first(30))
    sign_in(page, live_server, "vicechair")
    page.goto(f"{live_server}/committee/review/sessions/{sid}")
    form = page.locator("#committee-decision")
    expect(form.get_by_label("会議の日付（書面の場合は決定の日付）")).to_have_value(re.compile(r"\d{4}-\d{2}-\d{2}"))
    assert_accessible(page, "#committee-decision")
    page.get_by_role("radio", name="書面").check()
    page.get_by_label("サイバー局長（委員長）（委員長）").check()
    page.get_by_label("検定 委員（委員）（委員）").check()
    page.locator(f'input[name="attempt"][value="{aid}"]').check()
    page.get_by_role("button", name="選択した答案を認定する").click()
    expect(page.locator("body")).to_contain_text("書面、委員2人）として記録しました")
    decision = page.locator("#decisions tbody tr")
    expect(decision).to_contain_text("サイバー局長（委員長）、検定 委員（委員）")
    expect(decision).to_contain_text("1件")
    page.set_viewport_size({"width": 390, "height": 844})
    assert_accessible(page, "#decisions")
    page.problems.check()
