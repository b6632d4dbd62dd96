"""The candidate's pages on a phone (390x844, touch), at 400% zoom (320 CSS px wide, WCAG
1.4.10) and on a desktop, in Chromium: no sideways scrolling, axe-core with no violation of
the WCAG 2.0-2.2 A and AA rules, the exam's one-line bar and its question panel, the notice
of a newer tab, and the confirm page's countdown to the deadline.

Screenshots land in tests/artifacts/phone-*.png. Uses the fixtures of tests/test_browser.py
(they fail, never skip, without Chromium)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.models import utcnow
from tests.a11y import assert_accessible
from tests.conftest import PG_URL
from tests.test_browser import (  # noqa: F401  (fixtures)
    ARTIFACTS,
    PageProblems,
    beginner_card,
    browser,
    confirm_and_start,
    current,
    enter_lobby,
    live_server,
    load_attempt,
    login_and_start,
    set_deadline,
    sign_in,
    wait_saved,
)
from tests.test_browser_room_candidate import act, beginner, proctor, user_id

pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    bool(PG_URL), reason="markup, layout and axe do not depend on the database: checked in the "
                         "SQLite half of `make test` (the PostgreSQL half would repeat them)")]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 3}
ZOOM_400 = {"viewport": {"width": 320, "height": 256}}     # a 1280x1024 screen at 400%
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
SIZES = {"phone": PHONE, "zoom400": ZOOM_400, "desktop": DESKTOP}


@pytest.fixture(scope="module")
def artifacts():
    """tests/artifacts/, keeping what other tests put there; phone-*.png replaced."""
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("phone-*.png"):
        old.unlink()
    return ARTIFACTS


@pytest.fixture
def open_at(browser):
    """open_at(size): a new page in a browser context of that size, closed after the test."""
    made = []

    def open_page(size: dict):
        ctx = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", **size)
        ctx.set_default_timeout(10_000)
        made.append(ctx)
        page = ctx.new_page()
        page.problems = PageProblems(page)
        return page

    yield open_page
    for ctx in made:
        ctx.close()


def sideways(page) -> int:
    """How far the page scrolls sideways (0 when it reflows)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


# What a finger or a pointer aims at (links inside a sentence are exempt from 2.5.8).
TARGETS = ("button, a.button, input[type=submit], input[type=text], ul.chips a, label.choice, "
           "label.flag, label.confirm-box, td.go a")
SMALL_TARGETS = """sel => Array.from(document.querySelectorAll(sel))
    .filter(e => e.getClientRects().length && !e.closest('[hidden]'))
    .filter(e => { const r = e.getBoundingClientRect(); return r.width < 24 || r.height < 24; })
    .map(e => e.outerHTML.slice(0, 100))"""


def check(page, artifacts, name: str) -> None:
    """No sideways scrolling, no axe violation, targets of 24 px at least, a screenshot."""
    page.screenshot(path=str(artifacts / f"phone-{name}.png"))
    assert sideways(page) <= 0, f"{name}: the page scrolls sideways by {sideways(page)} px"
    assert_accessible(page)
    assert page.evaluate(SMALL_TARGETS, TARGETS) == [], f"{name}: targets under 24 px"


def answer(section, nth: int = 0) -> None:
    """Any answer to the shown question, whatever its type."""
    if section.locator("input.text-answer").count():
        section.locator("input.text-answer").fill(f"answer {nth}")   # saved after a pause
    else:
        section.locator("fieldset.answer input").nth(nth).check()


def box(page, selector: str) -> dict:
    return page.locator(selector).bounding_box()


@pytest.mark.parametrize("size", SIZES)
def test_lobby_exam_confirm_and_practice_reflow_and_pass_axe(app, live_server, open_at, artifacts, size):
    page = open_at(SIZES[size])
    sign_in(page, live_server)
    check(page, artifacts, f"{size}-home")
    enter_lobby(page, beginner_card(page))
    check(page, artifacts, f"{size}-lobby")
    confirm_and_start(page, 40)
    expect(page.locator("h1.exam-title")).to_have_count(1)      # the exam page's heading
    section = current(page)
    answer(section)
    section.locator(".flag-box").check()                         # 見直し, in its warning colour
    wait_saved(page)
    expect(page.locator('.qnav-btn[data-goto="1"]')).to_have_class(re.compile(r"\bflagged\b"))
    check(page, artifacts, f"{size}-exam")
    page.locator("#next").click()
    expect(page.locator("#q-2")).to_be_visible()
    check(page, artifacts, f"{size}-exam-next")
    if size == "zoom400":
        # Every question of the form reflows at 320 px, code blocks and long URLs too.
        for pos in range(3, 41):
            page.evaluate(f"location.hash = '#q={pos}'")
            expect(page.locator(f"#q-{pos}")).to_be_visible()
            assert sideways(page) <= 0, f"question {pos} scrolls sideways"
            if page.locator(f"#q-{pos} pre").count():
                assert_accessible(page, f"#q-{pos}")
    if size != "desktop":
        page.locator("#qnav-toggle").click()
        expect(page.locator("#qnav")).to_be_visible()
        check(page, artifacts, f"{size}-exam-panel")
        page.keyboard.press("Escape")
        expect(page.locator("#qnav")).to_be_hidden()
    page.locator("#to-confirm").click()
    page.wait_for_url(re.compile(r"/confirm$"))
    check(page, artifacts, f"{size}-confirm")
    page.goto(live_server + "/exam/practice/")
    check(page, artifacts, f"{size}-practice")
    page.goto(live_server + "/exam/practice/question?level=beginner")
    check(page, artifacts, f"{size}-practice-question")
    answer(page.locator("section.question.practice"))
    page.get_by_role("button", name="解答する").click()
    expect(page.locator(".feedback")).to_be_visible()
    check(page, artifacts, f"{size}-practice-feedback")
    page.problems.check()


def test_the_exam_on_a_phone(app, live_server, open_at, artifacts):
    """The question first, the panel one tap away, a bar of one short line, a readable save
    status, and after 次の問題 the new question's heading whole below the bar."""
    page = open_at(PHONE)
    login_and_start(page, live_server)
    width = page.viewport_size["width"]
    # The question first: the panel is closed, the question's heading is on the screen.
    expect(page.locator("#qnav")).to_be_hidden()
    assert box(page, "#qh-1")["y"] + box(page, "#qh-1")["height"] <= page.viewport_size["height"]
    # The bar: one line, the clock, the save status and 問題一覧 side by side.
    bar = box(page, ".exam-bar")
    assert bar["height"] <= 56, bar
    parts = [box(page, s) for s in ("#timer-box", "#save-status", "#qnav-toggle")]
    assert all(p["y"] >= bar["y"] and p["y"] + p["height"] <= bar["y"] + bar["height"] for p in parts)
    assert parts[0]["x"] < parts[1]["x"] < parts[2]["x"]
    # The save status, readable: on the screen whole, text of a readable size.
    answer(current(page))
    wait_saved(page)
    status = box(page, "#save-status")
    assert status["x"] >= 0 and status["x"] + status["width"] <= width
    assert page.evaluate("""() => { const s = document.getElementById('save-status');
        return s.scrollWidth <= s.clientWidth && parseFloat(getComputedStyle(s).fontSize) >= 12; }""")
    assert box(page, ".exam-bar")["height"] <= 56

    # The panel, one tap away: it opens over the page, the current question focused.
    page.locator("#qnav-toggle").tap()
    expect(page.locator("#qnav-toggle")).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#qnav")).to_be_visible()
    expect(page.locator('.qnav-btn[data-goto="1"]')).to_be_focused()
    assert box(page, "#qnav")["y"] >= box(page, ".exam-bar")["y"] + box(page, ".exam-bar")["height"]
    page.screenshot(path=str(artifacts / "phone-panel-open.png"))
    page.locator('.qnav-btn[data-goto="5"]').tap()
    expect(page.locator("#qnav")).to_be_hidden()
    expect(page.locator("#qnav-toggle")).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#q-5")).to_be_visible()
    expect(page.locator("#qh-5")).to_be_focused()

    # 次の問題 at the foot of a question taller than the screen, to another as tall
    # (larger text makes most of them so): the next heading lies whole just below the
    # sticky bar, not under it.
    # A smaller phone's screen (iPhone SE's, less the browser's bars), so that a random
    # form surely has two such questions in a row.
    page.get_by_role("button", name="文字を大きく").tap()
    page.set_viewport_size({"width": PHONE["viewport"]["width"], "height": 560})
    tall = []
    while True:
        tall.append(page.evaluate("document.documentElement.scrollHeight > innerHeight + 300"))
        if tall[-2:] == [True, True]:
            break
        if page.locator("#next").is_disabled():
            pytest.fail(f"no two questions in a row taller than the screen, even with larger text: {tall}")
        page.locator("#next").tap()
    page.locator("#prev").tap()
    pos = int(current(page).get_attribute("data-position"))
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_function("() => window.scrollY > 200")
    page.locator("#next").tap()
    expect(page.locator(f"#q-{pos + 1}")).to_be_visible()
    expect(page.locator(f"#qh-{pos + 1}")).to_be_focused()
    page.wait_for_function(f"""() => {{
        const bar = document.querySelector('.exam-bar').getBoundingClientRect();
        const h = document.getElementById('qh-{pos + 1}').getBoundingClientRect();
        return h.top >= bar.bottom && h.bottom <= innerHeight; }}""")
    assert page.evaluate("window.scrollY") > 0          # the bar is stuck at the top
    page.screenshot(path=str(artifacts / "phone-after-next.png"))
    assert sideways(page) <= 0
    page.problems.check()


def test_a_newer_tab_stops_the_older_on_a_readable_panel(app, live_server, open_at, artifacts):
    page = open_at(PHONE)
    login_and_start(page, live_server)
    answer(current(page))
    wait_saved(page)
    newer = page.context.new_page()
    newer.goto(page.url)
    answer(current(newer), 1)
    wait_saved(newer)
    # The older tab's next save builds on a sequence number the server has passed.
    page.problems.allowed.append("409")
    current(page).locator(".flag-box").tap()
    panel = page.locator(".blocker-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("heading")).to_have_text("この画面では続けられません")
    expect(panel).to_contain_text("別のウィンドウやタブで")
    expect(page.locator("#blocker-reload")).to_be_focused()
    # Dark text on a white panel, not white text on the dimmed page; the page behind it
    # can be neither tabbed to nor tapped.
    assert panel.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 255, 255)"
    assert page.locator("#blocker-msg").evaluate("e => getComputedStyle(e).color") != "rgb(255, 255, 255)"
    assert page.locator("#exam").evaluate("e => e.inert")
    page.screenshot(path=str(artifacts / "phone-stale-tab.png"))
    assert_accessible(page)
    for _ in range(3):
        page.keyboard.press("Tab")
        assert page.evaluate("""() => { const a = document.activeElement;
            return a === document.body || !!a.closest('.blocker-panel'); }""")
    page.problems.check()


def test_the_confirm_page_counts_down_and_leaves_at_the_deadline(app, live_server, open_at, artifacts):
    """The page's clock is driven by the test (Playwright's clock), the server's deadline by
    the database, as in the exam page's deadline test."""
    page = open_at(DESKTOP)
    page.clock.install()
    attempt_id = login_and_start(page, live_server)
    answer(current(page))
    wait_saved(page)
    set_deadline(app, attempt_id, utcnow() + timedelta(minutes=2))
    page.goto(f"{live_server}/exam/attempts/{attempt_id}/confirm")
    left = page.locator("#confirm-remaining")
    expect(left).to_have_text(re.compile(r"^(2:00|1:[0-5]\d)$"))
    page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 0.1)
    before = left.text_content()
    page.clock.fast_forward("00:30")
    expect(left).not_to_have_text(before)
    m, s = (int(x) for x in left.text_content().split(":"))
    bm, bs = (int(x) for x in before.split(":"))
    assert 29 <= (bm * 60 + bs) - (m * 60 + s) <= 31          # thirty seconds gone by
    page.screenshot(path=str(artifacts / "phone-confirm-countdown.png"))
    # The deadline: the server's time is up, and then the page's.
    set_deadline(app, attempt_id, utcnow() - timedelta(seconds=1))
    page.clock.fast_forward("01:35")
    page.wait_for_url(re.compile(rf"/exam/attempts/{attempt_id}/done$"), timeout=20_000)
    attempt = load_attempt(app, attempt_id)
    assert attempt["submitted_by"] == "deadline"
    assert attempt["submitted_at"] <= attempt["deadline"]
    page.problems.check()


def test_the_confirm_page_follows_a_proctors_pause_and_time_given(app, live_server, open_at, artifacts):
    page = open_at(PHONE)
    sid = beginner(app)
    page.clock.install()
    attempt_id = login_and_start(page, live_server)
    page.goto(f"{live_server}/exam/attempts/{attempt_id}/confirm")
    left, stopped, submit = (page.locator(s) for s in ("#confirm-remaining", "#confirm-stopped", "#submit-final"))
    expect(left).to_have_text(re.compile(r"^(1:00:00|59:[0-5]\d)$"))
    expect(stopped).to_be_hidden()
    page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 0.1)
    page.clock.fast_forward(2_000)                  # the first pulse learns the room's number
    uid, p = user_id(app, "candidate1"), proctor(app, sid)

    # A pause: heard at the next pulse; the clock stands still, submitting waits.
    act(p, f"/room/{sid}/seats/{uid}/pause", reason="体調不良の申し出")
    page.clock.fast_forward(7_000)
    expect(stopped).to_be_visible()
    expect(submit).to_be_disabled()
    frozen = left.text_content()
    page.clock.fast_forward(10_000)
    expect(left).to_have_text(frozen)
    page.screenshot(path=str(artifacts / "phone-confirm-paused.png"))
    page.clock.resume()                     # axe waits on timers of its own
    assert_accessible(page)

    # The resume, and five minutes given: the clock runs on from the server's time.
    act(p, f"/room/{sid}/seats/{uid}/resume", reason="回復")
    act(p, f"/room/{sid}/seats/{uid}/time", minutes=5, reason="機器の不具合")
    page.clock.fast_forward(7_000)
    expect(stopped).to_be_hidden()
    expect(submit).to_be_enabled()
    expect(left).to_have_text(re.compile(r"^1:0[45]:\d\d$"))
    page.problems.check()


@pytest.mark.parametrize("size", ["phone", "zoom400"])
def test_the_bar_stays_one_line_with_larger_text_and_higher_contrast(app, live_server, open_at, artifacts, size):
    page = open_at(SIZES[size])
    page.add_init_script("localStorage.setItem('cbt-pref-large', '1');"
                         "localStorage.setItem('cbt-pref-contrast', '1');")
    login_and_start(page, live_server)
    expect(page.locator("html")).to_have_class(re.compile(r"\bpref-large\b.*\bpref-contrast\b"))
    current(page).locator(".flag-box").check()
    wait_saved(page)
    assert box(page, ".exam-bar")["height"] <= 56
    check(page, artifacts, f"{size}-prefs-exam")
    page.locator("#qnav-toggle").click()
    expect(page.locator('.qnav-btn[data-goto="1"]')).to_be_focused()
    check(page, artifacts, f"{size}-prefs-panel")
    page.problems.check()
