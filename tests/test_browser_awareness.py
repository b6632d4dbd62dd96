"""Awareness quizzes in Chromium: an elderly participant's whole quiz by code on a phone with
no sign-in (text of at least 24 px, big buttons, axe clean, no sideways scroll), and the
runner's pages: creating, the QR code, the projector, the handout in print, closing."""
from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.awareness import operations
from app.extensions import db
from app.models import Activity, AwarenessEvent, User, VolunteerGroup
from tests.a11y import assert_accessible
from tests.conftest import BROWSER_ONCE
from tests.test_browser import (ARTIFACTS, artifacts, browser, context, live_server, page,  # noqa: F401
                                sign_in)
from tests.test_browser_a11y import REFLOW, overflow, small_targets

pytestmark = [pytest.mark.browser, BROWSER_ONCE]

PHONE = {"width": 390, "height": 844}
SAKURA = "桜丘大学サイバー防犯ボランティア"

FONT_PX = """sel => [...document.querySelectorAll(sel)].filter(e => e.getClientRects().length)
    .map(e => parseFloat(getComputedStyle(e).fontSize))"""


def make_event(app, source="bank:short_mix") -> tuple[int, str, list[dict]]:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "volunteer1"))
        group = db.session.scalar(select(VolunteerGroup).where(VolunteerGroup.name == SAKURA))
        event = operations.create_event(group, source, date(2026, 12, 1), "桜丘地区公民館",
                                        "地域の高齢者", None, user)
        db.session.commit()
        return event.id, event.code, event.questions


def fits_the_phone(pg, where: str) -> None:
    assert not overflow(pg), f"{where}: scrolls sideways at {pg.viewport_size['width']} px"
    small = small_targets(pg)
    assert not small, f"{where}: targets under 24 px: {small}"
    sizes = pg.evaluate(FONT_PX, "main p, main li, main button, main label, main dd")
    assert sizes and min(sizes) >= 24, f"{where}: text under 24 px: {sorted(set(sizes))}"


def test_an_elderly_participants_quiz_by_code_on_a_phone(app, live_server, browser, artifacts):
    event_id, code, questions = make_event(app)
    ctx = browser.new_context(viewport=PHONE, locale="ja-JP", timezone_id="Asia/Tokyo",
                              is_mobile=True, has_touch=True)
    ctx.set_default_timeout(15_000)
    pg = ctx.new_page()
    errors = []
    pg.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    try:
        pg.goto(live_server + "/q/")
        expect(pg.get_by_role("heading", name="クイズに参加する")).to_be_visible()
        pg.get_by_label("参加コード（数字6けた）").fill("000000" if code != "000000" else "111111")
        pg.get_by_role("button", name="参加する").click()
        expect(pg.get_by_role("alert")).to_contain_text("見つかりません")
        assert_accessible(pg)
        assert errors == ["Failed to load resource: the server responded with a status of 404 (NOT FOUND)"]
        errors.clear()                      # the wrong code's page is a 404, as it should be
        pg.get_by_label("参加コード（数字6けた）").fill(code)
        pg.get_by_role("button", name="参加する").click()
        expect(pg.get_by_role("heading", name=re.compile("ネット詐欺ミニクイズ"))).to_be_visible()
        fits_the_phone(pg, "start")
        pg.get_by_role("button", name="はじめる").click()
        for n, q in enumerate(questions, 1):
            expect(pg.get_by_role("heading", name=f"第{n}問")).to_be_visible()
            choices = pg.locator("button.aw-choice")
            expect(choices).to_have_count(len(q["choices"]))
            if n == 1:
                fits_the_phone(pg, "question")
                assert_accessible(pg)
                heights = [choices.nth(i).bounding_box()["height"] for i in range(len(q["choices"]))]
                assert min(heights) >= 44, heights
                pg.screenshot(path=str(ARTIFACTS / "awareness-question-390.png"), full_page=True)
            # Wrong on the first question, right on the rest.
            pick = (q["answer"] + 1) % len(q["choices"]) if n == 1 else q["answer"]
            choices.nth(pick).click()
            verdict = "× 不正解です" if n == 1 else "○ 正解です"
            expect(pg.get_by_role("heading", name=verdict)).to_be_visible()
            expect(pg.get_by_role("heading", name="解説")).to_be_visible()
            if n == 1:
                fits_the_phone(pg, "feedback")
                assert_accessible(pg)
                pg.screenshot(path=str(ARTIFACTS / "awareness-feedback-390.png"), full_page=True)
            pg.get_by_role("link", name="結果を見る" if n == len(questions) else "次の問題へ").click()
        expect(pg.locator(".aw-score")).to_have_text(f"{len(questions)}問中 {len(questions) - 1}問 正解")
        expect(pg.get_by_text("#9110")).to_be_visible()
        fits_the_phone(pg, "result")
        assert_accessible(pg)
        pg.screenshot(path=str(ARTIFACTS / "awareness-result-390.png"), full_page=True)
        pg.set_viewport_size(REFLOW)
        assert not overflow(pg), "result: scrolls sideways at 320 px"
        # No sign-in, and no cookie but the site's session (its form token and the random
        # participant token).
        assert [c["name"] for c in ctx.cookies()] == ["session"]
        assert not errors, errors
    finally:
        ctx.close()
    with app.app_context():
        tally = operations.counts(db.session.get(AwarenessEvent, event_id))
    assert (tally.started, tally.answered, tally.finished) == (1, 1, 1)
    assert [t.rate for t in tally.questions] == [0] + [100] * (len(questions) - 1)


def test_a_volunteer_runs_an_event_from_creation_to_its_activity(app, live_server, page, artifacts):
    page.set_viewport_size(PHONE)
    page.goto(live_server + "/login")
    page.fill("#username", "volunteer1")
    page.fill("#password", "cbt-demo-2025")
    page.get_by_role("button", name="ログイン").click()
    page.goto(live_server + "/awareness/")
    page.get_by_role("link", name="クイズを作成する").click()
    page.get_by_label("クイズ").select_option("bank:support_scam")
    page.get_by_label("場所").fill("桜丘地区公民館")
    page.get_by_label("対象").fill("地域の高齢者")
    assert_accessible(page)
    page.get_by_role("button", name="作成してコードを発行").click()
    expect(page.get_by_role("heading", name="参加の案内")).to_be_visible()
    code = page.locator(".aw-join .aw-code").inner_text()
    assert re.fullmatch(r"\d{6}", code)
    qr = page.get_by_alt_text(re.compile("参加用のQRコード"))
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    assert not overflow(page)
    assert_accessible(page)
    page.screenshot(path=str(ARTIFACTS / "awareness-event-390.png"), full_page=True)

    # The projector: the code, then a question, then its answer and counts on request.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("link", name="プロジェクター表示").click()
    expect(page.locator(".aw-code-big")).to_contain_text(code)
    page.get_by_role("link", name="第1問を表示").click()
    expect(page.locator(".aw-progress")).to_have_text("第1問 / 全12問")
    expect(page.locator(".aw-right")).to_have_count(0)
    page.get_by_role("link", name="答えと集計を表示").click()
    expect(page.locator(".aw-right")).to_have_count(1)
    assert_accessible(page)
    page.screenshot(path=str(ARTIFACTS / "awareness-projector-1280.png"), full_page=True)
    page.get_by_role("link", name="クイズの画面へ戻る").click()

    # The handout, as printed: no site header or menu, every question and the help.
    page.get_by_role("link", name="配布資料（印刷用）").click()
    expect(page.get_by_role("button", name="印刷する")).to_be_visible()
    assert_accessible(page)
    page.emulate_media(media="print")
    expect(page.locator("header.site")).to_be_hidden()
    expect(page.get_by_role("button", name="印刷する")).to_be_hidden()
    expect(page.locator(".aw-sheet-questions > li")).to_have_count(12)
    page.pdf(path=str(ARTIFACTS / "awareness-handout.pdf"))
    page.emulate_media(media="screen")
    page.get_by_role("link", name="クイズの画面へ戻る").click()

    page.get_by_label("活動時間（分）").fill("40")
    page.get_by_role("button", name="終了する").click()
    expect(page.get_by_role("note")).to_contain_text("活動実績に記録済み")
    page.problems.check()
    with app.app_context():
        activity = db.session.scalar(select(Activity).where(Activity.kind == "awareness"))
        assert (activity.minutes, activity.place, activity.participants) == (40, "桜丘地区公民館", 0)
