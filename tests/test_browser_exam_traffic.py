"""What the exam page sends besides the answers, in a real Chromium.

At a synchronized start of 2,000 candidates every request counts (bench/exam_load.py), so
the page stores the question on screen through the saves, which carry their position, and
pings the position only when the candidate leaves a question unanswered for a while or
leaves the page. These tests hold the page to that, and check that the position still
reaches the server in both cases (signing in again resumes there)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import Attempt
# The browser (Debian's Chromium; a failure, never a skip, when it is missing), the live
# server and the helpers come from the exam-page tests.
from tests.test_browser import (answer_with_mouse, browser, context, current, live_server,  # noqa: F401
                                login_and_start, page, wait_saved, wait_until)

pytestmark = pytest.mark.browser


def last_position(app, attempt_id: int) -> int:
    with app.app_context():
        pos = db.session.get(Attempt, attempt_id).last_position
        db.session.remove()
    return pos


def test_answers_carry_the_position_and_no_ping_is_sent(app, live_server, page):
    requests = []
    page.on("request", lambda r: requests.append((r.method, r.url)))
    attempt_id = login_and_start(page, live_server)
    for pos in (1, 2, 3):
        if pos > 1:
            page.get_by_role("button", name="次の問題 →").click()
        answer_with_mouse(page, current(page), pos)
        wait_saved(page)
    assert last_position(app, attempt_id) == 3
    posted = [u for m, u in requests if m == "POST"]
    assert sum(u.endswith("/answers") for u in posted) >= 3
    assert not [u for u in posted if u.endswith("/position")], posted
    assert not [u for m, u in requests if m == "GET" and u.endswith("/state")]
    page.problems.check()


def test_moving_between_questions_asks_for_the_icon_once_at_most(app, live_server, page):
    """Chromium asks for the page's icon again at every change of the address, which the
    exam page makes (#q=N) at every question: with no lifetime on the icon each move was a
    request to the server (a 304), 2,000 candidates moving every few seconds."""
    asked = []
    wsgi = app.wsgi_app

    def counting(environ, start_response):
        if environ.get("PATH_INFO", "").endswith("favicon.ico"):
            asked.append(environ.get("HTTP_IF_NONE_MATCH") or "fresh")
        return wsgi(environ, start_response)
    app.wsgi_app = counting
    try:
        login_and_start(page, live_server)
        for pos in range(2, 12):
            page.get_by_role("button", name="次の問題 →").click()
            expect(page).to_have_url(re.compile(rf"#q={pos}$"))
        answer_with_mouse(page, current(page), 11)
        wait_saved(page)             # a request made after the moves: their icon requests came first
    finally:
        app.wsgi_app = wsgi
    assert len(asked) <= 2, asked    # the sign-in page's and the exam page's, from the cache after
    page.problems.check()


def test_leaving_an_unanswered_question_stores_its_position(app, live_server, context, page):
    attempt_id = login_and_start(page, live_server)
    answer_with_mouse(page, current(page), 1)
    wait_saved(page)
    page.locator('.qnav-btn[data-goto="7"]').click()
    expect(page).to_have_url(re.compile(r"#q=7$"))
    assert last_position(app, attempt_id) == 1          # no ping yet: the page waits
    page.goto(live_server + "/exam/")                   # leaving the exam page
    # A keep-alive request outlives the page (Playwright does not report it as the page's):
    # the server stores it.
    wait_until(lambda: last_position(app, attempt_id) == 7, "position 7 is stored")
    # Opening the attempt again (no #q= in the address) resumes at question 7.
    page.goto(f"{live_server}/exam/attempts/{attempt_id}")
    expect(current(page)).to_have_attribute("data-position", "7")
    page.problems.check()


def test_staying_on_an_unanswered_question_pings_its_position(app, live_server, page):
    page.clock.install()                     # the page's timers, under the test's control
    attempt_id = login_and_start(page, live_server)
    answer_with_mouse(page, current(page), 1)
    wait_saved(page)
    page.locator('.qnav-btn[data-goto="9"]').click()
    page.clock.fast_forward(10_000)
    page.wait_for_timeout(300)
    assert last_position(app, attempt_id) == 1       # 10 s: not yet
    with page.expect_request(lambda r: r.url.endswith("/position")) as sent:
        page.clock.fast_forward(6_000)
    assert sent.value.post_data_json == {"position": 9}
    wait_until(lambda: last_position(app, attempt_id) == 9, "position 9 is stored")
    page.problems.check()
