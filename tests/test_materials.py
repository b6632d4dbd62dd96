"""Awareness materials (circular 2(3)): a group drafts, its division in charge reviews,
only the approved revision is used or published, and the history is kept."""
from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app.extensions import db
from app.materials import quizsource
from app.models import AuditEvent, Material, MaterialEvent, Member, User, UserRole
from scoring.materials import changes
from tests.conftest import Client

QUESTION = {"stem": "偽の警告画面に表示された番号に電話してよいですか。", "choice1": "電話してよい",
            "choice2": "電話しない", "choice3": "", "choice4": "", "answer": "1",
            "explanation": "偽の警告です。電話せずにブラウザを閉じます。",
            "source": "IPA 情報セキュリティ安心相談窓口"}


def signed_in(app, username: str) -> Client:
    c = Client(app)
    assert c.login(username).status_code == 302
    return c


def new_material(c: Client, kind="quiz", **fields) -> int:
    data = {"kind": kind, "title": "サポート詐欺クイズ", "audience": "高齢者", "body": "", "credits": "", **fields}
    resp = c.post_form("/materials/new", data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return int(re.search(r"/materials/(\d+)", resp.location).group(1))


def add_question(c: Client, mid: int, **changes) -> str:
    resp = c.post_form(f"/materials/{mid}/questions/new", {**QUESTION, **changes})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return resp.location.rsplit("#q-", 1)[1]


def material(app, mid: int) -> Material:
    with app.app_context():
        m = db.session.get(Material, mid)
        db.session.expunge(m)
        return m


def questions(app, mid: int) -> list[tuple[str, str]]:
    with app.app_context():
        return [(q.key, q.stem) for q in db.session.get(Material, mid).questions]


def history(app, mid: int) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [(e.action, e.question_key) for e in db.session.scalars(
            select(MaterialEvent).where(MaterialEvent.material_id == mid).order_by(MaterialEvent.id))]


def review(c: Client, mid: int, **data):
    page = c.get(f"/materials/{mid}/review")
    assert page.status_code == 200
    number = re.search(r'name="revision" type="hidden" value="(\d+)"', page.get_data(as_text=True)).group(1)
    return c.post_form(f"/materials/{mid}/review", {"revision": number, **data})


def test_the_whole_review_cycle(app):
    member = signed_in(app, "volunteer2")              # a member who may take part, not the leader
    mid = new_material(member)
    first = add_question(member, mid, stem="一問目")
    second = add_question(member, mid, stem="二問目")
    third = add_question(member, mid, stem="三問目")
    assert member.post_form(f"/materials/{mid}/questions/{third}/move", {"step": "-1"}).status_code == 302
    assert member.post_form(f"/materials/{mid}/questions/{second}/delete").status_code == 302
    assert questions(app, mid) == [(first, "一問目"), (third, "三問目")]

    assert member.post_form(f"/materials/{mid}/submit").status_code == 302
    assert material(app, mid).state == "submitted"
    # Under review nothing changes.
    member.post_form(f"/materials/{mid}/questions/{first}", {**QUESTION, "stem": "書き換え"})
    assert questions(app, mid)[0] == (first, "一問目")

    liaison = signed_in(app, "liaison1")
    resp = review(liaison, mid, **{f"comment_{first}": "出典のURLを書いてください。",
                                   "overall": "全体に分かりやすいです。", "send_back": "差し戻す"})
    assert resp.status_code == 302
    assert material(app, mid).state == "draft"
    page = member.get(f"/materials/{mid}").get_data(as_text=True)
    assert "出典のURLを書いてください。" in page and "全体に分かりやすいです。" in page

    member.post_form(f"/materials/{mid}/questions/{first}", {**QUESTION, "stem": "一問目（直した）",
                                                            "source": "https://www.ipa.go.jp/"})
    assert member.post_form(f"/materials/{mid}/submit").status_code == 302
    # The reviewer sees what changed since the returned revision.
    page = liaison.get(f"/materials/{mid}/review").get_data(as_text=True)
    assert page.count(">変更あり</span>") == 1 and "第1版とコメント" in page
    # A form still showing the first revision approves nothing.
    liaison.post_form(f"/materials/{mid}/review", {"revision": "1", "approve": "承認する",
                                                   "accuracy": "y", "copyright": "y"})
    assert material(app, mid).state == "submitted"
    # Approval needs both checks.
    review(liaison, mid, approve="承認する", accuracy="y")
    assert material(app, mid).state == "submitted"
    review(liaison, mid, approve="承認する", accuracy="y", copyright="y")
    approved = material(app, mid)
    assert approved.state == "approved" and approved.in_force_id is not None

    # Frozen: no edit, no new question.
    member.post_form(f"/materials/{mid}/questions/{first}", {**QUESTION, "stem": "承認後の書き換え"})
    member.post_form(f"/materials/{mid}/questions/new", {**QUESTION, "stem": "追加"})
    member.post_form(f"/materials/{mid}/edit", {"title": "別の題名", "audience": ""})
    assert questions(app, mid) == [(first, "一問目（直した）"), (third, "三問目")]
    assert material(app, mid).title == "サポート詐欺クイズ"

    with app.app_context():
        shape = quizsource.quiz_questions(mid)
        assert (f"material:{mid}", "サポート詐欺クイズ") in quizsource.approved_quizzes(approved.group_id)
    assert shape[0] == {"id": first, "stem": "一問目（直した）", "choices": ["電話してよい", "電話しない"],
                        "answer": 1, "explanation": QUESTION["explanation"]}

    # A new revision is a draft; the approved one stays in use until the next approval.
    assert member.post_form(f"/materials/{mid}/revise").status_code == 302
    member.post_form(f"/materials/{mid}/questions/{first}", {**QUESTION, "stem": "第3版の問題"})
    member.post_form(f"/materials/{mid}/submit")
    with app.app_context():
        assert quizsource.quiz_questions(mid)[0]["stem"] == "一問目（直した）"
    assert material(app, mid).in_force_id == approved.in_force_id
    review(liaison, mid, approve="承認する", accuracy="y", copyright="y")
    with app.app_context():
        assert quizsource.quiz_questions(mid)[0]["stem"] == "第3版の問題"

    assert history(app, mid) == [
        ("created", None), ("submitted", None), ("comment", None), ("comment", first), ("returned", None),
        ("submitted", None), ("approved", None), ("revision_started", None), ("submitted", None),
        ("approved", None)]
    page = member.get(f"/materials/{mid}").get_data(as_text=True)
    assert "第1版" in page and "差戻し" in page and "第3版" in page
    # Every revision's content is kept as it was reviewed.
    first_version = member.get(f"/materials/{mid}/revisions/1").get_data(as_text=True)
    assert "一問目" in first_version and "一問目（直した）" not in first_version


def test_only_approved_quizzes_are_offered(app):
    member = signed_in(app, "volunteer1")
    mid = new_material(member, title="下書きのクイズ")
    add_question(member, mid)
    with app.app_context():
        group_id = db.session.get(Material, mid).group_id
        refs = [ref for ref, _ in quizsource.approved_quizzes(group_id)]
        assert f"material:{mid}" not in refs
        with pytest.raises(LookupError):
            quizsource.quiz_questions(mid)
    member.post_form(f"/materials/{mid}/submit")
    with app.app_context(), pytest.raises(LookupError):
        quizsource.quiz_questions(mid)
    # The demo's approved handout is no quiz, its approved quiz is; a withdrawn quiz is not.
    with app.app_context():
        demo = {m.kind: m.id for m in db.session.scalars(select(Material).where(Material.in_force_id.is_not(None)))}
        with pytest.raises(LookupError):
            quizsource.quiz_questions(demo["handout"])
        assert [r for r, _ in quizsource.approved_quizzes(group_id)] == [f"material:{demo['quiz']}"]
    liaison = signed_in(app, "liaison1")
    assert liaison.post_form(f"/materials/{demo['quiz']}/withdraw", {"reason": "相談先の番号を確認中"}).status_code == 302
    with app.app_context():
        assert quizsource.approved_quizzes(group_id) == []
        with pytest.raises(LookupError):
            quizsource.quiz_questions(demo["quiz"])
        assert quizsource.approved_quizzes(9999) == []


def test_a_handout_is_public_only_approved_and_published(app):
    anonymous = Client(app)
    leader, member = signed_in(app, "volunteer1"), signed_in(app, "volunteer2")
    mid = new_material(member, kind="handout", title="家族で話そう", body="## 見出し\n\n本文です。",
                       credits="なし")
    assert anonymous.get(f"/materials/public/{mid}").status_code == 404
    member.post_form(f"/materials/{mid}/submit")
    review(signed_in(app, "liaison1"), mid, approve="承認する", accuracy="y", copyright="y")
    assert anonymous.get(f"/materials/public/{mid}").status_code == 404     # approved, not published
    assert member.post_form(f"/materials/{mid}/publish", {"on": "1"}).status_code == 403   # the leader decides
    assert leader.post_form(f"/materials/{mid}/publish", {"on": "1"}).status_code == 302
    page = anonymous.get(f"/materials/public/{mid}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h3>見出し</h3>" in html and "サイバー対策課" in html
    # A new revision in draft does not change what the public sees.
    leader.post_form(f"/materials/{mid}/revise")
    leader.post_form(f"/materials/{mid}/edit", {"title": "未審査の題名", "body": "未審査の本文", "credits": "なし"})
    html = anonymous.get(f"/materials/public/{mid}").get_data(as_text=True)
    assert "本文です。" in html and "未審査" not in html
    # Withdrawal: the leader or the liaison, not any member; it needs a reason; then nothing is public.
    assert member.post_form(f"/materials/{mid}/withdraw", {"reason": "古い"}).status_code == 403
    leader.post_form(f"/materials/{mid}/withdraw", {"reason": ""})
    assert anonymous.get(f"/materials/public/{mid}").status_code == 200
    leader.post_form(f"/materials/{mid}/withdraw", {"reason": "統計が古くなったため"})
    assert anonymous.get(f"/materials/public/{mid}").status_code == 404
    assert "統計が古くなったため" in leader.get(f"/materials/{mid}").get_data(as_text=True)


def link_volunteer(app, username: str, member_name: str) -> None:
    """An account for a member of another group (the demo's high-school group has none)."""
    with app.app_context():
        user = User(username=username, display_name=username)
        user.set_password("cbt-demo-2025")
        user.roles.append(UserRole(role="volunteer"))
        db.session.add(user)
        db.session.flush()
        db.session.scalar(select(Member).where(Member.name == member_name)).user_id = user.id
        db.session.commit()


def refusal_logged(app, user: str, path: str) -> bool:
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == user))
        return any(json.loads(e.detail_json).get("path") == path for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "forbidden", AuditEvent.user_id == uid)))


MEMBER_ROUTES = [("GET", "/materials/{m}/edit"), ("POST", "/materials/{m}/edit"),
                 ("GET", "/materials/{m}/questions/new"), ("GET", "/materials/{m}/questions/q1"),
                 ("POST", "/materials/{m}/questions/q1"), ("POST", "/materials/{m}/questions/q1/move"),
                 ("POST", "/materials/{m}/questions/q1/delete"), ("POST", "/materials/{m}/submit"),
                 ("POST", "/materials/{m}/revise"), ("POST", "/materials/{m}/publish")]
READ_ROUTES = [("GET", "/materials/{m}"), ("GET", "/materials/{m}/revisions/1")]
LIAISON_ROUTES = [("GET", "/materials/{m}/review"), ("POST", "/materials/{m}/review")]
WITHDRAW = [("POST", "/materials/{m}/withdraw")]


def test_other_groups_and_divisions_are_refused_and_logged(app):
    link_volunteer(app, "volunteer3", "緑川　さくら")     # the high school's, with consent
    link_volunteer(app, "volunteer4", "青木　蓮")         # the high school's, no consent yet
    with app.app_context():
        # candidate1's staff record is at 中央警察署, in charge of the high school only.
        officer = db.session.scalar(select(User).where(User.username == "candidate1"))
        officer.roles.append(UserRole(role="liaison"))
        db.session.commit()
    member = signed_in(app, "volunteer2")
    mid = new_material(member)
    add_question(member, mid)
    member.post_form(f"/materials/{mid}/submit")
    cases = {"volunteer3": MEMBER_ROUTES + READ_ROUTES + WITHDRAW,
             "candidate1": READ_ROUTES + LIAISON_ROUTES + WITHDRAW,
             "volunteer2": LIAISON_ROUTES}
    problems = []
    for username, routes in cases.items():
        c = signed_in(app, username)
        for method, path in routes:
            url = path.format(m=mid)
            resp = c.get(url) if method == "GET" else c.post_form(url, {"on": "1", "step": "1"})
            if resp.status_code != 403 or not refusal_logged(app, username, url):
                problems.append(f"{username} {method} {url}: {resp.status_code}")
    assert not problems, problems
    assert f"/materials/{mid}" not in signed_in(app, "volunteer3").get("/materials/").get_data(as_text=True)
    # A member without a guardian's consent neither drafts nor reads.
    minor = signed_in(app, "volunteer4")
    assert "保護者の同意" in minor.get("/materials/").get_data(as_text=True)
    assert minor.get("/materials/new").status_code == 403
    assert minor.get(f"/materials/{mid}").status_code == 403
    # The committee and the secretariat read every group's materials, and change nothing.
    for username in ("committee1", "secretariat1"):
        reader = signed_in(app, username)
        assert reader.get(f"/materials/{mid}").status_code == 200
        assert f"/materials/{mid}" in reader.get("/materials/").get_data(as_text=True)
        assert reader.post_form(f"/materials/{mid}/submit").status_code == 403
        assert reader.get(f"/materials/{mid}/review").status_code == 403
    assert material(app, mid).state == "submitted"


def test_hostile_and_overlong_input(app):
    member = signed_in(app, "volunteer1")
    mid = new_material(member)
    key = add_question(member, mid, stem="<script>alert(1)</script> [x](javascript:alert(2))",
                       choice1="<img src=x onerror=alert(3)>")
    html = member.get(f"/materials/{mid}").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert 'href="javascript' not in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(3)&gt;" in html

    long_title = "長" * 101
    resp = member.post_form(f"/materials/{mid}/edit", {"title": long_title, "audience": ""})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "題名は100文字以内で入力してください。" in page and long_title in page
    resp = member.post_form(f"/materials/{mid}/questions/{key}", {**QUESTION, "stem": "問" * 2001})
    assert "問題文は2000文字以内で入力してください。" in resp.get_data(as_text=True)
    resp = member.post_form(f"/materials/{mid}/questions/new", {**QUESTION, "stem": "a\x00b"})
    assert resp.status_code == 200 and "問題文" in resp.get_data(as_text=True)
    # A gap between choices, an answer that is no choice, two equal choices.
    for changes, message in (({"choice2": "", "choice3": "三"}, "間を空けずに"),
                             ({"answer": "3"}, "正解を、入力した選択肢の中から"),
                             ({"choice2": "電話してよい"}, "同じ内容の選択肢")):
        resp = member.post_form(f"/materials/{mid}/questions/new", {**QUESTION, **changes})
        assert resp.status_code == 200 and message in resp.get_data(as_text=True), changes
    assert [k for k, _ in questions(app, mid)] == [key]
    # An empty quiz, or a handout without its credits, is not sent to review.
    empty = new_material(member, title="空のクイズ")
    member.post_form(f"/materials/{empty}/submit")
    assert material(app, empty).state == "draft"
    handout = new_material(member, kind="handout", title="資料", body="本文", credits="")
    resp = member.post_form(f"/materials/{handout}/submit", follow_redirects=True)
    assert "出典・クレジットを入力してください" in resp.get_data(as_text=True)
    assert material(app, handout).state == "draft"


def test_changes_since_the_previous_revision():
    q1 = {"id": "q1", "stem": "a", "choices": ["x", "y"], "answer": 0, "explanation": "e", "source": "s"}
    before = {"title": "t", "audience": "", "body": "", "credits": "", "questions": [q1]}
    after = {**before, "questions": [{**q1, "answer": 1}, {**q1, "id": "q2"}]}
    assert changes(None, after) == {"questions": {}, "text": False}
    assert changes(before, after) == {"questions": {"q1": "changed", "q2": "new"}, "text": False}
    assert changes(before, {**before, "title": "u"}) == {"questions": {}, "text": True}


def test_the_history_is_kept_in_the_database(app):
    """What was reviewed stays as it was: events are never changed or deleted, a revision's
    content never changes and a decided revision not at all (triggers of migration 0012)."""
    with app.app_context():
        approved = db.session.scalar(select(Material).where(Material.kind == "quiz")).in_force
        for statement in ("UPDATE volunteer_material_events SET text = 'x'",
                          "DELETE FROM volunteer_material_events",
                          f"UPDATE volunteer_material_revisions SET digest = 'x' WHERE id = {approved.id}",
                          f"UPDATE volunteer_material_revisions SET decision = 'returned' WHERE id = {approved.id}",
                          f"DELETE FROM volunteer_material_revisions WHERE id = {approved.id}"):
            with pytest.raises(sa.exc.DatabaseError, match="kept as recorded"):
                db.session.execute(sa.text(statement))
            db.session.rollback()
