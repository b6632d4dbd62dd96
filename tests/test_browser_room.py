"""The proctor's room page in a real Chromium (Playwright): proctor1 signs in and opens the
room; a candidate (an HTTP client on the same app) enters and starts, and the row changes
without a reload; the proctor pauses them through the dialog with a reason, and the row
and the message say so; a failing poll shows the error state until the next one answers.

The test fails, never skips, without Chromium (the fixtures of tests/test_browser.py).
A screenshot goes to tests/artifacts/room-page.png."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.cli.demo import DEMO_PASSWORD
from app.extensions import db
from app.models import Attempt, User
# The browser (Debian's Chromium) and the live server come from the exam-page tests.
from tests.test_browser import ARTIFACTS, PageProblems, browser, live_server  # noqa: F401
from tests.test_room import beginner, enter, signed_in

pytestmark = pytest.mark.browser


@pytest.fixture
def artifacts():
    """tests/artifacts/, keeping what other tests put there; only room-*.png are replaced."""
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("room-*.png"):
        old.unlink()
    return ARTIFACTS


def test_the_proctor_sees_the_room_live_and_pauses_a_candidate(app, browser, live_server, artifacts):  # noqa: F811
    sid = beginner(app)
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == "candidate1"))
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="ja-JP",
                                  timezone_id="Asia/Tokyo")
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = PageProblems(page)
    try:
        page.goto(live_server + "/login")
        page.fill("#username", "proctor1")
        page.fill("#password", DEMO_PASSWORD)
        page.get_by_role("button", name="ログイン").click()
        page.wait_for_url(re.compile(r"/room/$"))                      # a proctor lands here
        page.get_by_role("link", name=re.compile("初級")).click()
        page.wait_for_url(re.compile(rf"/room/{sid}$"))
        row = page.locator(f"#seat-{uid}")
        expect(row.locator(".state-pill")).to_have_text("未入室")
        page.evaluate("window.sameDocument = true")                     # gone if the page reloads
        first = page.locator("#updated-at").inner_text()
        expect(page.locator("#updated-at")).not_to_have_text(first, timeout=15_000)

        # The candidate enters and starts on their own PC: the row follows, without a reload.
        candidate = signed_in(app, "candidate1")
        resp = enter(candidate, sid)
        attempt_id = int(re.search(r"/attempts/(\d+)", resp.location).group(1))
        candidate.get(resp.location)
        candidate.begin(attempt_id)
        expect(row.locator(".state-pill")).to_have_text("解答中", timeout=15_000)
        expect(row.locator(".seat-position")).to_have_text("1 / 40")
        expect(row.locator(".seat-left")).to_have_text(re.compile(r"^(59|60):\d\d$"))
        assert page.evaluate("window.sameDocument") is True

        # 一時中断 through the dialog, by keyboard: the reason is required.
        pause = row.get_by_role("button", name=re.compile("^一時中断"))
        expect(row.get_by_role("button", name=re.compile("^再開"))).to_be_disabled()
        pause.focus()
        page.keyboard.press("Enter")
        dialog = page.locator("#seat-dialog")
        expect(dialog).to_be_visible()
        expect(page.locator("#seat-dialog-title")).to_contain_text("一時中断")
        expect(page.locator("#seat-dialog-reason")).to_be_focused()
        page.locator("#seat-dialog-submit").click()
        expect(dialog).to_be_visible()                                  # no reason, no post
        assert page.locator("#seat-dialog-reason").evaluate("el => el.validity.valueMissing")
        page.keyboard.type("体調不良の申し出")
        page.locator("#seat-dialog-submit").click()
        expect(dialog).to_be_hidden()
        expect(page.locator("#room-message")).to_have_text("一時中断しました。")
        expect(row.locator(".state-pill")).to_have_text("一時中断")
        expect(row.locator(".seat-pause-reason")).to_have_text("体調不良の申し出")
        expect(row.get_by_role("button", name=re.compile("^再開"))).to_be_enabled()
        expect(pause).to_be_disabled()
        with app.app_context():
            a = db.session.get(Attempt, attempt_id)
            assert a.paused_at is not None and a.pause_reason == "体調不良の申し出"

        # The filter by state, in the page.
        page.select_option("#filter-state", "paused")
        expect(row).to_be_visible()
        expect(page.locator("tr.seat:visible")).to_have_count(1)
        assert page.url.endswith("?state=paused")
        page.select_option("#filter-state", "")
        expect(page.locator("tr.seat:visible")).to_have_count(3)

        # A failing poll is shown, and cleared by the next one that answers.
        page.route(re.compile(r"/room/\d+/state$"), lambda route: route.abort())
        expect(page.locator("#poll-error")).to_be_visible(timeout=15_000)
        expect(page.locator("#poll-error")).to_contain_text("最新の状態を取得できません")
        page.unroute(re.compile(r"/room/\d+/state$"))
        expect(page.locator("#poll-error")).to_be_hidden(timeout=15_000)
        assert page.evaluate("window.sameDocument") is True
        page.screenshot(path=str(artifacts / "room-page.png"), full_page=True)
        # The aborted requests are the only console errors this page may have.
        problems.errors = [e for e in problems.errors if "ERR_FAILED" not in e]
        problems.check()
    finally:
        context.close()
