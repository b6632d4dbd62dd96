"""A candidate's result pages in Chromium: the submitted page waiting for certification, the
certified result with its rates per area, the per-question review, the committee's sheet
filtered to the wrong answers, and the registration of someone who already holds the level;
axe-core (WCAG 2.0-2.2 A and AA) on each, at desktop
width and at 390 px, with no sideways scrolling on the phone.

Screenshots go to tests/artifacts/result-*.png. The test fails, never skips, without
Chromium (the fixtures of tests/test_browser.py)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.cli.demo import DEMO_PASSWORD
from app.extensions import db
from app.models import PassRecord, Registration, SessionDetail, Staff, User
from tests.a11y import assert_accessible
from tests.conftest import BROWSER_ONCE
from tests.test_browser import ARTIFACTS, PageProblems, browser, live_server, sign_in  # noqa: F401
from tests.test_certify import certify
from tests.test_review import affiliation, login, person, right_first, session_id, sit

pytestmark = [pytest.mark.browser, BROWSER_ONCE]

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def sheets(app):
    """candidate1's sheet certified (30/40) in a session that shows the per-question review,
    candidate2's (20/40) submitted and not yet certified."""
    sid = session_id(app)
    aff = affiliation(app, "B01", "画面警察署")
    own = sit(app, sid, person(app, "candidate1", "B0001", affiliation_id=aff, register_in=sid),
              right_first(30))
    pending = sit(app, sid, person(app, "candidate2", "B0002", affiliation_id=aff, register_in=sid),
                  right_first(20))
    with app.app_context():
        db.session.merge(SessionDetail(session_id=sid, format="cbt", show_review=True))
        db.session.commit()
    assert certify(login(app, "vicechair"), sid, [own]).status_code == 302
    return sid, own, pending


def open_page(browser, size):  # noqa: F811 (the fixture's name)
    ctx = browser.new_context(viewport=SIZES[size], locale="ja-JP", timezone_id="Asia/Tokyo")
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    page.problems = PageProblems(page)
    return ctx, page


def staff_sign_in(page, base: str, username: str) -> None:
    """Sign in as someone whose landing page is not the candidate's (sign_in waits for that)."""
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(lambda url: "/login" not in url)


def check(page, name: str, size: str) -> None:
    """axe clean, no sideways scrolling on the phone, no script or CSP error; a screenshot."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"result-{name}-{size}.png"), full_page=True)
    assert_accessible(page)
    if size == "phone":
        overflow = page.evaluate("document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth")
        assert overflow <= 0, f"{name}: {overflow}px of sideways scrolling at 390px"
    page.problems.check()


@pytest.mark.parametrize("size", list(SIZES))
def test_the_candidates_result_pages_are_accessible(browser, live_server, sheets, size):  # noqa: F811
    _sid, own, pending = sheets
    ctx, page = open_page(browser, size)
    try:
        sign_in(page, live_server, "candidate2")
        page.goto(f"{live_server}/exam/attempts/{pending}/done")
        expect(page.locator("h1")).to_have_text("解答を提出しました")
        expect(page.locator("#pending-result")).to_contain_text("委員会の認定後に表示されます")
        check(page, "pending", size)
        page.context.clear_cookies()

        sign_in(page, live_server, "candidate1")
        expect(page.locator(f"#past-{own} table.area-rates tbody tr")).not_to_have_count(0)
        check(page, "home", size)
        page.locator(f"#past-{own}").get_by_role("link", name=re.compile("結果の詳細")).click()
        expect(page.locator("h1")).to_have_text("検定結果: 初級 合格")
        rows = page.locator("table.area-rates tbody tr")
        expect(rows).not_to_have_count(0)
        check(page, "done", size)

        page.get_by_role("link", name="問題ごとの正誤と解説を見る").click()
        expect(page.locator("h1")).to_have_text("問題ごとの正誤と解説")
        expect(page.locator("section.question")).to_have_count(40)
        page.get_by_role("link", name="誤答のみ（10問）").click()
        expect(page.locator("section.question")).to_have_count(10)
        expect(page.get_by_role("link", name="誤答のみ（10問）")).to_have_attribute("aria-current", "page")
        check(page, "review", size)
    finally:
        ctx.close()


def test_the_committees_sheet_filter_and_area_chart(browser, live_server, sheets):  # noqa: F811
    sid, own, _pending = sheets
    ctx, page = open_page(browser, "desktop")
    try:
        staff_sign_in(page, live_server, "committee1")
        page.goto(f"{live_server}/committee/review/sessions/{sid}/sheets/{own}")
        expect(page.locator("section.question")).to_have_count(40)
        page.get_by_role("link", name="誤答のみ（10問）").click()
        expect(page.locator("section.question")).to_have_count(10)
        expect(page.locator("#sheet-filter-note")).to_contain_text("不正解・未解答の10問")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "result-sheet-wrong.png"), full_page=True)
        assert_accessible(page, "#sheet-filter")
        assert_accessible(page, "table.area-rates")
        # The area chart: every label whole, and inside the drawing (nothing cut at its edge).
        page.goto(f"{live_server}/committee/review/sessions/{sid}")
        chart = page.locator("#area-chart")
        expect(chart).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "result-area-chart.png"), full_page=True)
        labels = chart.locator("text[text-anchor=end]")
        expect(labels).not_to_have_count(0)
        texts = [t.replace("\n", "") for t in labels.all_text_contents()]
        assert "インターネットその他の高度情報通信ネットワークに関する知識" in texts, texts
        box = chart.bounding_box()
        for i in range(labels.count()):
            b = labels.nth(i).bounding_box()
            assert b["x"] >= box["x"] - 0.5 and b["x"] + b["width"] <= box["x"] + box["width"] + 0.5
            assert b["y"] >= box["y"] - 0.5 and b["y"] + b["height"] <= box["y"] + box["height"] + 0.5
        page.problems.check()
    finally:
        ctx.close()


def test_registering_someone_who_holds_the_level_asks_first(app, browser, live_server):  # noqa: F811
    """The vice-chair registers 尾張 花子, who holds 中級 (警察庁): the list says so, the
    registration waits, and a second, deliberate button registers her."""
    sid = session_id(app, "intermediate")
    with app.app_context():
        staff = db.session.scalar(select(Staff).where(Staff.staff_number == "100002"))
        recorder = db.session.scalar(select(User.id).where(User.username == "vicechair"))
        db.session.add(PassRecord(staff_id=staff.id, level="intermediate", fiscal_year=2024,
                                  source="npa", recorded_by=recorder))
        db.session.commit()
        staff_id, user_id = staff.id, staff.user_id
    ctx, page = open_page(browser, "desktop")
    try:
        staff_sign_in(page, live_server, "vicechair")
        page.goto(f"{live_server}/committee/sessions/{sid}/candidates?q=100002")
        row = page.locator("tr", has=page.locator(f"#staff-{staff_id}"))
        expect(row.locator(".held-note")).to_contain_text("中級に合格済み: 2024年度（令和6年度）、警察庁の検定")
        page.check(f"#staff-{staff_id}")
        page.get_by_role("button", name="選択した職員を登録").click()
        warning = page.locator("#held-warning")
        expect(warning).to_contain_text("既に中級に合格している者（1名）")
        expect(page.locator("#outcome")).to_contain_text("0名を登録しました")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "result-held-warning.png"), full_page=True)
        assert_accessible(page, "#outcome")
        with app.app_context():
            assert db.session.scalar(select(Registration).where(
                Registration.session_id == sid, Registration.user_id == user_id)) is None
        warning.get_by_role("button", name="合格済みであることを確認のうえ登録する").click()
        expect(page.locator("#outcome")).to_contain_text("1名を登録しました")
        expect(page.locator("#held-warning")).to_have_count(0)
        with app.app_context():
            assert db.session.scalar(select(Registration).where(
                Registration.session_id == sid, Registration.user_id == user_id)) is not None
        page.problems.check()
    finally:
        ctx.close()


def test_the_committee_turns_the_per_question_review_on(app, browser, live_server):  # noqa: F811
    sid = session_id(app)
    ctx, page = open_page(browser, "phone")
    try:
        staff_sign_in(page, live_server, "vicechair")
        page.goto(f"{live_server}/committee/sessions/{sid}/edit")
        box = page.get_by_label("認定後、受検者に問題ごとの正誤・正答・解説を表示する")
        expect(box).not_to_be_checked()
        assert_accessible(page, ".check-field")
        box.check()
        page.screenshot(path=str(ARTIFACTS / "result-setting-phone.png"), full_page=True)
        page.get_by_role("button", name="保存する").click()
        page.wait_for_url(re.compile(rf"/committee/sessions/{sid}$"))
        expect(page.locator("#show-review")).to_have_text("認定後に受検者へ表示する")
        with app.app_context():
            assert db.session.get(SessionDetail, sid).show_review is True
        page.problems.check()
    finally:
        ctx.close()
