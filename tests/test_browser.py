"""The exam page in a real Chromium (Playwright): sitting a whole exam with mouse and
keyboard, a reload half-way, losing the network, and the deadline passing on an open page;
then a committee member reviewing a submitted sheet.

The app runs on a loopback port from a background thread; the test reads the database
directly to check that what the candidate chose is what the server stored.

Screenshots of each run land in tests/artifacts/ (emptied at the start of a run). The
full-exam test also takes the README picture, tests/artifacts/exam-page.png, and copies it
to docs/exam-page.png when that file is missing or CBT_UPDATE_DOCS_SCREENSHOT=1 is set, so
that an ordinary test run leaves docs/ untouched.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright  # noqa: E402
from sqlalchemy import delete, update  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from scoring.grading import grade  # noqa: E402
from scoring.jpdate import to_jst  # noqa: E402

from app.banks.versions import snapshot
from app.cli.demo import DEMO_PASSWORD
from app.extensions import db
from app.models import AnswerStep, Attempt, User, latest_steps, utcnow
from tests.choicetools import shown_values  # noqa: E402
from tests.test_review import right_first, sit  # noqa: E402  (sheets seeded as the review tests do)

pytestmark = pytest.mark.browser
# CI shares two cores with the server under test: generous waits, never fixed sleeps.
expect.set_options(timeout=15_000)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DOCS_SHOT = ROOT / "docs" / "exam-page.png"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ATTEMPT_URL = re.compile(r"/exam/attempts/(\d+)(#.*)?$")


# ---- fixtures ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    # Never a skip: a skipped browser suite is not a passed one. `make test` installs it.
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make test`, which installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def live_server(app):
    """The app on 127.0.0.1:<free port>, served from a background thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


class PageProblems:
    """Script errors, console errors (CSP violations show up there) and dialogs."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.allowed: list[str] = []          # substrings of console errors a test expects
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", self._console)
        page.on("dialog", self._dialog)

    def _console(self, msg):
        if msg.type != "error" or any(a in msg.text for a in self.allowed):
            return
        url = (msg.location or {}).get("url", "")
        self.errors.append(f"console: {msg.text} ({url})")

    def _dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def check(self):
        assert not self.errors, self.errors
        assert not self.dialogs, self.dialogs


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP",
                              timezone_id="Asia/Tokyo")
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    pg = context.new_page()
    pg.problems = PageProblems(pg)
    return pg


@pytest.fixture(scope="session")
def artifacts():
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir()
    return ARTIFACTS


# ---- helpers -----------------------------------------------------------------------------

def sign_in(page, base: str, username: str = "candidate1") -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(re.compile(r"/exam/$"))


def enter_lobby(page, card) -> int:
    """入室する on a session's card: the lobby, with the questions not yet on the page;
    returns the attempt id."""
    card.get_by_role("button", name="入室する").click()
    page.wait_for_url(ATTEMPT_URL)
    expect(page.locator("#lobby")).to_be_visible()
    return int(ATTEMPT_URL.search(page.url).group(1))


def confirm_and_start(page, count: int) -> None:
    """In the lobby: confirm the rules, 開始, and wait for the questions."""
    page.get_by_label("上記を確認しました").check()
    page.get_by_role("button", name="開始", exact=True).click()
    expect(page.locator("section.question")).to_have_count(count)
    expect(page.locator("#lobby")).to_be_hidden()


def enter_and_start(page, card, count: int) -> int:
    """From the list of sessions into the lobby, then the candidate's own start; returns
    the attempt id once the questions are on the page."""
    attempt_id = enter_lobby(page, card)
    confirm_and_start(page, count)
    return attempt_id


def beginner_card(page):
    card = page.locator("section.session", has_text="初級")
    expect(card).to_have_count(1)
    return card


def login_and_start(page, base: str, username: str = "candidate1") -> int:
    """Sign in, enter the beginner session from the list and start it; returns the
    attempt id."""
    sign_in(page, base, username)
    return enter_and_start(page, beginner_card(page), 40)


def current(page):
    """The one visible question."""
    visible = page.locator("section.question:not([hidden])")
    expect(visible).to_have_count(1)
    return visible


def current_position(page) -> int:
    return int(current(page).get_attribute("data-position"))


def pending(page) -> int:
    return page.evaluate("window.cbtPendingSaves()")


def wait_saved(page):
    page.wait_for_function("() => window.cbtPendingSaves() === 0", timeout=10_000)
    expect(page.locator("#save-status")).to_contain_text("保存しました")


def set_deadline(app, attempt_id: int, deadline) -> None:
    with app.app_context():
        db.session.execute(update(Attempt).where(Attempt.id == attempt_id).values(deadline=deadline))
        db.session.commit()
        db.session.remove()


def wait_until(condition, what: str, seconds: float = 60) -> None:
    """Poll the condition (a database read, say) until it holds; the limit is generous,
    since the suite must pass with the machine's cores busy."""
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, f"still not so after {seconds} s: {what}"
        time.sleep(0.1)


def server_steps(app, attempt_id: int) -> dict[int, tuple]:
    """{position: (response, flagged)} of the latest step per position, read from the DB,
    with the stored keys given as the page's values (shown positions) through the attempt's
    choice order: equal to what was clicked only if the server stored the clicked choice."""
    with app.app_context():
        form = db.session.get(Attempt, attempt_id).form
        steps = {p: (shown_values(form[p - 1]["choice_order"], s.response), s.flagged)
                 for p, s in latest_steps(attempt_id).items()}
        db.session.remove()
    return steps


def load_attempt(app, attempt_id: int) -> dict:
    with app.app_context():
        a = db.session.get(Attempt, attempt_id)
        out = {"submitted_at": a.submitted_at, "submitted_by": a.submitted_by, "correct": a.correct,
               "total": a.total, "passed": a.passed, "form": a.form, "deadline": a.deadline}
        db.session.remove()
    return out


def tab_into_answer(page, section):
    """Press Tab (from the question heading the page focused) until an answer input of the
    shown question has the focus, as a keyboard-only candidate would."""
    pos = section.get_attribute("data-position")
    for _ in range(8):
        page.keyboard.press("Tab")
        if page.evaluate("""pos => { const a = document.activeElement;
                 return !!a && !!a.closest('section.question[data-position="' + pos + '"] fieldset.answer'); }""",
                         pos):
            return
    raise AssertionError(f"Tab never reached the answers of question {pos}")


def answer_with_mouse(page, section, pos: int):
    """Choose an answer by clicking; returns the response the server should store."""
    qtype = section.get_attribute("data-type")
    labels = section.locator("fieldset.answer label.choice")
    inputs = section.locator("fieldset.answer input")
    if qtype == "single":
        n = labels.count()
        i = pos % n
        labels.nth(i).click()
        return inputs.nth(i).get_attribute("value")
    if qtype == "multiple":
        n = labels.count()
        picks = sorted({pos % n, (pos + 1) % n})
        for i in picks:
            labels.nth(i).click()
        return sorted(inputs.nth(i).get_attribute("value") for i in picks)
    if qtype == "true_false":
        value = pos % 2 == 0
        section.get_by_text("正しい（○）" if value else "誤り（×）").click()
        return value
    box = section.locator("input.text-answer")
    box.click()
    text = f"解答{pos}"
    box.type(text)          # saved on change, when the focus leaves the box
    return text


def answer_with_keyboard(page, section, pos: int):
    """Choose an answer with Tab / Space / arrows / typing; returns the expected response."""
    qtype = section.get_attribute("data-type")
    inputs = section.locator("fieldset.answer input")
    tab_into_answer(page, section)
    if qtype == "single":
        n = inputs.count()
        k = (pos // 2) % n
        if k == 0:
            page.keyboard.press("Space")
        else:
            for _ in range(k):           # arrows move the selection along the group
                page.keyboard.press("ArrowDown")
        return inputs.nth(k).get_attribute("value")
    if qtype == "multiple":
        n = inputs.count()
        picks = sorted({0, (pos // 2) % n})
        for i in range(max(picks) + 1):
            if i in picks:
                page.keyboard.press("Space")
            if i < max(picks):
                page.keyboard.press("Tab")
        return sorted(inputs.nth(i).get_attribute("value") for i in picks)
    if qtype == "true_false":
        if pos % 4 == 0:
            page.keyboard.press("Space")     # the first radio: 正しい
            return True
        page.keyboard.press("ArrowDown")     # moves on to 誤り and selects it
        return False
    # Full-width digits, as an IME would give them: stored as typed.
    text = "４４３" if pos % 4 == 0 else f"kb-{pos}"
    page.keyboard.type(text)
    page.keyboard.press("Enter")             # Enter saves at once
    return text


def expect_shows(page, pos: int, response, flagged: bool):
    """The page (after a reload) shows this answer for question `pos`."""
    section = page.locator(f"section#q-{pos}")
    qtype = section.get_attribute("data-type")
    inputs = section.locator("fieldset.answer input")
    if qtype == "text":
        expect(section.locator("input.text-answer")).to_have_value(response)
    else:
        if qtype == "single":
            chosen = {response}
        elif qtype == "multiple":
            chosen = set(response)
        else:
            chosen = {"true" if response else "false"}
        for i in range(inputs.count()):
            box = inputs.nth(i)
            if box.get_attribute("value") in chosen:
                expect(box).to_be_checked()
            else:
                expect(box).not_to_be_checked()
    flag = section.locator(".flag-box")
    (expect(flag).to_be_checked if flagged else expect(flag).not_to_be_checked)()
    nav = page.locator(f'.qnav-btn[data-goto="{pos}"]')
    expect(nav).to_have_class(re.compile(r"\banswered\b"))
    if flagged:
        expect(nav).to_have_class(re.compile(r"\bflagged\b"))
    else:
        expect(nav).not_to_have_class(re.compile(r"\bflagged\b"))


# ---- the tests ---------------------------------------------------------------------------

KEYBOARD_FLAG = 8          # flagged with Alt+M
MOUSE_FLAG = 27            # flagged by clicking the box
FLAG_UNFLAG = 12           # flagged and unflagged again with Alt+M: ends unflagged
CHANGED_MIND = 5           # answered, then another answer chosen by mouse
RELOAD_AFTER = 20


def test_full_exam_with_mouse_keyboard_and_reload(app, live_server, page, artifacts):
    attempt_id = login_and_start(page, live_server)
    assert current_position(page) == 1
    expect(page.locator("#prev")).to_be_disabled()
    expect(page.locator("#timer")).to_have_text(re.compile(r"^(59|60):\d\d$"))
    page.screenshot(path=str(artifacts / "full-01-first-question.png"))

    code_positions = page.eval_on_selector_all(
        "section.question", "ss => ss.filter(s => s.querySelector('.stem pre')).map(s => +s.dataset.position)")
    docs_target = code_positions[0] if code_positions else 1

    given: dict[int, object] = {}
    flagged = {KEYBOARD_FLAG, MOUSE_FLAG}

    def sit(pos: int):
        section = current(page)
        assert int(section.get_attribute("data-position")) == pos
        keyboard = pos % 2 == 0
        if keyboard:
            given[pos] = answer_with_keyboard(page, section, pos)
        else:
            given[pos] = answer_with_mouse(page, section, pos)
        if pos == CHANGED_MIND:
            qtype = section.get_attribute("data-type")
            if qtype in ("single", "true_false"):
                labels = section.locator("fieldset.answer label.choice")
                inputs = section.locator("fieldset.answer input")
                was = given[pos] if qtype == "single" else ("true" if given[pos] else "false")
                other = next(i for i in range(inputs.count())
                             if inputs.nth(i).get_attribute("value") != was)
                labels.nth(other).click()
                value = inputs.nth(other).get_attribute("value")
                given[pos] = value if qtype == "single" else value == "true"
            elif qtype == "multiple":       # untick one of the two
                first = section.locator("fieldset.answer input:checked").first
                value = first.get_attribute("value")
                first.click()
                given[pos] = [v for v in given[pos] if v != value]
            else:
                box = section.locator("input.text-answer")
                box.fill("書き直し")
                box.press("Enter")
                given[pos] = "書き直し"
        if pos in (KEYBOARD_FLAG, FLAG_UNFLAG):
            page.keyboard.press("Alt+M")
            expect(section.locator(".flag-box")).to_be_checked()
            if pos == FLAG_UNFLAG:
                page.keyboard.press("Alt+M")
                expect(section.locator(".flag-box")).not_to_be_checked()
        if pos == MOUSE_FLAG:
            section.get_by_text("見直しのためにマークする").click()
        nav = page.locator(f'.qnav-btn[data-goto="{pos}"]')
        expect(nav).to_have_class(re.compile(r"\bcurrent\b"))
        if pos == docs_target and pos > RELOAD_AFTER:
            readme_shot(page)
        if pos == 40:
            expect(page.locator("#next")).to_be_disabled()
        elif keyboard:
            page.keyboard.press("Alt+N")
        elif pos % 3 == 0:
            page.locator(f'.qnav-btn[data-goto="{pos + 1}"]').click()
        else:
            page.locator("#next").click()
        # The text box saves on change; typed text is there once the focus has moved on.
        expect(nav).to_have_class(re.compile(r"\banswered\b"))
        if pos < 40:
            expect(page.locator(f'.qnav-btn[data-goto="{pos + 1}"]')).to_have_class(re.compile(r"\bcurrent\b"))

    def readme_shot(pg):
        pg.wait_for_function("() => window.cbtPendingSaves() === 0")
        pg.mouse.move(0, 799)          # no hover highlight in the picture
        shot = pg.screenshot()         # the 1280x800 viewport
        (artifacts / "exam-page.png").write_bytes(shot)
        if not DOCS_SHOT.exists() or os.environ.get("CBT_UPDATE_DOCS_SCREENSHOT") == "1":
            DOCS_SHOT.parent.mkdir(exist_ok=True)
            DOCS_SHOT.write_bytes(shot)

    for pos in range(1, RELOAD_AFTER + 1):
        sit(pos)

    # ---- reload half-way: everything chosen so far comes back from the server ----------
    page.locator(f'.qnav-btn[data-goto="{RELOAD_AFTER}"]').click()
    wait_saved(page)
    assert pending(page) == 0
    saved = server_steps(app, attempt_id)
    assert set(saved) == set(given), "every answer so far reached the server before the reload"
    page.reload()
    expect(page.locator("section.question")).to_have_count(40)
    assert current_position(page) == RELOAD_AFTER, "the reload stays on the question shown"
    for pos, response in given.items():
        expect_shows(page, pos, response, pos in flagged)
    for pos in range(RELOAD_AFTER + 1, 41):
        expect(page.locator(f'.qnav-btn[data-goto="{pos}"]')).not_to_have_class(re.compile(r"\banswered\b"))
    page.screenshot(path=str(artifacts / "full-02-after-reload.png"))

    if docs_target <= RELOAD_AFTER:
        page.locator(f'.qnav-btn[data-goto="{docs_target}"]').click()
        readme_shot(page)
    page.locator(f'.qnav-btn[data-goto="{RELOAD_AFTER + 1}"]').click()

    for pos in range(RELOAD_AFTER + 1, 41):
        sit(pos)
    page.screenshot(path=str(artifacts / "full-03-all-answered.png"))

    # ---- confirm and submit -------------------------------------------------------------
    page.locator("#to-confirm").click()
    page.wait_for_url(re.compile(rf"/exam/attempts/{attempt_id}/confirm$"))
    confirm = page.locator("#confirm")
    expect(confirm).to_contain_text("解答済み 40問")
    expect(confirm).to_contain_text("未解答の問題はありません。")
    expect(confirm).not_to_contain_text("未解答の問題（")
    expect(confirm).to_contain_text(f"見直しマークの付いた問題（{len(flagged)}問）")
    chips = confirm.locator("ul.chips li a")
    expect(chips).to_have_text([f"問{p}" for p in sorted(flagged)])
    page.screenshot(path=str(artifacts / "full-04-confirm.png"))
    page.locator("#submit-final").click()
    page.wait_for_url(re.compile(rf"/exam/attempts/{attempt_id}/done$"))
    expect(page.locator("h1")).to_have_text("解答を提出しました")
    expect(page.locator("main")).to_contain_text("40 / 40問")
    page.screenshot(path=str(artifacts / "full-05-done.png"))
    page.problems.check()

    # ---- the server has exactly what was chosen ----------------------------------------
    assert len(given) == 40
    saved = server_steps(app, attempt_id)
    assert set(saved) == set(range(1, 41))
    for pos in range(1, 41):
        response, flag = saved[pos]
        assert response == given[pos], f"question {pos}: stored {response!r}, chose {given[pos]!r}"
        assert flag == (pos in flagged), f"question {pos}: flagged={flag}"
    attempt = load_attempt(app, attempt_id)
    assert attempt["submitted_at"] is not None
    assert attempt["submitted_by"] == "candidate"
    assert attempt["total"] == 40
    assert 0 <= attempt["correct"] <= 40
    assert attempt["passed"] is not None
    assert (artifacts / "exam-page.png").exists()


def test_answers_wait_while_offline_then_arrive(app, live_server, context, page, artifacts):
    attempt_id = login_and_start(page, live_server)
    page.problems.allowed.append("net::ERR_INTERNET_DISCONNECTED")
    # Two one-click questions, so that each answer is exactly one queued save.
    positions = page.eval_on_selector_all(
        "section.question", "ss => ss.filter(s => s.dataset.type === 'single' || s.dataset.type === 'true_false')"
                            ".map(s => +s.dataset.position)")[:2]
    assert len(positions) == 2
    context.set_offline(True)
    given = {}
    for pos in positions:
        page.locator(f'.qnav-btn[data-goto="{pos}"]').click()
        given[pos] = answer_with_mouse(page, current(page), pos)
    status = page.locator("#save-status")
    expect(status).to_contain_text("通信できません")
    assert pending(page) == 2
    expect(status).to_contain_text("2件の解答を送信待ち")
    for pos in positions:
        expect(page.locator(f'.qnav-btn[data-goto="{pos}"]')).to_have_class(re.compile(r"\banswered\b"))
    page.screenshot(path=str(artifacts / "offline-01-waiting.png"))
    time.sleep(1.5)              # a retry or two while still offline
    assert pending(page) == 2
    assert server_steps(app, attempt_id) == {}

    context.set_offline(False)
    wait_until(lambda: set(server_steps(app, attempt_id)) == set(positions),
               "the answers arrive after going online")
    saved = server_steps(app, attempt_id)
    assert saved == {pos: (given[pos], False) for pos in positions}
    expect(status).to_contain_text("保存しました", timeout=10_000)
    assert pending(page) == 0
    page.screenshot(path=str(artifacts / "offline-02-saved.png"))
    page.problems.check()


def test_deadline_on_an_open_page_submits_and_leaves(app, live_server, page, artifacts):
    """The page's own clock is driven by the test (Playwright's clock), the server's
    deadline by the database: what the page does at zero is checked step by step, however
    slowly the machine runs (a real-time deadline a few seconds ahead raced the reload)."""
    page.clock.install()
    attempt_id = login_and_start(page, live_server)
    given = answer_with_mouse(page, current(page), 1)
    wait_saved(page)
    set_deadline(app, attempt_id, utcnow() + timedelta(minutes=2))
    page.reload()
    expect(page.locator("#timer")).to_have_text(re.compile(r"^(2:00|1:[0-5]\d)$"))
    # From here the page's time stands still until the test moves it.
    page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 0.1)   # Python: in seconds
    set_deadline(app, attempt_id, utcnow() - timedelta(seconds=1))   # the server's time is up
    page.clock.fast_forward("02:05")                                 # and so is the page's
    # The page asks the server, says time is up and locks the answers ...
    expect(page.locator("#save-status")).to_contain_text("試験時間が終了しました")
    expect(page.locator("#timer")).to_have_text("0:00")
    for box in page.locator("fieldset.answer input, .flag-box").all():
        expect(box).to_be_disabled()
    page.screenshot(path=str(artifacts / "deadline-01-time-up.png"))
    assert re.search(rf"/exam/attempts/{attempt_id}(#q=\d+)?$", page.url)   # ... stays 1.5 s
    page.clock.fast_forward(1600)
    page.wait_for_url(re.compile(rf"/exam/attempts/{attempt_id}/done$"), timeout=20_000)
    expect(page.locator("h1")).to_have_text("解答を提出しました")
    expect(page.locator("main")).to_contain_text("試験時間終了による自動提出")
    expect(page.locator("main")).to_contain_text("1 / 40問")
    page.screenshot(path=str(artifacts / "deadline-02-done.png"))
    page.problems.check()

    attempt = load_attempt(app, attempt_id)
    assert attempt["submitted_by"] == "deadline"
    assert attempt["submitted_at"] is not None
    assert attempt["submitted_at"] <= attempt["deadline"]
    assert attempt["total"] == 40
    assert server_steps(app, attempt_id) == {1: (given, False)}


def test_a_lost_reply_then_a_changed_answer_keeps_the_newer_answer(app, live_server, page, artifacts):
    """The server stores a save but its reply is lost; the candidate then changes the same
    answer. The page must retry the stored one (recognised by its client id) and then send
    the newer one: no false 'another tab' block, and the newer answer wins."""
    attempt_id = login_and_start(page, live_server)
    page.problems.allowed.append("net::ERR_FAILED")
    pos = page.eval_on_selector_all(
        "section.question", "ss => ss.filter(s => s.dataset.type === 'single').map(s => +s.dataset.position)")[0]
    page.locator(f'.qnav-btn[data-goto="{pos}"]').click()
    section = current(page)
    radios = section.locator("fieldset.answer input[type=radio]")
    dropped = []

    def lose_first_reply(route):
        if not dropped:
            route.fetch()                 # the server stores it...
            dropped.append(True)
            route.abort()                 # ...and the reply never arrives
        else:
            route.continue_()

    page.route("**/answers", lose_first_reply)
    radios.nth(0).check()
    page.wait_for_function("() => document.getElementById('save-status').className.includes('error')",
                           timeout=10_000)
    radios.nth(1).check()                 # changed before the retry went out
    wait_saved(page)
    expect(page.locator("#blocker")).to_be_hidden()
    newer = radios.nth(1).get_attribute("value")
    assert server_steps(app, attempt_id)[pos] == (newer, False)
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).last_seq == 2   # the first save, then the newer
        db.session.remove()
    page.screenshot(path=str(artifacts / "lost-reply-01-saved.png"))
    page.problems.check()


def start_with_a_text_question(app, page, base: str) -> tuple[int, int]:
    """(attempt id, position of a text question). About one beginner form in 200 has no
    text question: such an attempt is removed and a new form drawn."""
    attempt_id = login_and_start(page, base)
    for _ in range(5):
        texts = page.eval_on_selector_all(
            "section.question", "ss => ss.filter(s => s.dataset.type === 'text').map(s => +s.dataset.position)")
        if texts:
            return attempt_id, texts[0]
        with app.app_context():
            db.session.execute(delete(Attempt).where(Attempt.id == attempt_id))
            db.session.commit()
            db.session.remove()
        page.goto(base + "/exam/")
        attempt_id = enter_and_start(page, beginner_card(page), 40)
    raise AssertionError("five forms without a text question")


def test_typed_text_is_a_pending_save_until_sent(app, live_server, page):
    """Text is sent after a 600 ms pause in typing. Until then it counts as waiting (the
    save indicator a test or the page itself relies on), and leaving the page sends it."""
    attempt_id, pos = start_with_a_text_question(app, page, live_server)
    page.clock.install()                     # the typing pause, under the test's control
    page.locator(f'.qnav-btn[data-goto="{pos}"]').click()
    box = current(page).locator("input.text-answer")
    box.click()
    box.type("443")
    assert pending(page) == 1                # typed, inside its pause: waiting, not yet sent
    assert pos not in server_steps(app, attempt_id)
    page.clock.fast_forward(700)
    wait_saved(page)
    assert server_steps(app, attempt_id)[pos] == ("443", False)
    # Typed again and the page left at once, inside the pause: the browser asks whether to
    # leave (answers are waiting); leaving anyway, the answer still arrives.
    box.click()
    box.press("End")
    box.type("0")
    assert pending(page) == 1
    asked = []
    page.remove_listener("dialog", page.problems._dialog)     # that one dismisses: stay
    page.once("dialog", lambda d: (asked.append(d.type), d.accept()))
    page.evaluate("() => { location.href = '/exam/'; }")      # as a link in the page would
    page.wait_for_url(re.compile(r"/exam/$"))
    assert asked == ["beforeunload"]
    wait_until(lambda: server_steps(app, attempt_id).get(pos) == ("4430", False),
               "the typed answer sent on leaving is stored")
    page.problems.check()


def test_author_preview_matches_the_exam_page(app, live_server, browser, page, artifacts):
    """What an author previews is what a candidate sees: same stem rendering, same choices,
    same answer widgets, in the same browser."""
    attempt_id = login_and_start(page, live_server)
    exam_q = current(page)
    qid = exam_q.get_attribute("data-qid")
    exam = {
        "stem": exam_q.locator(".stem").inner_html(),
        "type": exam_q.locator(".qtype").inner_text(),
        "choices": sorted(exam_q.locator("label.choice").all_inner_texts()),
        "inputs": sorted(exam_q.locator("fieldset.answer input").evaluate_all(
            "els => els.map(e => e.type + ':' + e.value)")),
        "stem_font": exam_q.locator(".stem").evaluate("e => getComputedStyle(e).fontSize"),
    }
    exam_q.screenshot(path=str(artifacts / "preview-01-exam.png"))
    author_ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    author = author_ctx.new_page()
    author.goto(live_server + "/login")
    author.fill("#username", "author1")
    author.fill("#password", DEMO_PASSWORD)
    author.get_by_role("button", name="ログイン").click()
    author.wait_for_url(re.compile(r"/author/$"))
    q = load_attempt(app, attempt_id)["form"][0]
    author.goto(live_server + f"/author/?topic={q['topic']}&pool=exam&status=approved")
    card = author.locator(f'article#{qid}')
    while card.count() == 0:                      # page through until the question shows
        author.get_by_role("link", name="次のページ →").click()
        card = author.locator(f'article#{qid}')
    preview_q = card.locator("section.question")
    preview = {
        "stem": preview_q.locator(".stem").inner_html(),
        "type": preview_q.locator(".qtype").inner_text(),
        "choices": sorted(preview_q.locator("label.choice").all_inner_texts()),
        "inputs": sorted(preview_q.locator("fieldset.answer input").evaluate_all(
            "els => els.map(e => e.type + ':' + e.value)")),
        "stem_font": preview_q.locator(".stem").evaluate("e => getComputedStyle(e).fontSize"),
    }
    card.screenshot(path=str(artifacts / "preview-02-author.png"))
    # Choice letters (ア, イ, ...) follow the shown order, which the exam shuffles: compare
    # the choice texts without their letter.
    strip = lambda texts: sorted(re.sub(r"^\s*[ア-コ]\s*", "", t) for t in texts)  # noqa: E731
    assert preview["stem"] == exam["stem"]
    assert preview["type"] == exam["type"]
    assert strip(preview["choices"]) == strip(exam["choices"])
    assert preview["inputs"] == exam["inputs"]
    assert preview["stem_font"] == exam["stem_font"]
    author_ctx.close()
    page.problems.check()


# What a question looks like on a page, read the same way on the exam page and on the
# committee's sheet page: the heading, the stem as rendered, the choices in the order shown,
# the answer inputs, and what is chosen or typed in them.
READ_QUESTIONS = """ss => ss.map(s => ({
    heading: s.querySelector('h2').textContent.replace(/\\s+/g, ' ').trim(),
    stem: s.querySelector('.stem').innerHTML,
    choices: Array.from(s.querySelectorAll('fieldset.answer label.choice'))
                  .map(l => l.textContent.replace(/\\s+/g, ' ').trim()),
    inputs: Array.from(s.querySelectorAll('fieldset.answer input'))
                 .map(i => i.type + ':' + (i.type === 'text' ? '' : i.value)),
    chosen: Array.from(s.querySelectorAll('fieldset.answer input'))
                 .map(i => i.type === 'text' ? i.value : i.checked)}))"""
KANA_LABELS = "アイウエオカキクケコ"


def test_committee_reviews_a_sheet_as_the_candidate_saw_it(app, live_server, browser, page, artifacts):
    """A candidate sits the 初級 exam in the browser and submits; two more sheets are on
    record. A committee member goes from the sessions list to the session's sheets (sorted,
    filtered, the histogram), then to the candidate's sheet: every question as the
    candidate saw it, with their answer, the key, right or wrong, and each save's time.
    The candidate cannot open that page."""
    # ---- the candidate sits the exam -----------------------------------------------------
    attempt_id = login_and_start(page, live_server)
    for pos in range(1, 6):
        page.locator(f'.qnav-btn[data-goto="{pos}"]').click()
        answer_with_mouse(page, current(page), pos)
    page.locator('.qnav-btn[data-goto="6"]').click()    # a typed answer saves on leaving the box
    wait_saved(page)
    singles = page.eval_on_selector_all(
        "section.question", "ss => ss.filter(s => s.dataset.type === 'single').map(s => +s.dataset.position)")
    changed = next(p for p in singles if p > 5)           # a change of mind: two saves
    page.locator(f'.qnav-btn[data-goto="{changed}"]').click()
    radios = current(page).locator("fieldset.answer input[type=radio]")
    for i in (0, 1):
        radios.nth(i).check()
        wait_saved(page)
    seen = page.eval_on_selector_all("section.question", READ_QUESTIONS)
    assert len(seen) == 40
    page.locator("#to-confirm").click()
    page.wait_for_url(re.compile(rf"/exam/attempts/{attempt_id}/confirm$"))
    page.locator("#submit-final").click()
    page.wait_for_url(re.compile(rf"/exam/attempts/{attempt_id}/done$"))

    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        sid, form = attempt.session_id, attempt.form
        _bp, questions = snapshot(attempt.bank_version)
        steps: dict[int, list] = {}
        for s in db.session.scalars(db.select(AnswerStep).where(AnswerStep.attempt_id == attempt_id)
                                    .order_by(AnswerStep.seq)):
            steps.setdefault(s.position, []).append(s)
        uids = {u.username: u.id for u in db.session.scalars(
            db.select(User).where(User.username.in_(["candidate2", "candidate3"])))}
        db.session.remove()
    assert len(steps[changed]) == 2 and set(steps) == {1, 2, 3, 4, 5, changed}
    high = sit(app, sid, uids["candidate2"], right_first(35))      # 35/40: a pass
    low = sit(app, sid, uids["candidate3"], right_first(10))       # 10/40: a fail
    with app.app_context():
        mine = db.session.get(Attempt, attempt_id).correct
        db.session.remove()
    assert mine <= 6 < 10                                  # so the order by score is certain

    # ---- the committee member: sessions, the session's sheets -----------------------------
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP",
                              timezone_id="Asia/Tokyo")
    member = ctx.new_page()
    member.problems = PageProblems(member)
    member.goto(live_server + "/login")
    member.fill("#username", "committee1")
    member.fill("#password", DEMO_PASSWORD)
    member.get_by_role("button", name="ログイン").click()
    member.wait_for_url(re.compile(r"/committee/review/$"))       # their main task
    row = member.locator("tbody tr", has_text="初級")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(5)).to_have_text("3")             # 答案
    row.get_by_role("link").click()
    member.wait_for_url(re.compile(rf"/committee/review/sessions/{sid}$"))
    expect(member.locator("#n-sheets")).to_have_text("3")
    expect(member.locator("#n-pass")).to_have_text("1")
    expect(member.locator("#n-fail")).to_have_text("2")
    sheets = member.locator("#sheets tbody tr[data-key]")

    def keys():
        return [sheets.nth(i).get_attribute("data-key") for i in range(sheets.count())]

    member.locator("#sheets thead").get_by_role("link", name=re.compile("^得点")).click()
    member.wait_for_url(re.compile(r"sort=score&order=desc"))
    assert keys() == [f"a{high}", f"a{low}", f"a{attempt_id}"]
    member.locator("#sheets thead").get_by_role("link", name=re.compile("^得点")).click()
    member.wait_for_url(re.compile(r"sort=score&order=asc"))
    assert keys() == [f"a{attempt_id}", f"a{low}", f"a{high}"]
    member.locator('select[name="result"]').select_option("fail")
    member.get_by_role("button", name="絞り込む").click()
    member.wait_for_url(re.compile(r"result=fail"))
    assert keys() == [f"a{attempt_id}", f"a{low}"]                 # the sort is kept
    member.locator('select[name="result"]').select_option("")
    member.get_by_role("button", name="絞り込む").click()
    member.wait_for_url(re.compile(r"result=&"))
    expect(sheets).to_have_count(3)

    # The histogram: ten bins of 10%, the 70% line, one bar per sheet's rate.
    hist = member.locator("svg#histogram")
    expect(hist).to_be_visible()
    expect(member.get_by_role("heading", name="得点の分布（3人）")).to_be_visible()
    expect(hist.locator("#pass-line")).to_have_count(1)
    bins = {}
    for t in hist.locator("rect title").all_text_contents():
        low_edge, count = re.fullmatch(r"(\d+)〜\d+%: (\d+)人", t).groups()
        bins[int(low_edge)] = int(count)
    assert len(bins) == 10 and sum(bins.values()) == 3
    assert bins[80] == 1 and bins[20] == 1                  # 35/40 = 87%, 10/40 = 25%
    member.screenshot(path=str(artifacts / "review-01-list.png"), full_page=True)

    # ---- the candidate's sheet ------------------------------------------------------------
    sheets.filter(has=member.locator(f'a[href$="/sheets/{attempt_id}"]')).get_by_role("link").click()
    member.wait_for_url(re.compile(rf"/committee/review/sessions/{sid}/sheets/{attempt_id}$"))
    sheet_path = f"/committee/review/sessions/{sid}/sheets/{attempt_id}"
    expect(member.locator("h1")).to_have_text("答案の詳細")
    expect(member.locator("#score")).to_have_text(re.compile(rf"^{mine}/40（"))
    cards = member.locator("section.question.card")
    expect(cards).to_have_count(40)
    shown = cards.evaluate_all(READ_QUESTIONS)
    for pos in range(1, 41):
        # The question as the candidate saw it: heading, stem, choices in their order,
        # and what they had chosen or typed when they submitted.
        assert shown[pos - 1] == seen[pos - 1], f"question {pos} differs from the exam page"
        q = questions[form[pos - 1]["id"]]
        order = form[pos - 1]["choice_order"]
        card = member.locator(f"section#q-{pos}")
        expect(card.locator("fieldset.answer input").first).to_be_disabled()   # shown, not editable
        saved = steps.get(pos, [])
        response = saved[-1].response if saved else None
        right = response is not None and grade(q.type, q.answer, response)
        expect(card.locator(".verdict")).to_have_text("正解" if right else "不正解")
        answer = card.locator("dd.answer")
        key = card.locator("dd.key")
        if response is None:
            expect(answer).to_have_text("（未解答）")
        elif q.type == "single":
            expect(answer).to_contain_text(f"{KANA_LABELS[order.index(response)]}（{response}）")
        elif q.type == "multiple":
            for k in response:
                expect(answer).to_contain_text(f"{KANA_LABELS[order.index(k)]}（{k}）")
        elif q.type == "true_false":
            expect(answer).to_have_text("正しい（○）" if response else "誤り（×）")
        else:
            expect(answer).to_contain_text(response)
        if q.type == "single":
            expect(key).to_contain_text(f"{KANA_LABELS[order.index(q.answer)]}（{q.answer}）")
        elif q.type == "multiple":
            for k in q.answer:
                expect(key).to_contain_text(f"{KANA_LABELS[order.index(k)]}（{k}）")
        elif q.type == "true_false":
            expect(key).to_have_text("正しい（○）" if q.answer else "誤り（×）")
        else:
            expect(key).to_contain_text(q.answer[0])
        # Every save, in order, with its time in Japan time.
        rows = card.locator("table.saves tbody tr")
        if not saved:
            expect(rows).to_have_count(0)
            expect(card).to_contain_text("保存の記録はありません")
            continue
        expect(rows).to_have_count(len(saved))
        for i, s in enumerate(saved):
            cells = rows.nth(i).locator("td")
            expect(cells.nth(0)).to_have_text(str(s.seq))
            expect(cells.nth(1)).to_have_text(to_jst(s.created_at).strftime("%Y-%m-%d %H:%M:%S"))
    first, second = (steps[changed][0].response, steps[changed][1].response)
    saves = member.locator(f"section#q-{changed} table.saves tbody tr")
    expect(saves.nth(0).locator("td").nth(2)).to_contain_text(f"（{first}）")
    expect(saves.nth(1).locator("td").nth(2)).to_contain_text(f"（{second}）")
    member.set_viewport_size({"width": 1280, "height": 1500})
    member.evaluate("window.scrollTo(0, 0)")
    member.screenshot(path=str(artifacts / "review-02-sheet.png"))
    member.problems.check()
    ctx.close()

    # ---- the same address as the candidate: refused -------------------------------------
    page.problems.allowed.append("status of 403")
    resp = page.goto(live_server + sheet_path)
    assert resp.status == 403
    expect(page.locator("main")).to_contain_text("権限がありません")
    expect(page.locator("main")).not_to_contain_text("答案の詳細")
    page.problems.check()
