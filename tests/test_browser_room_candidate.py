"""The candidate's side of the exam room, in a real Chromium: the lobby and the start (the
candidate's own, and the proctor's signal), a proctor's pause, time given and termination
felt within seconds, the time warnings, the display options, and the access code.

The proctor acts through the room's JSON endpoints with a signed-in test client on the same
app, as the room page's script does. The page asks for the room's number every few seconds
(the pulse); where a test needs the page's timers still (a save made before the page has
heard of a pause, the warnings at 10, 5 and 1 minutes) it drives them with Playwright's
clock, never with fixed sleeps.

Screenshots go to tests/artifacts/room-*.png (desktop 1280x800 and phone 390x844). The
tests fail, never skip, without Chromium (the fixtures of tests/test_browser.py)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.exam.lobby import forget_room
from app.extensions import db
from app.models import Attempt, ExamSession, Registration, SessionDetail, User, utcnow
from tests.conftest import Client
from tests.test_room import act as room_act
from tests.test_room import settings, signed_in
# The browser (Debian's Chromium; a failure, never a skip, when it is missing), the live
# server and the helpers come from the exam-page tests.
from tests.test_browser import (ARTIFACTS, answer_with_mouse, beginner_card, browser,  # noqa: F401
                                confirm_and_start, context, current, enter_lobby, live_server,
                                login_and_start, page, server_steps, set_deadline, sign_in,
                                wait_saved, wait_until)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
# What the page says through its live region, as a screen reader hears it: every change
# of the announcer's text, in order.
LISTEN = """() => {
  window.cbtSaid = [];
  const el = document.getElementById('announcer');
  new MutationObserver(() => { if (el.textContent) window.cbtSaid.push(el.textContent); })
    .observe(el, { childList: true, characterData: true, subtree: true });
}"""


@pytest.fixture(scope="module")
def artifacts():
    """tests/artifacts/, keeping what other tests put there; this file's room-*.png are
    replaced."""
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("room-*.png"):
        old.unlink()
    return ARTIFACTS


def shots(page, artifacts, name: str, full_page: bool = False) -> None:
    """The page at the desktop size and at a phone's, then back to the desktop."""
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(artifacts / f"room-{name}-{label}.png"), full_page=full_page)
    page.set_viewport_size(DESKTOP)


def beginner(app) -> int:
    with app.app_context():
        sid = db.session.scalar(select(ExamSession.id).where(ExamSession.level == "beginner"))
        db.session.remove()
    return sid


def room_settings(app, sid: int, **values) -> None:
    """The room's settings, as the HTTP tests set them, seen by the next request at once."""
    settings(app, sid, **values)
    with app.app_context():
        forget_room(sid)
        db.session.remove()


def give_extra_minutes(app, sid: int, username: str, minutes: int) -> None:
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == username))
        reg = db.session.scalar(select(Registration).where(Registration.session_id == sid,
                                                           Registration.user_id == uid))
        reg.extra_minutes = minutes
        db.session.commit()
        db.session.remove()


def user_id(app, username: str) -> int:
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == username))
        db.session.remove()
    return uid


def proctor(app, sid: int) -> Client:
    """proctor1, signed in on the room page (which carries the CSRF token its script uses)."""
    c = signed_in(app, "proctor1")
    assert c.get(f"/room/{sid}").status_code == 200
    return c


def act(p: Client, url: str, **body) -> dict:
    """A proctor's action through the room's JSON endpoint; it must be done."""
    resp = room_act(p, url, **body)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.json


def said(page) -> list[str]:
    return page.evaluate("window.cbtSaid")


def pause_clock(page) -> None:
    """From here the page's timers wait for the test (Python's pause_at takes seconds)."""
    page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 0.1)


# ---- the lobby ---------------------------------------------------------------------------

def test_the_lobby_shows_the_sitting_and_no_question_before_the_start(app, live_server, page,
                                                                       artifacts):
    sid = beginner(app)
    give_extra_minutes(app, sid, "candidate1", 10)
    sign_in(page, live_server)
    card = beginner_card(page)
    expect(card.locator("dd", has_text="延長")).to_have_text("60分（延長 10分、合計 70分）")
    expect(card.get_by_label("入室コード")).to_have_count(0)       # the room has no code
    attempt_id = enter_lobby(page, card)

    lobby = page.locator("#lobby")
    expect(lobby.locator("h1")).to_contain_text("初級")
    expect(page.locator("#lobby-count")).to_have_text("40問")
    expect(page.locator("#lobby-time")).to_have_text("60分（延長 10分、合計 70分）")
    rules = lobby.locator("ol.rules li")
    expect(rules).to_have_count(6)
    for words in ("1問ずつ表示", "自動で保存", "延長を含めて70分", "自動的に提出",
                  "ブラウザやタブを閉じないで", "試験監督者を呼んで", "携帯電話"):
        expect(lobby.locator("ol.rules")).to_contain_text(words)
    expect(page.locator("#lobby-wait")).to_be_hidden()             # a room without a signal
    expect(page.locator("section.question")).to_have_count(0)
    expect(page.locator("#exam")).to_be_hidden()
    begin = page.get_by_role("button", name="開始", exact=True)
    expect(begin).to_be_disabled()
    shots(page, artifacts, "01-lobby", full_page=True)
    before = page.content()

    page.get_by_label("上記を確認しました").check()
    expect(begin).to_be_enabled()
    page.get_by_label("上記を確認しました").uncheck()
    expect(begin).to_be_disabled()
    confirm_and_start(page, 40)
    expect(page.locator("#qh-1")).to_be_focused()                  # read out at the start
    expect(page.locator("#timer")).to_have_text(re.compile(r"^1:(09|10):\d\d$"))   # extra time
    expect(page.locator("#sealed-questions")).to_have_count(0)
    # Nothing of the questions was in the lobby's page: not their ids, not their text.
    with app.app_context():
        form = db.session.get(Attempt, attempt_id).form
        db.session.remove()
    assert not [i["id"] for i in form if i["id"] in before]
    stems = page.locator("section.question .stem").all_text_contents()
    choices = page.locator("section.question label.choice").all_text_contents()
    assert len(stems) == 40
    leaked = [t for t in stems + choices if len(t.strip()) >= 4 and t.strip() in before]
    assert not leaked, leaked
    page.problems.check()


def test_without_webcrypto_the_page_is_loaded_again_once_started(app, live_server, page):
    """Plain http on another host than localhost has no crypto.subtle: the page cannot open
    the sealed questions, so it loads itself again once the attempt has started, and the
    server sends them in the clear."""
    page.add_init_script("Object.defineProperty(Crypto.prototype, 'subtle', { get: () => undefined })")
    sign_in(page, live_server)
    enter_lobby(page, beginner_card(page))
    assert page.evaluate("window.crypto.subtle") is None
    expect(page.locator("section.question")).to_have_count(0)
    confirm_and_start(page, 40)
    assert page.evaluate("performance.getEntriesByType('navigation')[0].type") == "reload"
    expect(page.locator("#sealed-questions")).to_have_count(0)
    expect(current(page)).to_have_attribute("data-position", "1")
    page.problems.check()


def test_on_the_signal_the_lobby_counts_down_and_starts_by_itself(app, live_server, browser,
                                                                   page, artifacts):
    sid = beginner(app)
    room_settings(app, sid, start_mode="signal")
    page.clock.install()
    sign_in(page, live_server)
    attempt_id = enter_lobby(page, beginner_card(page))
    wait = page.locator("#lobby-wait")
    expect(wait).to_contain_text("試験監督者の開始の合図をお待ちください")
    expect(page.locator("#lobby-self")).to_be_hidden()              # no 開始 of its own
    page.evaluate(LISTEN)
    shots(page, artifacts, "02-waiting-for-the-signal")

    pause_clock(page)
    signal = act(proctor(app, sid), f"/room/{sid}/signal")
    assert signal["starts_in_ms"] > 0
    page.clock.fast_forward(4_000)           # the next pulse (3 s, +20% at most) hears it
    countdown = page.locator("#lobby-countdown")
    expect(countdown).to_be_visible()
    expect(countdown).to_have_text(re.compile(r"^開始まで [1-5] 秒$"))
    expect(wait).to_be_hidden()
    shots(page, artifacts, "03-countdown")
    page.clock.fast_forward(6_000)           # the moment comes
    expect(page.locator("section.question")).to_have_count(40)
    expect(page.locator("#lobby")).to_be_hidden()
    expect(page.locator("#qh-1")).to_be_focused()
    starting = [s for s in said(page) if "開始まで" in s]
    assert len(starting) == 1, said(page)    # said once, not every second
    with app.app_context():
        a = db.session.get(Attempt, attempt_id)
        detail = db.session.get(SessionDetail, sid)
        assert a.pause_scope is None and a.started_at == detail.signal_at
        db.session.remove()
    page.problems.check()

    # A candidate who enters after the signal starts on their own.
    late_ctx = browser.new_context(viewport=DESKTOP, locale="ja-JP", timezone_id="Asia/Tokyo")
    late = late_ctx.new_page()
    sign_in(late, live_server, "candidate2")
    enter_lobby(late, beginner_card(late))
    expect(late.locator("#lobby-wait")).to_be_hidden()
    expect(late.locator("#lobby-self")).to_be_visible()
    confirm_and_start(late, 40)
    late_ctx.close()


# ---- a proctor's actions -------------------------------------------------------------------

def test_a_proctors_pause_time_and_termination_reach_the_page(app, live_server, page, artifacts):
    sid = beginner(app)
    page.clock.install()                     # time flows until the test pauses it
    attempt_id = login_and_start(page, live_server)
    uid = user_id(app, "candidate1")
    p = proctor(app, sid)
    hold = page.locator("#hold")
    layout = page.locator("#exam-layout")

    # A pause is felt within seconds by the pulse alone: the questions and the navigation
    # go, the panel says why and has the focus, the clock stands still.
    act(p, f"/room/{sid}/seats/{uid}/pause", reason="体調不良の申し出")
    expect(hold).to_be_visible(timeout=30_000)
    expect(layout).to_be_hidden()
    expect(hold.locator("h2")).to_have_text("試験は一時中断中です")
    expect(hold).to_contain_text("理由: 体調不良の申し出")
    expect(hold).to_contain_text("監督者の指示をお待ちください")
    expect(hold).to_be_focused()
    expect(page.locator("#timer-box")).to_have_class(re.compile(r"\bstopped\b"))
    frozen = page.locator("#timer").inner_text()
    expect(page.locator("#hold-time")).to_contain_text(frozen)
    page.clock.fast_forward(3_000)
    expect(page.locator("#timer")).to_have_text(frozen)            # it does not count down
    shots(page, artifacts, "04-paused")

    act(p, f"/room/{sid}/seats/{uid}/resume", reason="回復")
    expect(hold).to_be_hidden(timeout=30_000)
    expect(layout).to_be_visible()
    expect(page.locator(f"#qh-{current(page).get_attribute('data-position')}")).to_be_focused()
    expect(page.locator("#timer-box")).not_to_have_class(re.compile(r"\bstopped\b"))

    # A save made before the page has heard of a pause is refused, kept, and sent again
    # after the resume.
    pos = page.eval_on_selector_all(      # one click, one save (typed text waits 600 ms)
        "section.question", "ss => ss.filter(s => s.dataset.type === 'single').map(s => +s.dataset.position)")[0]
    page.locator(f'.qnav-btn[data-goto="{pos}"]').click()
    pause_clock(page)                        # no pulse until the test moves the clock
    act(p, f"/room/{sid}/seats/{uid}/pause", reason="端末の確認")
    page.problems.allowed.append("status of 409")                  # the refused save
    given = answer_with_mouse(page, current(page), pos)
    expect(hold).to_be_visible()             # the refusal made the page read its state
    expect(hold).to_contain_text("理由: 端末の確認")
    assert page.evaluate("window.cbtPendingSaves()") == 1
    assert pos not in server_steps(app, attempt_id)
    act(p, f"/room/{sid}/seats/{uid}/resume", reason="確認済み")
    page.clock.fast_forward(7_000)           # a pulse hears the resume
    expect(hold).to_be_hidden()
    wait_saved(page)
    assert server_steps(app, attempt_id)[pos] == (given, False)

    # Time given: the page's clock follows the server's at the next pulse.
    before = page.locator("#timer").inner_text()
    act(p, f"/room/{sid}/seats/{uid}/time", minutes=5, reason="機器の不具合")
    page.clock.fast_forward(7_000)
    expect(page.locator("#timer")).to_have_text(re.compile(r"^1:0[45]:\d\d$"))
    assert int(before.split(":")[0]) < 60
    expect(page.locator("#announcer")).to_contain_text("試験時間が追加されました")

    # Termination: the page says so and goes to the end page.
    act(p, f"/room/{sid}/seats/{uid}/terminate", reason="カンニングペーパーの所持")
    page.clock.fast_forward(7_000)
    expect(hold.locator("h2")).to_have_text("この受検は終了しました")
    shots(page, artifacts, "05-terminated")
    page.clock.fast_forward(2_000)
    page.wait_for_url(re.compile(rf"/exam/attempts/{attempt_id}/done$"), timeout=20_000)
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).submitted_by == "terminated"
        db.session.remove()
    page.problems.check()


# ---- the time warnings -----------------------------------------------------------------------

def test_time_warnings_are_said_once_at_10_5_and_1_minutes(app, live_server, page, artifacts):
    page.clock.install()
    attempt_id = login_and_start(page, live_server)
    deadline = utcnow() + timedelta(minutes=10, seconds=20)
    set_deadline(app, attempt_id, deadline)
    page.reload()
    expect(page.locator("section.question")).to_have_count(40)
    timer, box = page.locator("#timer"), page.locator("#timer-box")
    expect(timer).to_have_text(re.compile(r"^10:[12]\d$"))
    expect(box).to_have_attribute("aria-live", "off")               # the clock is never read out
    pause_clock(page)
    page.evaluate(LISTEN)

    def to(left: int) -> None:
        """Move the page's clock on until `left` seconds remain (from what it shows: the
        machine may be slow), and the server's deadline with it, so that a state read on
        the way agrees."""
        nonlocal deadline
        minutes, seconds = timer.inner_text().split(":")
        step = int(minutes) * 60 + int(seconds) - left
        assert step > 0
        deadline -= timedelta(seconds=step)
        set_deadline(app, attempt_id, deadline)
        page.clock.fast_forward(step * 1000)
        expect(timer).to_have_text(f"{left // 60}:{left % 60:02d}")

    to(605)                                  # 10:05: not yet
    assert said(page) == []
    to(595)
    assert said(page) == ["残り10分です"]
    expect(box).to_have_class(re.compile(r"\bwarn\b"))
    expect(box).to_have_class(re.compile(r"\balerted\b"))            # seen as well as heard
    shots(page, artifacts, "06-ten-minutes-left")
    to(295)
    assert said(page) == ["残り10分です", "残り5分です"]
    expect(box).to_have_class(re.compile(r"\blow\b"))
    to(55)
    assert said(page) == ["残り10分です", "残り5分です", "残り1分です"]
    to(45)
    assert said(page) == ["残り10分です", "残り5分です", "残り1分です"]

    # Loaded again past the marks: nothing is said again.
    page.reload()
    expect(page.locator("section.question")).to_have_count(40)
    expect(timer).to_have_text(re.compile(r"^0:[1-4]\d$"))
    page.evaluate(LISTEN)
    page.clock.fast_forward(2_000)
    expect(timer).to_have_text(re.compile(r"^0:[0-4]\d$"))
    assert said(page) == []
    expect(page.locator("#announcer")).to_have_text("")
    page.problems.check()


# ---- display options ---------------------------------------------------------------------------

def test_display_options_survive_a_reload(app, live_server, page, artifacts):
    sign_in(page, live_server)
    enter_lobby(page, beginner_card(page))
    html = page.locator("html")
    large = page.get_by_role("button", name="文字を大きく")
    contrast = page.get_by_role("button", name="コントラストを高く")
    expect(large).to_have_attribute("aria-pressed", "false")
    body_size = page.evaluate("getComputedStyle(document.body).fontSize")
    large.click()
    contrast.click()
    expect(large).to_have_attribute("aria-pressed", "true")
    expect(contrast).to_have_attribute("aria-pressed", "true")
    expect(html).to_have_class(re.compile(r"\bpref-large\b.*\bpref-contrast\b|\bpref-contrast\b.*\bpref-large\b"))
    bigger = page.evaluate("getComputedStyle(document.body).fontSize")
    assert float(bigger.rstrip("px")) > float(body_size.rstrip("px"))
    shots(page, artifacts, "07-lobby-large-contrast", full_page=True)

    page.reload()
    expect(html).to_have_class(re.compile(r"\bpref-large\b"))
    expect(html).to_have_class(re.compile(r"\bpref-contrast\b"))
    expect(large).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("getComputedStyle(document.body).color") == "rgb(0, 0, 0)"
    confirm_and_start(page, 40)
    shots(page, artifacts, "08-exam-large-contrast")
    large.click()                             # off again, and kept off
    page.reload()
    expect(page.locator("section.question")).to_have_count(40)
    expect(html).not_to_have_class(re.compile(r"\bpref-large\b"))
    expect(html).to_have_class(re.compile(r"\bpref-contrast\b"))
    expect(large).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("getComputedStyle(document.body).fontSize") == body_size
    page.problems.check()


# ---- the access code --------------------------------------------------------------------------

def test_a_wrong_access_code_is_refused_on_the_home_page(app, live_server, page, artifacts):
    sid = beginner(app)
    message = act(proctor(app, sid), f"/room/{sid}/code")["message"]
    code = re.search(r"(\d{6})", message).group(1)
    sign_in(page, live_server)
    card = beginner_card(page)
    field = card.get_by_label("入室コード")
    expect(field).to_be_visible()
    field.fill("000000" if code != "000000" else "111111")
    card.get_by_role("button", name="入室する").click()
    page.wait_for_url(re.compile(r"/exam/$"))
    expect(page.locator(".flash.error")).to_contain_text("入室コードが違います")
    shots(page, artifacts, "09-wrong-code")
    with app.app_context():
        assert db.session.scalar(select(Attempt.id).where(Attempt.session_id == sid)) is None
        db.session.remove()
    card = beginner_card(page)
    card.get_by_label("入室コード").fill(code)
    enter_lobby(page, card)
    page.goto(live_server + "/exam/")                       # in: not asked again
    expect(beginner_card(page).get_by_label("入室コード")).to_have_count(0)
    expect(beginner_card(page).get_by_role("link", name="開始前の画面に戻る")).to_be_visible()
    page.problems.check()
