"""In Chromium at phone size: liaison1 issues a completion certificate to volunteer1, the
verification URL opened without sign-in shows 有効 (its QR code, read from the screen,
is that URL; the credential checks against the JWKS fetched over HTTP), the liaison
revokes it and the page shows 失効; every page passes axe and fits the phone's width."""
from __future__ import annotations

import io
import json
import re
import urllib.request
from datetime import date

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from app.cli.demo import DEMO_PASSWORD
from app.extensions import db
from tests.a11y import assert_accessible
from tests.certificatetools import activity, completion, member, user
from tests.conftest import BROWSER_ONCE
from tests.test_browser import ARTIFACTS, PageProblems, browser, live_server  # noqa: F401  (fixtures)
from tests.test_certificates import joserfc_verify

pytestmark = [pytest.mark.browser, BROWSER_ONCE]
expect.set_options(timeout=15_000)

PHONE = {"width": 390, "height": 844}


def phone_page(browser, base, username=None):  # noqa: F811
    context = browser.new_context(viewport=PHONE, locale="ja-JP", timezone_id="Asia/Tokyo")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.problems = PageProblems(page)
    if username:
        page.goto(base + "/login")
        page.fill("#username", username)
        page.fill("#password", DEMO_PASSWORD)
        page.get_by_role("button", name="ログイン").click()
        page.wait_for_load_state()
    return context, page


def fits(page):
    """No sideways scroll at the page's width."""
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"certificate-{name}.png"), full_page=True)


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.read()


def test_liaison_issues_public_verifies_liaison_revokes(app, live_server, browser):  # noqa: F811
    with app.app_context():
        m = member("volunteer1")
        completion(m)
        activity(m, "awareness", date(2026, 6, 1), 120, user("liaison1"))
        db.session.commit()

    ctx, liaison = phone_page(browser, live_server, "liaison1")
    liaison.goto(live_server + "/certificates/")
    expect(liaison.get_by_role("heading", name="修了証の発行")).to_be_visible()
    assert_accessible(liaison)
    fits(liaison)
    liaison.get_by_label("修了した研修").select_option(label="桜丘　未来（桜丘大学サイバー防犯ボランティア）: ボランティア基礎研修")
    liaison.get_by_role("button", name="修了証を発行").click()
    expect(liaison.get_by_text("修了証を発行しました。")).to_be_visible()
    expect(liaison.locator(".cert-badge.valid")).to_have_text("有効")
    assert_accessible(liaison)
    fits(liaison)
    shot(liaison, "issued-phone")
    url = liaison.locator(".cert-url a").get_attribute("href")
    assert re.fullmatch(re.escape(live_server) + r"/certificates/verify/[A-Za-z0-9_-]{22}", url)

    # The QR code as the screen shows it decodes to the verification URL.
    png = liaison.get_by_role("img", name="確認用URLのQRコード").screenshot()
    assert [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))] == [url]

    # Anyone, signed out, on a phone.
    pctx, public = phone_page(browser, live_server)
    public.goto(url)
    expect(public.locator(".cert-status")).to_contain_text("有効")
    expect(public.locator(".cert-rows")).to_contain_text("ボランティア基礎研修")
    assert_accessible(public)
    fits(public)
    shot(public, "verify-valid-phone")
    # The credential checks with joserfc against the JWKS fetched from the server.
    jwt_url = public.get_by_role("link", name="オープンバッジ（.jwt）をダウンロード").get_attribute("href")
    jwks = json.loads(fetch(live_server + "/certificates/jwks.json"))
    vc = joserfc_verify(fetch(live_server + jwt_url).decode(), jwks)
    assert vc["credentialStatus"]["id"] == url and vc["type"][-1] == "OpenBadgeCredential"

    liaison.get_by_label("失効の理由").fill("記録の誤りによる再発行のため")
    liaison.get_by_role("button", name="失効させる").click()
    expect(liaison.get_by_text("証明書を失効させました。")).to_be_visible()
    expect(liaison.locator(".cert-badge.revoked")).to_have_text("失効")

    public.reload()
    expect(public.locator(".cert-status")).to_contain_text("失効")
    expect(public.locator("main")).not_to_contain_text("記録の誤り")
    assert_accessible(public)
    fits(public)
    shot(public, "verify-revoked-phone")

    # The member finds it among their own certificates; the printable page fits too.
    vctx, volunteer = phone_page(browser, live_server, "volunteer1")
    volunteer.goto(live_server + "/certificates/")
    volunteer.get_by_role("link", name=re.compile("修了証: 桜丘")).click()
    expect(volunteer.locator(".cert-badge.revoked")).to_be_visible()
    volunteer.get_by_role("link", name="印刷用の表示").click()
    expect(volunteer.get_by_role("heading", name="修了証")).to_be_visible()
    assert_accessible(volunteer)
    fits(volunteer)
    shot(volunteer, "print-phone")
    for p in (liaison, public, volunteer):
        p.problems.check()
    for c in (ctx, pctx, vctx):
        c.close()
