"""What each level requires (別表第1): kept in the blueprint (an optional `description`
per level, validated like the other keys) and read by candidates (home, practice), heads
(the sessions they encourage their staff to sit) and the vice-chair (session settings)."""
from __future__ import annotations

import html
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import select

from scoring.blueprint import Blueprint, parse_blueprint

from app.extensions import db
from app.models import ExamSession, utcnow
from tests.conftest import BANKS
from tests.registertools import signed_in

# 別表第1, in the regulation's words (one item of each level).
BEGINNER_3 = "サイバー空間における犯罪に関する通報又は相談を受けた際に、その内容を理解し、適切に事件主管課に報告できる程度の知識及び技能"
INTERMEDIATE_3 = "ネットワーク利用犯罪に的確に対処できる程度の知識及び技能"
ADVANCED_2 = ("サイバー対処に関する高度に専門的な知識及び技能であって、他の警察職員に対し、"
              "サイバー対処に関する技術的助言を行うために必要なもの")

AREAS = """areas:
  incidents:
    name: 事案
    topics:
      law_procedure: {name: 法令, from: beginner}
"""


def parse(levels: str):
    return parse_blueprint("levels:\n" + levels + AREAS, "blueprint.yaml")


def text_of(page: str) -> str:
    return html.unescape(page)


def test_the_bundled_blueprint_holds_table_1_in_its_words():
    bp, problems = parse_blueprint((BANKS / "blueprint.yaml").read_text(encoding="utf-8"), "blueprint.yaml")
    assert problems == []
    assert [len(lv.description) for lv in bp.levels.values()] == [3, 3, 3]
    assert bp.levels["beginner"].description[2] == BEGINNER_3
    assert bp.levels["intermediate"].description[2] == INTERMEDIATE_3
    assert bp.levels["advanced"].description[1] == ADVANCED_2


def test_a_description_is_a_list_or_one_text_and_optional():
    bp, problems = parse("  beginner:\n    description: [一つ目, ' 二つ目 ']\n")
    assert problems == [] and bp.levels["beginner"].description == ("一つ目", "二つ目")
    bp, problems = parse("  beginner:\n    description: 基本的な知識\n")
    assert problems == [] and bp.levels["beginner"].description == ("基本的な知識",)
    bp, problems = parse("  beginner: {questions: 10}\n")       # older blueprints stay valid
    assert problems == [] and bp.levels["beginner"].description == ()


@pytest.mark.parametrize("value", ["[]", "''", "[知識, '']", "{a: b}", "[1, 2]", "42", "[[入れ子]]"])
def test_a_malformed_description_is_reported_at_its_line(value):
    bp, problems = parse(f"  beginner:\n    questions: 10\n    description: {value}\n")
    assert bp is None
    assert [(p.line, "'description' must be a text or a list" in p.message) for p in problems] == [(4, True)]


def test_descriptions_survive_the_stored_version_and_old_versions_have_none():
    bp, _ = parse("  beginner:\n    description: [知識]\n")
    assert Blueprint.from_dict(bp.to_dict()).levels["beginner"].description == ("知識",)
    old = bp.to_dict()
    del old["levels"]["beginner"]["description"]
    assert Blueprint.from_dict(old).levels["beginner"].description == ()
    # No description, no key: the version hash of a blueprint without one is unchanged.
    plain, _ = parse("  beginner: {questions: 10}\n")
    assert "description" not in plain.to_dict()["levels"]["beginner"]


def add_session(app, title: str, level: str, days_ahead: int = 20) -> int:
    with app.app_context():
        template = db.session.scalar(select(ExamSession).where(ExamSession.level == level))
        now = utcnow()
        s = ExamSession(title=title, level=level, fiscal_year=template.fiscal_year,
                        opens_at=now + timedelta(days=days_ahead), closes_at=now + timedelta(days=days_ahead + 1),
                        duration_minutes=60, question_count=10, bank_version_id=template.bank_version_id)
        db.session.add(s)
        db.session.commit()
        return s.id


def test_candidates_read_the_levels_on_their_home_and_in_practice(app):
    c = signed_in(app, "candidate1")
    home = text_of(c.get("/exam/").get_data(as_text=True))
    section = home.split('id="level-requirements"')[1].split("</section>")[0]
    assert "初級" in section and BEGINNER_3 in section and INTERMEDIATE_3 in section and ADVANCED_2 in section
    practice = text_of(c.get("/exam/practice/").get_data(as_text=True))
    beginner_card = practice.split("<h2>初級</h2>")[1].split("</section>")[0]
    assert BEGINNER_3 in beginner_card and INTERMEDIATE_3 not in beginner_card


def test_heads_read_the_level_of_each_session_ahead(app):
    add_session(app, "来月の中級", "intermediate")
    page = text_of(signed_in(app, "head1").get("/head/").get_data(as_text=True))
    upcoming = page.split('id="upcoming"')[1]
    block = upcoming.split("<h3>来月の中級</h3>")[1].split("<h3>")[0]
    assert INTERMEDIATE_3 in block and BEGINNER_3 not in block


def test_the_session_settings_show_every_level_and_a_session_its_own(app):
    vc = signed_in(app, "vicechair")
    form = text_of(vc.get("/committee/sessions/new").get_data(as_text=True))
    box = form.split('id="level-requirements"')[1].split("</div>")[0]
    assert BEGINNER_3 in box and INTERMEDIATE_3 in box and ADVANCED_2 in box
    sid = add_session(app, "来月の初級", "beginner")
    detail = text_of(vc.get(f"/committee/sessions/{sid}").get_data(as_text=True))
    assert BEGINNER_3 in detail and INTERMEDIATE_3 not in detail


def test_the_committee_changes_a_description_in_the_blueprint_alone(app, tmp_path):
    folder = tmp_path / "banks"
    shutil.copytree(BANKS, folder)
    blueprint = folder / "blueprint.yaml"
    changed = "サイバー事案の通報を受けて事件主管課へ報告できる程度の知識及び技能（改定）"
    blueprint.write_text(blueprint.read_text(encoding="utf-8").replace(BEGINNER_3, changed), encoding="utf-8")
    app.config["BANKS_DIR"] = str(folder)
    author = signed_in(app, "author1")
    author.get("/author/versions")
    assert author.post_form("/author/versions/load").status_code == 302
    home = text_of(signed_in(app, "candidate1").get("/exam/").get_data(as_text=True))
    section = home.split('id="level-requirements"')[1].split("</section>")[0]
    assert changed in section and BEGINNER_3 not in section
    # A session keeps the words of the bank version it draws from.
    sid = add_session(app, "来月の初級", "beginner")
    detail = text_of(signed_in(app, "vicechair").get(f"/committee/sessions/{sid}").get_data(as_text=True))
    assert BEGINNER_3 in detail and changed not in detail
