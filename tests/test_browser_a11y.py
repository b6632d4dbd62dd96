"""axe-core (WCAG 2.0-2.2 A and AA) in Chromium on every page each role reaches from its
landing page, at desktop size and at 320 CSS px wide (400% zoom, WCAG 1.4.10: no sideways
scrolling of the page); the menu's links at least 24 px (WCAG 2.5.8) and folded on a phone.

The candidate's exam pages and practice are checked with the exam's own browser tests."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.cli.demo import DEMO_PASSWORD

from tests.a11y import assert_accessible, describe, violations
from tests.conftest import PG_URL
from tests.test_browser import ARTIFACTS, artifacts, browser, live_server, sign_in  # noqa: F401  (fixtures)
from tests.test_navigation import USERS, crawl, seed_site, signed_in

pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    bool(PG_URL), reason="markup, layout and axe do not depend on the database: checked in the "
                         "SQLite half of `make test` (the PostgreSQL half would repeat them)")]

EXAM_PAGES = {"candidate.sit", "candidate.confirm", "candidate.done", "candidate.practice_home",
              "candidate.practice_question"}
DESKTOP = {"width": 1280, "height": 800}
REFLOW = {"width": 320, "height": 640}
# The pages shown in tests/artifacts/ at both sizes, for a person to look at.
SHOTS = {"sessions.index", "review.session_page", "register.index", "admin.staff_list", "head.index"}


SCROLLING_TABLES_FOCUSABLE = """() => [...document.querySelectorAll("table.grid")]
    .every(t => t.scrollWidth <= t.clientWidth + 1 || t.tabIndex === 0)"""


def overflow(page) -> str:
    """How far the page scrolls sideways, and the outermost elements that stick out ("" when
    it reflows)."""
    return page.evaluate("""() => {
        const root = document.documentElement, width = root.clientWidth;
        if (root.scrollWidth <= width) return "";
        const sticksOut = e => e.getBoundingClientRect().right > width + 0.5;
        const clipped = e => {      // inside a box that scrolls or clips: not the page's width
            for (let p = e.parentElement; p; p = p.parentElement)
                if (getComputedStyle(p).overflowX !== "visible") return true;
            return false;
        };
        const out = [...document.body.querySelectorAll("*")]
            .filter(e => sticksOut(e) && !sticksOut(e.parentElement) && !clipped(e));
        const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
            + (typeof e.className === "string" && e.className ? "." + e.className.split(" ").join(".") : "");
        // Text too long to wrap spills out of a box that itself fits.
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        const range = document.createRange();
        const spills = [];
        for (let t = walker.nextNode(); t && spills.length < 2; t = walker.nextNode()) {
            range.selectNodeContents(t);
            if (range.getBoundingClientRect().right > width + 0.5 && !sticksOut(t.parentElement)
                    && !clipped(t))
                spills.push(`text in ${name(t.parentElement)}: ${t.textContent.trim().slice(0, 40)}`);
        }
        return `${root.scrollWidth - width} px: ` + out.slice(0, 4)
            .map(e => `${name(e)} (${Math.round(e.getBoundingClientRect().width)} px)`).concat(spills).join(", ");
    }""")


def small_targets(page) -> list[str]:
    """Links and buttons of the menu and of forms under 24 by 24 CSS px."""
    return page.evaluate("""() => [...document.querySelectorAll(
            'nav.menu a, nav.menu button, form button, form input[type=submit], .actions a, a.button')]
        .filter(e => e.getClientRects().length)
        .map(e => [e, e.getBoundingClientRect()])
        .filter(([e, r]) => r.width < 24 || r.height < 24)
        .map(([e, r]) => `${e.outerHTML.slice(0, 80)} ${Math.round(r.width)}x${Math.round(r.height)}`)""")


def sign_in_as(page, base, username):
    if username == "candidate1":
        sign_in(page, base, username)
        return
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page.locator("nav.menu")).to_have_count(1)


def check_page(page, who: str, endpoint: str) -> list[str]:
    """axe at 1280 px, target sizes, then reflow and axe at 320 px, on the page shown."""
    failures = []
    url = page.url
    page.set_viewport_size(DESKTOP)
    found = violations(page)
    if found:
        failures.append(f"{who} {url} at 1280 px:\n{describe(found)}")
    if endpoint in SHOTS:
        page.screenshot(path=str(ARTIFACTS / f"a11y-{endpoint}-1280.png"), full_page=True)
    small = small_targets(page)
    if small:
        failures.append(f"{who} {url}: targets under 24 px: {small}")
    page.set_viewport_size(REFLOW)
    # site.js makes a table that now scrolls in its box reachable with Tab.
    page.wait_for_function(SCROLLING_TABLES_FOCUSABLE)
    wide = overflow(page)
    if wide:
        failures.append(f"{who} {url} at 320 px: scrolls sideways {wide}")
        page.screenshot(path=str(ARTIFACTS / f"a11y-overflow-{endpoint}.png"), full_page=True)
    found = violations(page)
    if found:
        failures.append(f"{who} {url} at 320 px:\n{describe(found)}")
    if endpoint in SHOTS:
        page.screenshot(path=str(ARTIFACTS / f"a11y-{endpoint}-320.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    return failures


def test_every_page_of_every_role_passes_axe_and_reflows(app, live_server, browser, artifacts):
    seed_site(app)
    checked: set[str] = set()
    failures: list[str] = []
    for username in sorted(USERS):
        # One address a page is enough here: test_navigation follows more of them.
        reached, problems = crawl(app, signed_in(app, username), per_endpoint_limit=1)
        assert not problems, problems
        context = browser.new_context(viewport=DESKTOP, locale="ja-JP", timezone_id="Asia/Tokyo")
        context.set_default_timeout(15_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg, errors=errors, page=page:
                msg.type == "error" and errors.append(f"{page.url}: {msg.text}"))
        if not checked:
            page.goto(live_server + "/login")          # the page everyone sees first
            failures += check_page(page, "anyone", "auth.login")
            checked.add("auth.login")
        sign_in_as(page, live_server, username)
        landing = page.url
        for endpoint, url in sorted(reached.items()):
            # A page is checked once, under the first role that reaches it; each role's own
            # landing page (its menu) always.
            if endpoint in EXAM_PAGES or (endpoint in checked and live_server + url != landing):
                continue
            checked.add(endpoint)
            page.goto(live_server + url)
            failures += check_page(page, username, endpoint)
        assert not errors, errors
        context.close()
    assert not failures, "\n".join(failures)
    assert {"auth.login", "sessions.index", "review.sheet", "register.index", "admin.audit_log",
            "head.index", "room.room", "author.preview", "candidate.home"} <= checked


def test_the_menu_folds_on_a_phone_and_opens_with_one_tap(app, live_server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")
    page = context.new_page()
    sign_in_as(page, live_server, "chair")
    toggle = page.get_by_role("button", name="メニュー")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#menu-list")).to_be_hidden()
    # Folded, the menu leaves the page's heading on the first screen.
    assert page.locator("main h1").bounding_box()["y"] < 200
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    assert_accessible(page, "nav.menu")
    expect(page.get_by_role("link", name="答案の確認と認定")).to_be_visible()
    page.get_by_role("link", name="答案の確認と認定").click()
    expect(page.locator("main h1")).to_have_text("答案の確認と認定")
    page.set_viewport_size({"width": 1280, "height": 800})
    # On a wide screen the whole menu shows and the button does not.
    expect(toggle).to_be_hidden()
    expect(page.get_by_role("link", name="合格者名簿")).to_be_visible()
    context.close()
