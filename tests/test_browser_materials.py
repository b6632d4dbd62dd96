"""In Chromium at phone size: volunteer1 drafts a quiz and submits it, liaison1 comments
and approves it; every page reflows at 390 px, passes axe (WCAG 2.x A/AA) and keeps its
targets at 24 px at least; the demo's published handout is public.

Screenshots land in tests/artifacts/materials-*.png."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.cli.demo import DEMO_PASSWORD
from app.extensions import db
from app.materials import quizsource
from app.models import Material
from tests.a11y import assert_accessible
from tests.conftest import BROWSER_ONCE
from tests.test_browser import ARTIFACTS, PageProblems, browser, live_server  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, BROWSER_ONCE]
expect.set_options(timeout=15_000)

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
TARGETS = "button, a.button, input[type=submit], input[type=text], input[type=radio], input[type=checkbox], summary"
SMALL = """sel => Array.from(document.querySelectorAll(sel))
    .filter(e => e.getClientRects().length)
    .filter(e => { const r = (e.closest('label') || e).getBoundingClientRect(); return r.width < 24 || r.height < 24; })
    .map(e => e.outerHTML.slice(0, 100))"""


def open_as(browser, base, username=None):  # noqa: F811
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", **PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.problems = PageProblems(page)
    if username:
        page.goto(base + "/login")
        page.fill("#username", username)
        page.fill("#password", DEMO_PASSWORD)
        page.get_by_role("button", name="ログイン").click()
        page.wait_for_url(lambda url: "/login" not in url)
    return context, page


def check(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"materials-{name}.png"), full_page=True)
    wide = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert wide <= 0, f"{name}: the page scrolls sideways by {wide} px"
    assert_accessible(page)
    assert page.evaluate(SMALL, TARGETS) == [], f"{name}: targets under 24 px"
    page.problems.check()


def test_a_volunteer_drafts_and_the_liaison_approves_on_a_phone(app, live_server, browser):  # noqa: F811
    ctx, page = open_as(browser, live_server, "volunteer1")
    page.goto(live_server + "/materials/")
    check(page, "index")
    page.get_by_role("link", name="新しい資料を作成する").click()
    check(page, "new")
    expect(page.get_by_label("本文")).to_be_hidden()            # a quiz has no body
    page.get_by_role("radio", name=re.compile("配布資料")).check()
    expect(page.get_by_label("本文")).to_be_visible()
    page.get_by_role("radio", name=re.compile("クイズ")).check()
    page.get_by_label("題名").fill("偽の警告画面クイズ")
    page.get_by_label("対象").fill("公民館の高齢者講座")
    page.get_by_role("button", name="保存する").click()
    expect(page.locator("h1")).to_have_text("偽の警告画面クイズ")
    page.get_by_role("link", name="問題を追加").click()
    page.get_by_label("問題文").fill("画面に「ウイルスに感染」と電話番号が出ました。どうしますか。")
    page.get_by_role("textbox", name="選択肢1").fill("表示された番号に電話する")
    page.get_by_role("textbox", name="選択肢2").fill("電話せずブラウザを閉じる")
    page.get_by_role("radio", name="選択肢2が正解").check()
    page.get_by_label("解説").fill("偽の警告です。電話せず、ブラウザを閉じます。")
    page.get_by_label("出典・参考").fill("IPA 情報セキュリティ安心相談窓口")
    check(page, "question")
    page.get_by_role("button", name="問題を保存する").click()
    expect(page.locator("#questions")).to_have_text("問題（1問）")
    check(page, "draft")
    page.get_by_role("button", name="審査に提出する").click()
    expect(page.locator(".flash")).to_contain_text("審査に提出しました")
    mid = int(re.search(r"/materials/(\d+)", page.url).group(1))
    ctx.close()

    ctx, page = open_as(browser, live_server, "liaison1")
    page.goto(live_server + "/materials/")
    page.get_by_role("link", name="偽の警告画面クイズ").first.click()
    expect(page.locator("h1")).to_contain_text("審査: 偽の警告画面クイズ")
    page.get_by_label("第1問へのコメント").fill("IPAのページのURLも書くとよいです。")
    page.get_by_role("checkbox", name=re.compile("正確性")).check()
    page.get_by_role("checkbox", name=re.compile("著作権・出典")).check()
    check(page, "review")
    page.get_by_role("button", name="承認する").click()
    expect(page.locator(".flash")).to_contain_text("承認しました")
    expect(page.locator("dl.facts")).to_contain_text("承認済み")
    expect(page.locator(".mat-history")).to_contain_text("IPAのページのURLも書くとよいです。")
    check(page, "approved")
    ctx.close()
    with app.app_context():
        assert quizsource.quiz_questions(mid)[0]["answer"] == 1

    # The demo's published handout, to anyone, in large text.
    with app.app_context():
        public = db.session.scalar(db.select(Material.id).where(Material.published.is_(True)))
    ctx, page = open_as(browser, live_server)
    page.goto(f"{live_server}/materials/public/{public}")
    expect(page.locator("h1")).to_have_text("ご注意ください「サポート詐欺」")
    check(page, "public")
    ctx.close()
