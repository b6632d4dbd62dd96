"""Every page a role may open is found from its landing page by following links, and no link
leads to a page the role may not open; the menu marks the current place and agrees with the
roles each page's decorator lets in."""
from __future__ import annotations

import re
from collections import defaultdict, deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from app.cli.demo import DEMO_PASSWORD
from app.core import nav
from app.extensions import db
from app.models import Affiliation, ExamSession, Proctor, User, UserRole
from tests.conftest import Client
from tests.test_review import right_first, sit
from tests.test_roles import ROUTES

BASE = "http://localhost"
# What the browser loads itself, and the print of the notices ticked on 合格者通知 (a form's
# answer, not a page of its own).
NOT_LINKED = {"static", "index", "healthz", "readyz", "favicon", "auth.login", "register.notice_print"}
# Pages reached from another page with an id in their address: the ones a person works on.
MAIN_PAGES = {"sessions.detail", "sessions.candidates", "sessions.edit", "sessions.room_setup",
              "review.session_page", "review.sheet", "review.corrections", "review.written",
              "admin.staff_edit", "admin.affiliation_edit", "admin.user_edit", "admin.import_upload",
              "head.staff_detail", "room.room"}
# A page with many links of one kind (a sheet per candidate, a practice topic each) is
# opened a few times: the role check is per page, and the crawl stays fast.
PER_ENDPOINT = 4
MULTI_ROLES = ("secretariat", "author", "proctor", "head", "candidate")
USERS = {"candidate1": {"candidate"}, "author1": {"author"}, "committee1": {"committee"},
         "vicechair": {"vice_chair", "committee"}, "chair": {"chair", "committee"},
         "head1": {"head"}, "secretariat1": {"secretariat"}, "proctor1": {"proctor"},
         "multi": set(MULTI_ROLES)}


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def links_of(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.hrefs


def is_download(rule: str) -> bool:
    """export.csv, template.csv, print.css: files, not pages."""
    return "." in rule.rsplit("/", 1)[-1]


def endpoint_of(app, path: str, query: str = ""):
    adapter = app.url_map.bind("localhost", query_args=query)
    try:
        return adapter.match(path, method="GET")
    except HTTPException:           # no such page, or only a redirect to one
        return None, {}


def pages_for(app, roles: set[str]) -> set[str]:
    """Every parameterless GET page the roles open, and the main pages with an id."""
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_LINKED or "GET" not in rule.methods or is_download(rule.rule):
            continue
        if rule.arguments and rule.endpoint not in MAIN_PAGES:
            continue
        allowed = getattr(app.view_functions[rule.endpoint], "allowed_roles", None)
        assert allowed, f"{rule.endpoint} ({rule.rule}) has no role_required"
        if allowed & roles:
            out.add(rule.endpoint)
    return out


def crawl(app, client, per_endpoint_limit: int = PER_ENDPOINT) -> tuple[dict[str, str], list[str]]:
    """From the landing page, every same-origin GET link: ({endpoint: first url}, problems).
    A link answering anything but 200 is a problem."""
    first = client.get("/", follow_redirects=True)
    landing = first.request.path
    assert first.status_code == 200, landing
    reached: dict[str, str] = {}
    seen, per_endpoint = {landing}, defaultdict(int)
    queue = deque([(landing, first, "/")])
    problems = []
    while queue:
        url, resp, source = queue.popleft()
        if resp is None:
            resp = client.get(url, follow_redirects=True)     # "/" leads to the landing page
            url = resp.request.full_path.rstrip("?")
        if resp.status_code != 200:
            problems.append(f"{url} (linked from {source}): {resp.status_code}")
            continue
        parts = urlsplit(url)
        endpoint, _args = endpoint_of(app, parts.path, parts.query)
        reached.setdefault(endpoint, url)
        if not resp.mimetype.startswith("text/html"):
            continue
        for href in links_of(resp.get_data(as_text=True)):
            target, _frag = urldefrag(urljoin(BASE + url, href))
            if not target.startswith(BASE + "/") or not target[len(BASE):]:
                continue
            target = target[len(BASE):]
            parts = urlsplit(target)
            endpoint, _args = endpoint_of(app, parts.path, parts.query)
            if endpoint is None:
                problems.append(f"{target} (linked from {url}): no such page")
                continue
            rule = next(app.url_map.iter_rules(endpoint)).rule
            if target in seen or is_download(rule) or per_endpoint[endpoint] >= per_endpoint_limit:
                continue
            seen.add(target)
            per_endpoint[endpoint] += 1
            queue.append((target, None, url))
    return reached, problems


def add_multi_role_user(app, sid: int) -> None:
    """One person with several roles: head of the second affiliation, proctor of session `sid`."""
    with app.app_context():
        user = User(username="multi", display_name="兼務 職員（複数の役割）",
                    roles=[UserRole(role=r) for r in MULTI_ROLES])
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
        db.session.flush()
        db.session.scalar(select(Affiliation).where(Affiliation.code == "102")).head_user_id = user.id
        db.session.add(Proctor(session_id=sid, user_id=user.id, assigned_by=user.id))
        db.session.commit()


def seed_site(app) -> None:
    """What the pages with an id need: a submitted sheet to review, and the person above."""
    with app.app_context():
        sid = db.session.scalar(select(ExamSession.id).where(ExamSession.level == "beginner"))
        uid = db.session.scalar(select(User.id).where(User.username == "candidate2"))
    sit(app, sid, uid, right_first(30))
    add_multi_role_user(app, sid)


@pytest.fixture
def site(app):
    seed_site(app)
    return app


def signed_in(app, username: str) -> Client:
    c = Client(app)
    assert c.login(username).status_code == 302
    return c


@pytest.mark.parametrize("username", sorted(USERS))
def test_every_page_of_a_role_is_reached_by_links(site, username):
    client = signed_in(site, username)
    reached, problems = crawl(site, client)
    assert not problems, problems
    missing = pages_for(site, USERS[username]) - set(reached)
    assert not missing, f"{username} cannot reach {sorted(missing)} without typing the address"


def test_the_vice_chair_reaches_the_certify_page_from_the_menu(site):
    """The page with the certify button, two links from anywhere: the menu, then a session."""
    client = signed_in(site, "vicechair")
    home = client.get("/committee/sessions/").get_data(as_text=True)
    assert 'href="/committee/review/"' in menu_html(home)
    review = client.get("/committee/review/").get_data(as_text=True)
    session_page = re.search(r'href="(/committee/review/sessions/\d+)"', review).group(1)
    assert "認定する" in client.get(session_page).get_data(as_text=True)


def test_the_menu_offers_exactly_what_the_roles_open(app):
    """Each link shows to the roles its page lets in, whatever the person's mix of roles:
    the roles the menu reads from the decorators are those test_roles' table (checked there
    against every route's answers) names for the page."""
    for group in nav.MENU:
        for link in group.links:
            assert nav.roles_of(app, link.endpoint) == set(ROUTES[link.endpoint].access), link.endpoint
    for username, roles in USERS.items():
        if username == "multi":
            continue
        client = signed_in(app, username)
        html = client.get("/", follow_redirects=True).get_data(as_text=True)
        shown = set(re.findall(r'<li><a href="([^"]+)"', menu_html(html)))
        with app.test_request_context():
            from flask import url_for
            expected = {url_for(link.endpoint, **dict(link.args)) for group in nav.MENU
                        for link in group.links
                        if nav.roles_of(app, link.endpoint) & roles}
        assert shown == expected, username


def menu_html(html: str) -> str:
    m = re.search(r'<nav class="menu[^"]*" aria-label="メニュー">(.*?)</nav>', html, re.DOTALL)
    return m.group(1) if m else ""


def test_a_person_with_several_roles_sees_every_area(site):
    html = signed_in(site, "multi").get("/", follow_redirects=True).get_data(as_text=True)
    groups = re.findall(r'class="menu-group-label"[^>]*>([^<]+)<', menu_html(html))
    # The author's item statistics are under 審査・認定, the secretariat's register under 合格者.
    assert groups == ["受検", "試験監督", "審査・認定", "合格者", "所属", "問題", "職員・所属", "ボランティア"]


def test_the_current_place_is_marked(site):
    client = signed_in(site, "chair")
    page = client.get("/committee/register/special").get_data(as_text=True)
    marked = re.findall(r'href="([^"]+)" aria-current="page"', menu_html(page))
    assert marked == ["/committee/register/special"]
    # A page inside an area marks the area's link as the current place, not as the page.
    sid = re.search(r'href="/committee/sessions/(\d+)"',
                    client.get("/committee/sessions/").get_data(as_text=True)).group(1)
    detail = menu_html(client.get(f"/committee/sessions/{sid}").get_data(as_text=True))
    assert re.findall(r'href="([^"]+)" aria-current="(\w+)"', detail) == [("/committee/sessions/", "true")]


def test_the_title_leads_home_and_the_exam_shows_no_menu(candidate):
    home = candidate.get("/exam/").get_data(as_text=True)
    assert re.search(r'<a class="brand" href="/">', home)
    assert 'aria-current="page">受検できる検定<' in menu_html(home)
    state = candidate.start("beginner")
    sitting = candidate.get(f"/exam/attempts/{state['attempt']}").get_data(as_text=True)
    assert 'class="brand"' in sitting and not menu_html(sitting)


def test_signed_out_pages_have_no_menu(client):
    assert not menu_html(client.get("/login").get_data(as_text=True))


def test_the_favicon_is_served(client):
    for url in ("/favicon.ico", "/static/favicon.ico"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert resp.data[:4] == b"\0\0\1\0"           # an ICO file's header
        resp.close()
    assert 'rel="icon" href="/static/favicon.ico"' in client.get("/login").get_data(as_text=True)


def test_a_menu_link_to_a_page_without_a_role_check_stops_the_app(app, monkeypatch):
    monkeypatch.setattr(nav, "MENU", nav.MENU + (nav.Group("x", (nav.Link("健康", "healthz"),)),))
    with pytest.raises(LookupError, match="healthz"):
        nav.check(app)
