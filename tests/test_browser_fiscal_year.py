"""The scripted fiscal year (test_fiscal_year.py), shorter, in a real Chromium (Playwright): each
person signs in on their own browser (a context of their own) and works the pages with the
mouse and the keyboard.

The secretariat uploads the staff CSV and makes the candidate's account; the vice-chair
creates a session with the form and registers the candidate; the candidate sits it with the
mouse; a committee member opens the review list and the sheet; the vice-chair corrects a key
(the sheet goes from 6/10 to 7/10, a pass) and certifies; the register shows the passer,
the head of the affiliation reads the notice, and the candidate sees the certified result.

Screenshots go to tests/artifacts/year-*.png. The test fails, never skips, without
Chromium (the fixtures of tests/test_browser.py)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.cli.demo import DEMO_PASSWORD
from tests.choicetools import choice_order, posted
from tests.conftest import BROWSER_ONCE, Client
# The browser (Debian's Chromium; a failure, never a skip, when it is missing) and the live
# server come from the exam-page tests.
from tests.test_browser import (ARTIFACTS, PageProblems, browser,  # noqa: F401
                                enter_and_start, live_server)
from tests.yeartools import key_leaks, questions, right, short_banks, staff_csv, window, wrong

pytestmark = [pytest.mark.browser, BROWSER_ONCE]

STAFF = [
    "Z00001,栄　一花,さかえ　いちか,1995-10-10,巡査,101,警察官,",
    "Z00002,栄　二葉,さかえ　ふたば,H9.3.3,巡査長,101,警察官,",
]


@pytest.fixture
def artifacts():
    """tests/artifacts/, keeping what other tests put there (test_browser's own fixture
    empties it once per run); only this test's year-*.png are replaced."""
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("year-*.png"):
        old.unlink()
    return ARTIFACTS


class Person:
    """One person at their own browser: a context, a page, the problems it logs."""

    def __init__(self, browser, base, artifacts, name):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP",
                                           timezone_id="Asia/Tokyo")
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.problems = PageProblems(self.page)
        self.base, self.artifacts, self.name = base, artifacts, name

    def sign_in(self, username, password=DEMO_PASSWORD, lands=r"/"):
        p = self.page
        p.goto(self.base + "/login")
        p.fill("#username", username)
        p.fill("#password", password)
        p.get_by_role("button", name="ログイン").click()
        p.wait_for_url(re.compile(lands))
        return self

    def go(self, path):
        self.page.goto(self.base + path)
        return self.page

    def shot(self, name):
        self.page.screenshot(path=str(self.artifacts / f"year-{name}.png"), full_page=True)

    def close(self):
        self.problems.check()
        self.context.close()


def answer_with_mouse(section, q, correct: bool, order):
    """Click the answer the bank says is right (or the wrong one the HTTP test uses too);
    `order` is the keys in the order shown, as the page's values are shown positions."""
    response = right(q) if correct else wrong(q)
    if q.type == "single":
        section.locator(f'label.choice:has(input[value="{posted(order, response)}"])').click()
    elif q.type == "multiple":
        for position in posted(order, response):
            section.locator(f'label.choice:has(input[value="{position}"])').click()
    elif q.type == "true_false":
        section.get_by_text("正しい（○）" if response else "誤り（×）").click()
    else:
        box = section.locator("input.text-answer")
        box.click()
        box.fill(response)
        box.press("Enter")                     # Enter saves at once
    return response


def test_the_year_in_a_browser(app, live_server, browser, artifacts, tmp_path):  # noqa: F811  (fixtures)
    fy, opens, closes = window()
    # The committee's short-form bank version, stored by the author as in test_fiscal_year.
    app.config["BANKS_DIR"] = str(short_banks(tmp_path / "banks"))
    author = Client(app)
    assert author.login("author1").status_code == 302
    author.get("/author/versions")
    assert author.post_form("/author/versions/load").status_code == 302

    # ---- the secretariat uploads the staff CSV and makes the candidate's account ---------
    sec = Person(browser, live_server, artifacts, "secretariat").sign_in("secretariat1", lands=r"/admin/$")
    p = sec.go("/admin/import/staff")
    csv_file = tmp_path / "jinji.csv"
    csv_file.write_bytes(staff_csv(STAFF, encoding="cp932"))
    p.set_input_files('input[type="file"]', str(csv_file))
    p.get_by_role("button", name="内容を確認する").click()
    expect(p.locator("#count-created")).to_have_text("2件")
    expect(p.locator("main")).to_contain_text("1997年3月3日（平成9年3月3日）")
    sec.shot("01-staff-import-preview")
    p.get_by_role("button", name="この内容で取り込む").click()
    expect(p.locator("body")).to_contain_text("取り込みました: 新規 2件")
    p.fill('input[name="q"]', "Z00001")
    p.keyboard.press("Enter")
    p.get_by_role("link", name="Z00001").click()
    p.get_by_role("button", name="ログインアカウントを作成する").click()
    password = p.locator("code.password").inner_text()
    expect(p.locator("h1")).to_have_text("ログインアカウントを作成しました")
    sec.shot("02-account-password")
    sec.close()

    # ---- the vice-chair creates the session with the form and registers the candidate ----
    vc = Person(browser, live_server, artifacts, "vicechair").sign_in("vicechair", lands=r"/committee/sessions/$")
    p = vc.go("/committee/sessions/new")
    title = f"{fy}年度 初級 第1回（短縮版）"
    p.fill("#title", title)
    expect(p.locator("#bank_version_id option").first).to_have_attribute("selected", "")   # the newest
    p.select_option("#level", "beginner")
    p.fill("#opens_at", opens)
    p.fill("#closes_at", closes)
    p.select_option("#format", "cbt")
    expect(p.locator("main")).to_contain_text("初級 10問（15分）")
    vc.shot("03-session-form")
    p.get_by_role("button", name="保存する").click()
    p.wait_for_url(re.compile(r"/committee/sessions/\d+$"))
    session_id = int(re.search(r"/committee/sessions/(\d+)$", p.url).group(1))
    expect(p.locator("main")).to_contain_text("実施回を作成しました")
    p.get_by_role("link", name="受検者を登録").click()
    p.fill('input[name="q"]', "Z00001")
    p.get_by_role("button", name="検索").click()
    p.get_by_label("栄　一花を選択").check()
    p.get_by_role("button", name="選択した職員を登録").click()
    expect(p.locator("#outcome")).to_contain_text("1名を登録しました")
    vc.shot("04-registered")

    # ---- the candidate signs in and sits the exam with the mouse -------------------------
    cand = Person(browser, live_server, artifacts, "candidate").sign_in("Z00001", password, lands=r"/exam/$")
    p = cand.page
    card = p.locator("section.session", has_text=title)
    attempt_id = enter_and_start(p, card, 10)
    sections = p.locator("section.question")
    bank = questions()
    form = [bank[sections.nth(i).get_attribute("data-qid")] for i in range(10)]
    assert key_leaks(p.content(), form) == []                # never the key before certification
    # Six right and four wrong (6/10 fails); the first single-choice question among the wrong.
    first_single = next(i for i, q in enumerate(form) if q.type == "single")
    wrong_positions = {first_single} | set([i for i in range(10) if i != first_single][:3])
    for i, q in enumerate(form):
        section = p.locator(f"section#q-{i + 1}")
        expect(section).to_be_visible()
        answer_with_mouse(section, q, i not in wrong_positions,
                          choice_order(app, attempt_id, i + 1))
        expect(p.locator(f'.qnav-btn[data-goto="{i + 1}"]')).to_have_class(re.compile(r"\banswered\b"))
        if i == 4:
            cand.shot("05-exam-question")
        if i < 9:
            p.locator("#next").click()
    p.wait_for_function("() => window.cbtPendingSaves() === 0")
    expect(p.locator("#save-status")).to_contain_text("保存しました")
    p.locator("#to-confirm").click()
    expect(p.locator("#confirm")).to_contain_text("未解答の問題はありません。")
    p.locator("#submit-final").click()
    p.wait_for_url(re.compile(r"/done$"))
    expect(p.locator("main")).to_contain_text("結果は、委員会の認定後に表示されます。")
    expect(p.locator("main")).to_contain_text("10 / 10問")
    cand.shot("06-submitted")

    # ---- a committee member opens the review list and the sheet --------------------------
    member = Person(browser, live_server, artifacts, "committee").sign_in("committee1",
                                                                          lands=r"/committee/review/$")
    p = member.page
    p.get_by_role("link", name=title).click()
    row = p.locator("#sheets tbody tr", has_text="栄　一花")
    expect(row.locator("td.score")).to_have_text("6/10（60%）")
    expect(row.locator("td.result")).to_have_text("不合格")
    expect(p.locator('input[name="attempt"]')).to_have_count(0)       # a member cannot certify
    member.shot("07-review-list")
    row.get_by_role("link", name="栄　一花").click()
    expect(p.locator("#score")).to_have_text("6/10（60%）")
    member.shot("08-review-sheet")
    member.close()

    # ---- the vice-chair corrects the key and certifies ----------------------------------
    q = form[first_single]
    p = vc.go(f"/committee/review/sessions/{session_id}/corrections")
    p.select_option("#question_id", q.id)
    p.get_by_label("正答を訂正する").check()
    p.fill("#answer", wrong(q))
    p.fill("#reason", "選択肢の記述に誤りがあったため正答を訂正（委員会決定）")
    vc.shot("09-correction")
    p.get_by_role("button", name="訂正して再採点する").click()
    expect(p.locator("body")).to_contain_text("1件の答案を再採点しました（合否が変わった答案: 1件）")
    p = vc.go(f"/committee/review/sessions/{session_id}")
    row = p.locator("#sheets tbody tr", has_text="栄　一花")
    expect(row.locator("td.score")).to_have_text("7/10（70%）")
    expect(row.locator("td.result")).to_have_text("合格")
    # The committee's decision (第2-2): today's meeting (the date is filled in), two members.
    p.get_by_label("サイバー局長（委員長）（委員長）").check()
    p.get_by_label("情報技術戦略課長（副委員長）（副委員長）").check()
    p.get_by_role("button", name="合格の答案をすべて認定する").click()
    expect(p.locator("body")).to_contain_text("1件を認定しました（合格1件、不合格0件）")
    expect(row).to_contain_text("認定済み（合格）")
    vc.shot("10-certified")

    # ---- the register (別表第3) shows the passer ----------------------------------------
    p = vc.go("/committee/register/?level=beginner")
    passer = p.locator("table.register tbody tr", has_text="Z00001")
    expect(passer).to_contain_text("栄　一花")
    expect(passer).to_contain_text("中央警察署")
    expect(passer).to_contain_text("本県の検定")
    vc.shot("11-register")
    vc.close()

    # ---- the head of 中央警察署 sees the notice and marks it read ------------------------
    head = Person(browser, live_server, artifacts, "head").sign_in("head1", lands=r"/head/$")
    p = head.page
    notice = p.locator("#notices tbody tr", has_text="栄　一花")
    expect(notice).to_contain_text("初級")
    head.shot("12-head-notice")
    notice.get_by_role("button", name="既読にする").click()
    expect(p.locator("body")).to_contain_text("既読にしました")
    expect(p.locator("#notices tbody tr", has_text="栄　一花").get_by_role("button")).to_have_count(0)
    head.close()

    # ---- the candidate sees the certified result --------------------------------------
    p = cand.go("/exam/")
    expect(p.locator("main")).to_contain_text("7/10問正解（正答率70%）")
    expect(p.locator(".certified-result strong")).to_have_text("初級 合格")      # the verdict names the level
    assert key_leaks(p.content(), form) == []
    cand.shot("13-candidate-result")
    cand.close()
