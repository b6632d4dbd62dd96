"""The exam room in a real Chromium, continued: extra time that outlasts the room's
deadline, and the room's access rules (allowed networks, Safe Exam Browser) refusing a
browser with a message in Japanese. The fixtures and helpers are the exam-page tests'."""
from __future__ import annotations

import hashlib
import re
from urllib.parse import urljoin
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Attempt, AuditEvent, utcnow
# The browser (Debian's Chromium; a failure, never a skip, when it is missing), the live
# server and the helpers come from the exam-page tests.
from tests.test_browser import (PageProblems, answer_with_mouse, beginner_card, browser,  # noqa: F401
                                context, current, live_server, login_and_start, page,
                                server_steps, sign_in, wait_saved)
from tests.test_browser_room_candidate import (DESKTOP, beginner, give_extra_minutes,
                                               room_settings)

pytestmark = pytest.mark.browser


def attempt(app, attempt_id: int) -> Attempt:
    with app.app_context():
        a = db.session.get(Attempt, attempt_id)
        db.session.expunge(a)
        db.session.remove()
    return a


def shift(app, attempt_ids: list[int], by: timedelta) -> None:
    """Both clocks moved back by the same amount, as if the exam had begun that long ago:
    the deadlines the server set at the start keep their distance."""
    with app.app_context():
        for a in db.session.scalars(select(Attempt).where(Attempt.id.in_(attempt_ids))):
            a.started_at, a.deadline = a.started_at - by, a.deadline - by
        db.session.commit()
        db.session.remove()


def single_positions(page) -> list[int]:
    return page.eval_on_selector_all(
        "section.question",
        "ss => ss.filter(s => s.dataset.type === 'single').map(s => +s.dataset.position)")


def test_extra_time_keeps_a_candidate_answering_after_the_others_deadline(app, live_server, browser,
                                                                           page):
    sid = beginner(app)
    give_extra_minutes(app, sid, "candidate1", 20)
    extended = login_and_start(page, live_server, "candidate1")
    expect(page.locator("#timer")).to_have_text(re.compile(r"^1:(19|20):\d\d$"))   # 60 + 20 minutes

    other_ctx = browser.new_context(viewport=DESKTOP, locale="ja-JP", timezone_id="Asia/Tokyo")
    other = other_ctx.new_page()
    other.problems = PageProblems(other)
    other.problems.allowed.append("status of 409")               # the save after its deadline
    plain = login_and_start(other, live_server, "candidate2")
    a, b = attempt(app, extended), attempt(app, plain)
    # The server set both deadlines at the start: 20 minutes apart, less the seconds between
    # the two starts.
    gap = (a.deadline - b.deadline) - (a.started_at - b.started_at)
    assert gap == timedelta(minutes=20), gap

    # The others' deadline has passed (both clocks moved back alike).
    shift(app, [extended, plain], b.deadline - utcnow() + timedelta(seconds=2))
    pos = single_positions(other)[0]
    other.locator(f'.qnav-btn[data-goto="{pos}"]').click()
    answer_with_mouse(other, current(other), pos)
    other.wait_for_url(re.compile(rf"/exam/attempts/{plain}/done$"), timeout=30_000)
    late = attempt(app, plain)
    assert late.submitted_by == "deadline" and pos not in server_steps(app, plain)
    other_ctx.close()

    # The candidate with extra time answers on, and the server keeps it.
    pos = single_positions(page)[1]
    page.locator(f'.qnav-btn[data-goto="{pos}"]').click()
    given = answer_with_mouse(page, current(page), pos)
    wait_saved(page)
    assert server_steps(app, extended)[pos] == (given, False)
    still = attempt(app, extended)
    assert still.submitted_at is None and still.deadline > utcnow() + timedelta(minutes=19)
    page.reload()
    expect(page.locator("#timer")).to_have_text(re.compile(r"^(19|20):\d\d$"))
    page.problems.check()


def refused_events(app) -> list[str]:
    import json
    with app.app_context():
        out = [json.loads(e.detail_json)["reason"] for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "access_refused").order_by(AuditEvent.id))]
        db.session.remove()
    return out


def test_an_address_outside_the_allowed_networks_is_refused(app, live_server, page):
    sid = beginner(app)
    room_settings(app, sid, allowed_networks="10.20.0.0/16\n192.168.10.0/24\n")
    page.problems.allowed.append("status of 403")
    sign_in(page, live_server)
    beginner_card(page).get_by_role("button", name="入室する").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    body = page.locator("body")
    expect(body).to_contain_text("この端末のネットワーク（127.0.0.1）からは受検できません")
    assert refused_events(app) == ["network"]
    with app.app_context():
        assert db.session.scalar(select(Attempt.id).where(Attempt.session_id == sid)) is None
        db.session.remove()

    # The room's range corrected: the same browser goes in.
    room_settings(app, sid, allowed_networks="127.0.0.0/8\n")
    page.goto(live_server + "/exam/")
    beginner_card(page).get_by_role("button", name="入室する").click()
    expect(page.locator("#lobby")).to_be_visible()


def test_safe_exam_browser_is_required_where_the_room_says_so(app, live_server, page):
    sid = beginner(app)
    config_key = hashlib.sha256(b"the room's SEB configuration").hexdigest()
    room_settings(app, sid, seb_config_keys=config_key + "\n")
    page.problems.allowed.append("status of 403")
    sign_in(page, live_server)
    beginner_card(page).get_by_role("button", name="入室する").click()
    expect(page.locator("body")).to_contain_text("この試験は Safe Exam Browser で受検してください")
    assert refused_events(app) == ["seb_missing"]

    # Safe Exam Browser sends, with every request, SHA-256 of the full URL followed by the
    # Config Key; here the page's requests get that header as SEB would add it. A redirect
    # is a request of its own with its own URL's hash: Playwright would carry the first
    # request's headers onto it, so the handler follows it itself.
    def seb_headers(url, headers):
        url = url.split("#", 1)[0]
        return {**headers, "x-safeexambrowser-configkeyhash":
                hashlib.sha256((url + config_key).encode()).hexdigest()}

    def as_seb(route, request):
        resp = route.fetch(headers=seb_headers(request.url, request.headers), max_redirects=0)
        while 300 <= resp.status < 400:
            url = urljoin(request.url, resp.headers["location"])
            resp = page.context.request.get(url, headers=seb_headers(url, {}), max_redirects=0)
        route.fulfill(response=resp)
    page.route(re.compile(r".*/exam/.*"), as_seb)
    page.goto(live_server + "/exam/")
    beginner_card(page).get_by_role("button", name="入室する").click()
    expect(page.locator("#lobby")).to_be_visible()
    with app.app_context():
        attempt_id = db.session.scalar(select(Attempt.id).where(Attempt.session_id == sid))
        db.session.remove()
    page.goto(live_server + f"/exam/attempts/{attempt_id}")   # the lobby at its own address
    expect(page.locator("#lobby")).to_be_visible()
    page.get_by_label("上記を確認しました").check()
    page.get_by_role("button", name="開始", exact=True).click()
    expect(page.locator("section.question")).to_have_count(40)
    pos = single_positions(page)[0]
    page.locator(f'.qnav-btn[data-goto="{pos}"]').click()
    answer_with_mouse(page, current(page), pos)
    wait_saved(page)                          # the saves carry it too

    # Another configuration's key (SEB set up for another exam) is refused.
    page.unroute(re.compile(r".*/exam/.*"))
    config_key = hashlib.sha256(b"another exam").hexdigest()
    page.route(re.compile(r".*/exam/.*"), as_seb)
    page.reload()
    expect(page.locator("body")).to_contain_text("Safe Exam Browser の設定がこの試験のものと一致しません")
    assert refused_events(app)[-1] == "seb_mismatch"
