"""Volunteers' training (circular 3(2)): the courses file and the training bank, modules
passed or failed at the mark, retakes, completion recorded once, who may train and who
sees the members' progress."""
from __future__ import annotations

import json
import random
import re
import shutil
from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from app.cli import main
from app.extensions import db
from app.models import (
    AuditEvent,
    CourseCompletion,
    Member,
    TrainingAnswer,
    TrainingAttempt,
    User,
    UserRole,
)
from app.training.catalogue import default_training_folder
from app.training.ops import shown_order
from scoring.bank import load_banks
from scoring.courses import AttemptResult, Module, course_status, draw, load_courses
from tests.conftest import Client

FOLDER = default_training_folder()
TOPICS = ("phishing", "support_scam", "account_takeover", "illegal_harmful")


# ---------------------------------------------------------------- the files

def test_the_training_bank_and_courses_validate():
    result = CliRunner().invoke(main, ["bank", "validate", "--banks", str(FOLDER)])
    assert result.exit_code == 0, result.output
    assert "0 problems" in result.output
    bank = load_banks(FOLDER)
    courses = load_courses(str(FOLDER), bank)
    assert bank.ok and courses.ok, [str(p) for p in bank.problems + courses.problems]
    basic = courses.courses["basic"]
    assert basic.title == "サイバー防犯ボランティア基礎講座" and basic.minutes == 120
    assert [m.key for m in basic.modules] == list(TOPICS)
    for topic in TOPICS:
        qs = [q for q in bank.questions.values() if q.topic == topic]
        assert len(qs) >= 10, topic
        assert all(q.explanation.strip() and q.reference for q in qs)
    assert len(bank.questions) >= 40


def test_a_broken_courses_file_names_file_and_line(tmp_path):
    folder = tmp_path / "training"
    shutil.copytree(FOLDER, folder)
    (folder / "courses.yaml").write_text(
        "courses:\n"                                    # 1
        "  - key: basic\n"                              # 2
        "    title: 基礎\n"                              # 3
        "    minutes: 0\n"                              # 4
        "    modules:\n"                                # 5
        "      - key: one\n"                            # 6
        "        title: 一\n"                            # 7
        "        topics: [phishing, nosuch]\n"          # 8
        "        questions: 8\n"                        # 9
        "        pass_percent: 75\n"                    # 10
        "      - key: two\n"                            # 11
        "        title: 二\n"                            # 12
        "        topics: [support_scam]\n"              # 13
        "        questions: 50\n"                       # 14
        "        pass_count: 60\n"                      # 15
        "        colour: red\n",                        # 16
        encoding="utf-8")
    loaded = load_courses(str(folder), load_banks(folder))
    lines = {str(p) for p in loaded.problems}
    path = str(folder / "courses.yaml")
    assert not loaded.ok and not loaded.courses
    assert any(line.startswith(f"{path}:4: ") and "minutes" in line for line in lines), lines
    assert any(line.startswith(f"{path}:8: ") and "nosuch" in line for line in lines), lines
    assert any(line.startswith(f"{path}:14: ") and "has 11 approved" in line for line in lines), lines
    assert any(line.startswith(f"{path}:15: ") and "pass_count" in line for line in lines), lines
    assert any(line.startswith(f"{path}:16: ") and "colour" in line for line in lines), lines
    # `cbt bank validate` checks the courses file beside the bank, and fails on it.
    result = CliRunner().invoke(main, ["bank", "validate", "--banks", str(folder)])
    assert result.exit_code == 1 and "courses.yaml:8: " in result.output, result.output
    (folder / "courses.yaml").write_text("courses:\n\t- key: basic\n", encoding="utf-8")
    broken = load_courses(str(folder), load_banks(folder))
    assert [p.line for p in broken.problems] == [2] and "YAML" in broken.problems[0].message


def test_the_pass_mark_is_exact_at_the_boundary():
    percent = Module("m", "m", ("phishing",), 8, pass_percent=75)
    assert percent.needed() == 6 and percent.passes(6, 8) and not percent.passes(5, 8)
    # 75% of 7 is 5.25: six are needed, never five by rounding down.
    assert percent.needed(7) == 6
    count = Module("m", "m", ("phishing",), 10, pass_count=7)
    assert count.passes(7, 10) and not count.passes(6, 10)


def test_draws_are_distinct_and_a_retake_avoids_the_last_form():
    bank = load_banks(FOLDER)
    module = load_courses(str(FOLDER), bank).courses["basic"].module("phishing")
    rng = random.Random(7)
    first = draw(module, bank.questions.values(), rng)
    assert len(first) == len(set(first)) == 8
    assert all(bank.questions[q].topic == "phishing" for q in first)
    second = draw(module, bank.questions.values(), rng, frozenset(first))
    # 11 questions for 8: the three left out come first, the rest from the last form.
    assert len(set(second)) == 8 and set(second) != set(first)
    assert {q for q in bank.questions if bank.questions[q].topic == "phishing"} - set(first) <= set(second)


def test_course_status_takes_each_modules_best_passing_attempt():
    course = load_courses(str(FOLDER), load_banks(FOLDER)).courses["basic"]
    tries = [AttemptResult("phishing", 5, 8, False), AttemptResult("phishing", 6, 8, True),
             AttemptResult("phishing", 8, 8, True), AttemptResult("support_scam", 7, 8, True),
             AttemptResult("account_takeover", 6, 8, True), AttemptResult("nosuch", 8, 8, True)]
    partial = course_status(course, tries)
    assert not partial.complete and set(partial.passed) == {"phishing", "support_scam", "account_takeover"}
    done = course_status(course, tries + [AttemptResult("illegal_harmful", 6, 8, True)])
    assert done.complete and (done.score, done.total) == (8 + 7 + 6 + 6, 32)


def test_a_bank_with_a_problem_is_not_served(app, tmp_path):
    folder = tmp_path / "training"
    shutil.copytree(FOLDER, folder)
    (folder / "courses.yaml").write_text("courses: []\n", encoding="utf-8")
    app.config["TRAINING_BANKS_DIR"] = str(folder)
    c = Client(app)
    c.login("volunteer1")
    page = c.get("/training/")
    assert page.status_code == 503 and "研修を利用できません" in page.get_data(as_text=True)


# ---------------------------------------------------------------- taking modules

def attempt_row(app, attempt_id: int) -> TrainingAttempt:
    with app.app_context():
        a = db.session.get(TrainingAttempt, attempt_id)
        db.session.expunge(a)
        return a


def posted_value(app, attempt: TrainingAttempt, position: int, right: bool) -> str:
    """What the page posts for the question at `position`, right or wrong, from the key."""
    from app.training.catalogue import catalogue
    with app.test_request_context():
        q = catalogue().bank.questions[attempt.question_ids[position - 1]]
    if q.type == "true_false":
        return "true" if q.answer is right else "false"
    order = shown_order(attempt, q)
    pick = q.answer if right else next(k for k in order if k != q.answer)
    return str(order.index(pick) + 1)


def take_module(app, c: Client, module: str, right: int, course: str = "basic") -> int:
    """Start the module and answer `right` questions right, the rest wrong; the attempt id."""
    page = c.get(f"/training/{course}/")
    assert page.status_code == 200, page.get_data(as_text=True)
    resp = c.post_form(f"/training/{course}/{module}/start")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    attempt_id = int(resp.location.rstrip("/").split("/")[-1])
    attempt = attempt_row(app, attempt_id)
    for position in range(1, attempt.total + 1):
        page = c.get(f"/training/attempt/{attempt_id}")
        assert f"{attempt.total}問中 {position}問目" in page.get_data(as_text=True)
        value = posted_value(app, attempt, position, position <= right)
        fed = c.post_form(f"/training/attempt/{attempt_id}/answer",
                          {"position": position, f"r{position}": value})
        text = fed.get_data(as_text=True)
        assert fed.status_code == 200 and "解説" in text and "根拠:" in text
        assert ("正解です" if position <= right else "不正解です") in text
    return attempt_id


def test_a_module_passes_at_the_mark_and_fails_below_it(app):
    c = Client(app)
    c.login("volunteer1")
    failed = take_module(app, c, "phishing", right=5)
    page = c.get(f"/training/attempt/{failed}").get_data(as_text=True)
    assert "不合格です" in page and "8問中 <strong>5問</strong>正解" in page
    passed = take_module(app, c, "phishing", right=6)
    page = c.get(f"/training/attempt/{passed}").get_data(as_text=True)
    assert "合格です" in page and "8問中 <strong>6問</strong>正解" in page
    with app.app_context():
        rows = {a.id: a for a in db.session.scalars(select(TrainingAttempt))}
        assert (rows[failed].correct, rows[failed].passed) == (5, False)
        assert (rows[passed].correct, rows[passed].passed) == (6, True)
        # A retake draws anew: with 11 questions for 8, the second form is not the first.
        assert rows[failed].question_ids != rows[passed].question_ids
        assert db.session.scalar(select(func.count(CourseCompletion.id))) == 0


def test_a_second_post_of_an_answer_counts_once(app):
    c = Client(app)
    c.login("volunteer1")
    c.get("/training/basic/")
    attempt_id = int(c.post_form("/training/basic/phishing/start").location.split("/")[-1])
    attempt = attempt_row(app, attempt_id)
    body = {"position": 1, "r1": posted_value(app, attempt, 1, True)}
    assert c.post_form(f"/training/attempt/{attempt_id}/answer", body).status_code == 200
    again = c.post_form(f"/training/attempt/{attempt_id}/answer",
                        {"position": 1, "r1": posted_value(app, attempt, 1, False)})
    assert again.status_code == 302
    # Nothing chosen: said in Japanese, nothing stored.
    empty = c.post_form(f"/training/attempt/{attempt_id}/answer", {"position": 2})
    assert empty.status_code == 422 and "解答を選んでから" in empty.get_data(as_text=True)
    # A position that is not a choice is refused.
    bad = c.post_form(f"/training/attempt/{attempt_id}/answer", {"position": 2, "r2": "9"})
    assert bad.status_code == 400
    with app.app_context():
        answers = list(db.session.scalars(select(TrainingAnswer)))
        assert [(a.position, a.correct) for a in answers] == [(1, True)]


def test_the_course_is_completed_once_with_its_minutes(app):
    c = Client(app)
    c.login("volunteer1")
    for module in TOPICS[:-1]:
        take_module(app, c, module, right=8)
    with app.app_context():
        assert db.session.scalar(select(func.count(CourseCompletion.id))) == 0
    last = take_module(app, c, TOPICS[-1], right=7)
    result = c.get(f"/training/attempt/{last}").get_data(as_text=True)
    assert "を修了しました" in result and "2時間" in result
    with app.app_context():
        done = db.session.scalars(select(CourseCompletion)).one()
        member = db.session.get(Member, done.member_id)
        assert member.user.username == "volunteer1"
        assert (done.course_key, done.minutes, done.score, done.total) == ("basic", 120, 31, 32)
        assert done.bank_hash and done.course_title == "サイバー防犯ボランティア基礎講座"
        assert db.session.scalar(select(func.count(AuditEvent.id))
                                 .where(AuditEvent.event == "training_completed")) == 1
    # Retakes after completion add nothing.
    take_module(app, c, TOPICS[-1], right=8)
    with app.app_context():
        again = db.session.scalars(select(CourseCompletion)).one()
        assert (again.id, again.score, again.minutes) == (done.id, 31, 120)
    home = c.get("/training/").get_data(as_text=True)
    assert "修了しました" in home and "2時間" in home


def test_a_liaison_tries_modules_without_a_completion(app):
    c = Client(app)
    c.login("liaison1")
    assert "試し受講" in c.get("/training/basic/").get_data(as_text=True)
    for module in TOPICS:
        take_module(app, c, module, right=8)
    with app.app_context():
        attempts = list(db.session.scalars(select(TrainingAttempt)))
        assert len(attempts) == 4 and all(a.member_id is None and a.passed for a in attempts)
        assert db.session.scalar(select(func.count(CourseCompletion.id))) == 0


# ---------------------------------------------------------------- who may

def _refusals(app) -> list[dict]:
    with app.app_context():
        return [json.loads(e.detail_json) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "training_refused"))]


def test_a_minor_without_consent_is_refused_until_consent_is_recorded(app):
    with app.app_context():
        minor = db.session.scalar(select(Member).where(Member.name == "青木　蓮"))
        assert minor.minor and minor.guardian_consent_on is None
        u = User(username="ren", display_name="青木　蓮")
        u.set_password("cbt-demo-2025")
        u.roles.append(UserRole(role="volunteer"))
        db.session.add(u)
        db.session.flush()
        minor.user_id = u.id
        db.session.commit()
        minor_id = minor.id
    c = Client(app)
    c.login("ren")
    home = c.get("/training/").get_data(as_text=True)
    assert "保護者の同意が記録されるまで" in home and "講座を開く" not in home
    for resp in (c.get("/training/basic/"), c.post_form("/training/basic/phishing/start")):
        assert resp.status_code == 403
        assert "保護者の同意" in resp.get_data(as_text=True)
    assert [r["reason"] for r in _refusals(app)] == ["no_guardian_consent"] * 2
    with app.app_context():
        assert db.session.scalar(select(func.count(TrainingAttempt.id))) == 0
        minor = db.session.get(Member, minor_id)
        minor.guardian_name, minor.guardian_consent_on = "青木　誠", date(2026, 12, 1)
        db.session.commit()
    assert c.post_form("/training/basic/phishing/start").status_code == 302


def test_only_the_owner_opens_an_attempt(app):
    c = Client(app)
    c.login("volunteer1")
    c.get("/training/basic/")
    attempt_id = int(c.post_form("/training/basic/phishing/start").location.split("/")[-1])
    other = Client(app)
    other.login("volunteer2")
    assert other.get(f"/training/attempt/{attempt_id}").status_code == 404
    assert other.post_form(f"/training/attempt/{attempt_id}/answer",
                           {"position": 1, "r1": "1"}).status_code == 404
    assert {r["reason"] for r in _refusals(app)} == {"not_own_attempt"}
    with app.app_context():
        assert db.session.scalar(select(func.count(TrainingAnswer.id))) == 0


def _names(html: str) -> set[str]:
    return {n for n in ("桜丘　未来", "港　健太", "緑川　さくら", "青木　蓮") if n in html}


@pytest.mark.parametrize("username, seen", [
    ("volunteer1", {"桜丘　未来", "港　健太"}),                 # the university group's leader
    ("volunteer2", {"港　健太"}),                              # a member: their own row only
    ("liaison1", {"桜丘　未来", "港　健太"}),                   # its division in charge
    ("secretariat1", {"桜丘　未来", "港　健太", "緑川　さくら", "青木　蓮"}),
    ("committee1", {"桜丘　未来", "港　健太", "緑川　さくら", "青木　蓮"}),
])
def test_progress_shows_the_members_a_role_may_see(app, username, seen):
    c = Client(app)
    c.login(username)
    page = c.get("/training/progress")
    assert page.status_code == 200
    assert _names(page.get_data(as_text=True)) == seen


def test_progress_shows_completions(app):
    c = Client(app)
    c.login("volunteer1")
    for module in TOPICS:
        take_module(app, c, module, right=8)
    take_module(app, c, "phishing", right=0)   # a retake after completion changes nothing
    liaison = Client(app)
    liaison.login("liaison1")
    page = liaison.get("/training/progress").get_data(as_text=True)
    row = re.search(r"桜丘　未来.*?</tr>", page, re.DOTALL).group(0)
    assert "修了" in row and "32/32問正解" in row and "2時間" in row
    other = re.search(r"港　健太.*?</tr>", page, re.DOTALL).group(0)
    assert "4単元中0単元合格" in other
    # A module passed shows by name before the course is complete.
    member = Client(app)
    member.login("volunteer2")
    take_module(app, member, "support_scam", right=6)
    page = liaison.get("/training/progress").get_data(as_text=True)
    other = re.search(r"港　健太.*?</tr>", page, re.DOTALL).group(0)
    assert "4単元中1単元合格" in other and "合格：サポート詐欺" in other


@pytest.mark.parametrize("username", ["candidate1", "head1", "proctor1", "author1"])
def test_progress_is_refused_to_others(app, username):
    c = Client(app)
    c.login(username)
    page = c.get("/training/progress")
    assert page.status_code == 403
    assert not _names(page.get_data(as_text=True))
    with app.app_context():
        refused = db.session.scalars(select(AuditEvent).where(
            AuditEvent.event == "forbidden")).all()
        assert any(json.loads(e.detail_json).get("path") == "/training/progress" for e in refused)


def test_a_candidate_cannot_train(app):
    c = Client(app)
    c.login("candidate1")
    assert c.get("/training/").status_code == 403
    assert c.post_form("/training/basic/phishing/start").status_code == 403
