"""The site menu: every area a signed-in person's roles open, from one table.

Who sees a link is not written here: it is read from the `role_required` decorator of the
page it leads to, so the menu can never offer a page that answers 403, nor hide one that
the person may open. The app refuses to start if a link leads to a page without one."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, request, url_for
from flask_login import current_user


@dataclass(frozen=True)
class Link:
    label: str
    endpoint: str
    args: tuple[tuple[str, str], ...] = ()
    # The area's other pages: there the link is marked as the current place too.
    within: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    label: str
    links: tuple[Link, ...]


MENU: tuple[Group, ...] = (
    Group("受検", (
        Link("受検できる検定", "candidate.home", within=("candidate.done",)),
        Link("練習モード", "candidate.practice_home", within=("candidate.practice_question",)),
    )),
    Group("試験監督", (
        Link("監督する検定", "room.index", within=("room.room",)),
    )),
    Group("実施", (
        Link("検定の実施回", "sessions.index",
             within=("sessions.new", "sessions.detail", "sessions.edit", "sessions.candidates",
                     "sessions.room_setup", "sessions.accommodation")),
        Link("受検の許可", "sessions.admissions"),
    )),
    Group("審査・認定", (
        Link("答案の確認と認定", "review.index",
             within=("review.session_page", "review.sheet", "review.corrections", "review.written")),
        Link("項目分析", "committee.stats"),
    )),
    Group("合格者", (
        Link("合格者名簿", "register.index"),
        Link("合格者通知", "register.notices", within=("register.notice_print",)),
        Link("特例合格・経過措置", "register.special"),
        Link("定期講習", "register.training"),
    )),
    Group("所属", (
        Link("所属職員の検定状況", "head.index", within=("head.staff_detail",)),
    )),
    Group("問題", (
        Link("問題プレビュー", "author.preview", within=("author.question_history",)),
        Link("見本の問題用紙", "author.sample"),
        Link("問題バージョン", "author.versions"),
    )),
    Group("職員・所属", (
        Link("庶務", "admin.home"),
        Link("職員", "admin.staff_list", within=("admin.staff_new", "admin.staff_edit")),
        Link("所属", "admin.affiliations", within=("admin.affiliation_new", "admin.affiliation_edit")),
        Link("アカウントと役割", "admin.users", within=("admin.user_edit",)),
        Link("任命の記録", "admin.appointments"),
        Link("CSVの一括登録", "admin.import_upload", args=(("kind", "staff"),)),
        Link("監査記録", "admin.audit_log"),
    )),
    Group("ボランティア", (
        Link("ボランティアのホーム", "volunteers.home"),
        Link("ボランティア団体", "volunteers.groups",
             within=("volunteers.group", "volunteers.group_new", "volunteers.group_edit",
                     "volunteers.member", "volunteers.member_new", "volunteers.member_edit")),
        Link("活動の記録", "volunteers.activity_index",
             within=("volunteers.activity_list", "volunteers.activity_new", "volunteers.activity_edit")),
        Link("好事例", "volunteers.good_practices"),
        Link("要望と回答", "volunteers.request_index", within=("volunteers.request_detail",)),
        Link("賞揚の記録", "volunteers.commendation_index"),
        Link("氏名の公表", "volunteers.publication_consent"),
        Link("研修", "training.index",
             within=("training.course", "training.attempt", "training.answer")),
        Link("研修の受講状況", "training.progress"),
        Link("啓発クイズ", "awareness.index",
             within=("awareness.new", "awareness.detail", "awareness.handout")),
        Link("広報啓発資料", "materials.index",
             within=("materials.new", "materials.detail", "materials.edit", "materials.question_new",
                     "materials.question_edit", "materials.review", "materials.revision")),
        Link("証明書", "certificates.index",
             within=("certificates.detail", "certificates.print_page")),
    )),
)

# While a candidate sits, the page shows no menu: the question comes first on a phone,
# and nothing offers a way out of the exam but its own buttons.
# The awareness quiz's projector screen shows the room the quiz and nothing else.
NO_MENU = frozenset({"candidate.sit", "candidate.confirm", "awareness.projector"})


def roles_of(app: Flask, endpoint: str) -> frozenset[str]:
    """The roles the page's `role_required` lets in."""
    roles = getattr(app.view_functions[endpoint], "allowed_roles", None)
    if not roles:
        raise LookupError(f"menu link to {endpoint}, a page with no role_required")
    return roles


def check(app: Flask) -> None:
    for group in MENU:
        for link in group.links:
            for endpoint in (link.endpoint, *link.within):
                if endpoint not in app.view_functions:
                    raise LookupError(f"menu names {endpoint}, which is no page")
            roles_of(app, link.endpoint)


def _current(link: Link) -> str | None:
    """aria-current: "page" on the link's own page, "true" on the other pages of its area."""
    endpoint = request.endpoint
    if endpoint == link.endpoint:
        args = {k: str(v) for k, v in (request.view_args or {}).items()}
        return "page" if dict(link.args) == args else "true"
    return "true" if endpoint in link.within else None


def menu() -> list[dict]:
    """The groups of links the signed-in person may open, in the table's order; each link
    with its address and its aria-current value."""
    if not current_user.is_authenticated or request.endpoint in NO_MENU:
        return []
    app = current_app
    shown = []
    for group in MENU:
        links = [{"label": link.label, "url": url_for(link.endpoint, **dict(link.args)),
                  "current": _current(link)}
                 for link in group.links if current_user.has_role(*roles_of(app, link.endpoint))]
        if links:
            shown.append({"label": group.label, "links": links})
    return shown


def register(app: Flask) -> None:
    """After every blueprint: the table is checked once, then offered to the templates."""
    check(app)
    app.context_processor(lambda: {"site_menu": menu})
