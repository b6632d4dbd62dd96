"""In Chromium at phone size: volunteer1 takes the last module of the starter course one
question per screen, reads the explanation after each answer, passes and completes the
course; the pages pass axe's WCAG 2.x A/AA rules and never scroll sideways."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import CourseCompletion, TrainingAttempt
from tests.a11y import assert_accessible
from tests.conftest import BROWSER_ONCE, Client
from tests.test_browser import ARTIFACTS, browser, live_server  # noqa: F401  (fixtures)
from tests.test_browser_invitations import PHONE, open_as
from tests.test_training_courses import TOPICS, attempt_row, posted_value, take_module

pytestmark = [pytest.mark.browser, BROWSER_ONCE]
expect.set_options(timeout=15_000)


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"training-{name}.png"), full_page=True)


def no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_a_volunteer_passes_a_module_and_completes_the_course(app, live_server, browser):  # noqa: F811
    # The first three modules through the HTTP client; the last one in the browser.
    c = Client(app)
    c.login("volunteer1")
    for module in TOPICS[:-1]:
        take_module(app, c, module, right=8)
    ctx, page = open_as(browser, live_server, "volunteer1", r"^(?!.*/login).*$", viewport=PHONE)
    page.goto(live_server + "/training/")
    expect(page.get_by_role("heading", name="サイバー防犯ボランティア基礎講座")).to_be_visible()
    expect(page.get_by_text("4単元中 3単元に合格")).to_be_visible()
    page.get_by_role("link", name="講座を開く").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("サイバー防犯ボランティア基礎講座")
    assert_accessible(page)
    no_sideways_scroll(page)
    shot(page, "course-phone")
    page.get_by_role("button", name="違法・有害情報の通報を受講する").click()
    page.wait_for_url(re.compile(r"/training/attempt/\d+$"))
    attempt = attempt_row(app, int(page.url.rsplit("/", 1)[1]))
    for position in range(1, attempt.total + 1):
        expect(page.get_by_text(f"{attempt.total}問中 {position}問目")).to_be_visible()
        if position == 1:
            assert_accessible(page)
            no_sideways_scroll(page)
            shot(page, "question-phone")
        value = posted_value(app, attempt, position, right=position != 2)
        page.locator(f'input[name="r{position}"][value="{value}"]').check()
        page.get_by_role("button", name="解答する").click()
        expect(page.get_by_role("heading", name="正解です" if position != 2 else "不正解です")).to_be_visible()
        expect(page.get_by_role("heading", name="解説")).to_be_visible()
        if position == 2:
            assert_accessible(page)
            no_sideways_scroll(page)
            shot(page, "feedback-phone")
        page.get_by_role("link", name="結果を見る" if position == attempt.total else "次の問題へ").click()
    expect(page.get_by_role("heading", name="合格です")).to_be_visible()
    expect(page.get_by_text("「サイバー防犯ボランティア基礎講座」を修了しました")).to_be_visible()
    expect(page.get_by_text("2時間")).to_be_visible()
    assert_accessible(page)
    no_sideways_scroll(page)
    shot(page, "result-phone")
    page.get_by_role("link", name="講座の単元一覧へ").click()
    expect(page.get_by_text(re.compile(r"修了しました：\d{4}年\d{2}月\d{2}日"))).to_be_visible()
    page.set_viewport_size({"width": 320, "height": 700})
    no_sideways_scroll(page)
    page.problems.check()
    ctx.close()
    with app.app_context():
        done = db.session.scalars(select(CourseCompletion)).one()
        assert (done.minutes, done.score, done.total) == (120, 31, 32)
        last = db.session.scalars(select(TrainingAttempt).order_by(TrainingAttempt.id.desc())).first()
        assert (last.correct, last.passed) == (7, True)


def test_the_progress_page_is_accessible_for_the_liaison(app, live_server, browser):  # noqa: F811
    ctx, page = open_as(browser, live_server, "liaison1", r"^(?!.*/login).*$", viewport=PHONE)
    page.goto(live_server + "/training/progress")
    expect(page.get_by_role("heading", name="桜丘大学サイバー防犯ボランティア")).to_be_visible()
    expect(page.get_by_text("みどり高校")).to_have_count(0)
    assert_accessible(page)
    no_sideways_scroll(page)
    shot(page, "progress-phone")
    page.problems.check()
    ctx.close()
