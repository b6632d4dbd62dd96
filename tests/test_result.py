"""What a candidate sees after certification (第2-2): the score, the verdict and the rate per
area of Table 2; the question-by-question review where the committee chose to show it; and
the committee's sheet filtered to the wrong answers."""
from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import select, text

from scoring.blueprint import DEFAULT_BLUEPRINT_YAML, parse_blueprint
from scoring.results import AreaRate, area_rates

from app import create_app
from app.banks.versions import snapshot
from app.db import schema
from app.extensions import db
from app.models import Attempt, ExamSession, SessionDetail
from app.review.routes import wrap_label
from tests.test_certify import certify
from tests.test_review import affiliation, login, person, right_first, session_id, sit

TABLE_2 = parse_blueprint(DEFAULT_BLUEPRINT_YAML, "blueprint.yaml")[0]
AREA_TABLE = re.compile(r'<table class="grid area-rates">(.*?)</table>', re.S)


def body(resp) -> str:
    """The page's body: what a person reads (the <title> repeats the heading)."""
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True).split("<body", 1)[1]


def area_rows(html: str) -> dict[str, str]:
    """area key -> the row's text, from the rates table."""
    table = AREA_TABLE.search(html)
    assert table, "no table of rates per area"
    return {k: re.sub(r"<[^>]+>", "", row) for k, row in
            re.findall(r'<tr class="[^"]*" data-area="([a-z_]+)">(.*?)</tr>', table.group(1), re.S)}


def sat_and_certified(app, n_right=30, show_review=False):
    """candidate1 sits the demo 初級 (n_right of 40 right) and the vice-chair certifies it;
    also candidate2 sits. Returns (session id, candidate1's attempt, candidate2's attempt)."""
    sid = session_id(app)
    aff = affiliation(app, "R01", "結果警察署")
    own = sit(app, sid, person(app, "candidate1", "R0001", affiliation_id=aff, register_in=sid),
              right_first(n_right))
    other = sit(app, sid, person(app, "candidate2", "R0002", affiliation_id=aff, register_in=sid),
                right_first(20))
    with app.app_context():
        db.session.merge(SessionDetail(session_id=sid, format="cbt", show_review=show_review))
        db.session.commit()
    assert certify(login(app, "vicechair"), sid, [own, other]).status_code == 302
    return sid, own, other


# --- pure parts --------------------------------------------------------------------------

def test_area_rates_follow_the_blueprint_and_leave_out_empty_areas():
    names = [("incidents", "事案"), ("networks", "ネットワーク"), ("infosec", "セキュリティ")]
    got = area_rates({"infosec": (7, 10), "incidents": (2, 3), "networks": (0, 0), "extra": (1, 1)}, names)
    assert [a.key for a in got] == ["incidents", "infosec", "extra"]
    assert got[0] == AreaRate(2, 3, key="incidents", name="事案") and got[0].rate == 66 and not got[0].passed
    assert got[1].rate == 70 and got[1].passed                  # 7/10: exactly the 70% line
    assert got[2].name == "extra"                                 # unknown to the blueprint: its key


def test_area_labels_wrap_between_phrases_never_inside_a_word():
    for area in TABLE_2.areas.values():
        lines = wrap_label(area.name)
        assert "".join(lines) == area.name
        assert all(len(line) <= 14 for line in lines), lines
    assert wrap_label("インターネットその他の高度情報通信ネットワークに関する知識") == \
        ["インターネットその他の", "高度情報通信ネットワーク", "に関する知識"]
    assert wrap_label("サイバー事案に関する知識") == ["サイバー事案に関する知識"]
    assert wrap_label("サイバー対処に関する知識及び技能", 8) == ["サイバー対処", "に関する知識及び", "技能"]


# --- the candidate's result ---------------------------------------------------------------

def test_the_result_with_its_rates_per_area_shows_only_once_certified(app):
    sid = session_id(app)
    own = sit(app, sid, person(app, "candidate1", "R0001", register_in=sid), right_first(30))
    cand = login(app, "candidate1")
    for url in ("/exam/", f"/exam/attempts/{own}/done"):
        page = body(cand.get(url))
        assert "委員会の認定後に表示されます" in page and "area-rates" not in page and "30/40" not in page
    done = body(cand.get(f"/exam/attempts/{own}/done"))
    assert re.search(r"<h1[^>]*>解答を提出しました</h1>", done) and done.count("解答を提出しました") == 1
    assert certify(login(app, "vicechair"), sid, [own]).status_code == 302
    with app.app_context():
        by_area = json.loads(db.session.get(Attempt, own).score_json)["by_area"]
    expected = {k: f"{c}/{t}問" for k, (c, t) in by_area.items()}
    for url in ("/exam/", f"/exam/attempts/{own}/done"):
        page = body(cand.get(url))
        assert "30/40問正解（正答率75%）" in page and "初級 合格" in page
        rows = area_rows(page)
        assert list(rows) == [k for k in TABLE_2.areas if k in by_area]   # Table 2's order
        for key, (c, t) in by_area.items():
            assert expected[key] in rows[key] and f"{c * 100 // t}%" in rows[key]
            assert ("70%未満" in rows[key]) == (c * 10 < t * 7)
    done = body(cand.get(f"/exam/attempts/{own}/done"))
    assert re.search(r"<h1[^>]*>検定結果: 初級 合格</h1>", done) and "解答を提出しました" not in done
    assert "問題ごとの正誤と解説を見る" not in done               # the session does not show it


def test_a_failing_result_names_the_level_and_the_weak_areas(app):
    _sid, _own, other = sat_and_certified(app)
    page = body(login(app, "candidate2").get(f"/exam/attempts/{other}/done"))
    assert re.search(r"<h1[^>]*>検定結果: 初級 不合格</h1>", page) and "20/40問正解（正答率50%）" in page
    assert "70%未満" in page


def test_submitting_says_so_once(app, candidate):
    state = candidate.start("beginner")
    resp = candidate.post_form(f"/exam/attempts/{state['attempt']}/submit")
    assert resp.status_code == 302
    page = body(candidate.get(resp.location))
    assert page.count("解答を提出しました") == 1                  # the heading, no flash besides


def test_another_candidate_never_sees_a_result(app):
    _sid, own, other = sat_and_certified(app, show_review=True)
    intruder = login(app, "candidate2")
    for url in (f"/exam/attempts/{own}/done", f"/exam/attempts/{own}/review",
                f"/exam/attempts/{own}/review?wrong=1"):
        assert intruder.get(url).status_code == 404
    assert intruder.get(f"/exam/attempts/{other}/review").status_code == 200    # their own
    home = body(intruder.get("/exam/"))
    assert f"past-{own}" not in home and f"past-{other}" in home
    for username in ("committee1", "vicechair", "head1"):
        assert login(app, username).get(f"/exam/attempts/{own}/review").status_code == 403


# --- per-question review: the committee's choice per session -------------------------------

def test_per_question_review_only_where_the_session_shows_it_and_after_certification(app):
    sid = session_id(app)
    own = sit(app, sid, person(app, "candidate1", "R0001", register_in=sid), right_first(30))
    cand = login(app, "candidate1")
    vc = login(app, "vicechair")
    # The setting sits with the session's others; it starts off, and stays editable.
    edit = body(vc.get(f"/committee/sessions/{sid}/edit"))
    box = re.search(r'<input[^>]*id="show_review"[^>]*>', edit).group(0)
    assert "checked" not in box and "disabled" not in box
    assert "受検者へは表示しない" in body(vc.get(f"/committee/sessions/{sid}"))
    with app.app_context():
        s = db.session.get(ExamSession, sid)
        title, closes = s.title, (s.closes_at + timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M")
    resp = vc.post_form(f"/committee/sessions/{sid}/edit",
                        {"title": title, "closes_at": closes, "show_review": "y"})
    assert resp.status_code == 302
    assert "認定後に受検者へ表示する" in body(vc.get(f"/committee/sessions/{sid}"))
    assert cand.get(f"/exam/attempts/{own}/review").status_code == 404           # not certified yet
    assert certify(vc, sid, [own]).status_code == 302
    done = body(cand.get(f"/exam/attempts/{own}/done"))
    assert f'href="/exam/attempts/{own}/review"' in done
    page = body(cand.get(f"/exam/attempts/{own}/review"))
    with app.app_context():
        attempt = db.session.get(Attempt, own)
        _bp, questions = snapshot(attempt.bank_version)
        first = questions[attempt.form[0]["id"]]
        shown_first_key = attempt.form[0]["choice_order"]
    assert page.count('class="question card"') == 40 and page.count("あなたの解答") == 40
    assert page.count(">正解<") == 30 and page.count(">不正解<") == 10
    if first.explanation:
        assert "解説" in page
    # The candidate reads the labels of their own screen, not the bank's keys.
    if first.type == "single":
        label = "アイウエオ"[shown_first_key.index(first.answer)]
        key_cell = re.search(r'<dd class="key">(.*?)</dd>', page, re.S).group(1)
        assert key_cell.startswith(label + " ") and f"（{first.answer}）" not in key_cell
    wrong = body(cand.get(f"/exam/attempts/{own}/review?wrong=1"))
    assert wrong.count('class="question card"') == 10 and "誤答のみ（10問）" in wrong
    assert 'id="q-31"' in wrong and 'id="q-1"' not in wrong
    # Turned off again: the page goes, the result stays.
    with app.app_context():
        db.session.get(SessionDetail, sid).show_review = False
        db.session.commit()
    assert cand.get(f"/exam/attempts/{own}/review").status_code == 404
    assert "30/40問正解" in body(cand.get(f"/exam/attempts/{own}/done"))


# --- the committee's sheet: 誤答のみ -------------------------------------------------------

def test_the_sheet_detail_filters_to_the_wrong_answers_with_a_count(app):
    sid = session_id(app)
    aid = sit(app, sid, person(app, "candidate1", "R0001", register_in=sid),
              lambda pos, q: "right" if pos <= 25 else (None if pos > 37 else "wrong"))
    c = login(app, "committee1")
    full = body(c.get(f"/committee/review/sessions/{sid}/sheets/{aid}"))
    assert full.count('class="question card"') == 40
    assert "すべての問題（40問）" in full and "誤答のみ（15問）" in full           # 12 wrong, 3 blank
    page = body(c.get(f"/committee/review/sessions/{sid}/sheets/{aid}?wrong=1"))
    assert page.count('class="question card"') == 15 and ">正解<" not in page
    assert re.search(r'<a href="[^"]*wrong=1" aria-current="page">誤答のみ（15問）</a>', page)
    assert "不正解・未解答の15問を表示しています" in page and page.count("（未解答）") >= 3
    assert list(area_rows(page))                                  # the rates per area stay


# --- the migration -----------------------------------------------------------------------

def test_0008_adds_the_review_setting_off_for_existing_sessions(fresh_db_url, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": fresh_db_url, "SECRET_KEY": "t"},
                     instance_path=str(tmp_path / "instance"))
    at = "'2025-04-01 00:00:00'"
    with app.app_context():
        schema.upgrade("0007")
        for sql in (
                "INSERT INTO users (id, username, password_hash, display_name, active, created_at) "
                f"VALUES (7, 'vc', 'x', '副委員長', true, {at})",
                "INSERT INTO bank_versions (id, digest, created_at, source, question_count, payload) "
                f"VALUES (1, 'd', {at}, 's', 1, '{{}}')",
                "INSERT INTO exam_sessions (id, title, level, fiscal_year, opens_at, closes_at, "
                "duration_minutes, question_count, bank_version_id, created_at) VALUES (1, '初級', "
                f"'beginner', 2025, '2025-05-01 00:00:00', '2025-05-02 00:00:00', 60, 1, 1, {at})",
                "INSERT INTO session_details (session_id, format, written_max, start_mode, control_seq) "
                "VALUES (1, 'both', 100, 'signal', 3)"):
            db.session.execute(text(sql))
        db.session.commit()
        schema.upgrade()
        row = db.session.execute(text("SELECT format, written_max, start_mode, control_seq, show_review "
                                      "FROM session_details")).one()
        assert tuple(row) == ("both", 100, "signal", 3, False)
        db.session.execute(text("UPDATE session_details SET show_review = true"))
        db.session.commit()
        assert db.session.scalar(select(SessionDetail.show_review)) is True
        db.session.remove()
        db.engine.dispose()



def test_the_session_page_gives_the_area_chart_as_a_table_too(app):
    sid, own, other = sat_and_certified(app)
    with app.app_context():
        sheets = [json.loads(db.session.get(Attempt, a).score_json)["by_area"] for a in (own, other)]
    page = body(login(app, "committee1").get(f"/committee/review/sessions/{sid}"))
    assert "分野別の正答率（全答案の合計）" in page
    rows = area_rows(page)
    assert list(rows) == [k for k in TABLE_2.areas if k in sheets[0]]
    for key, row in rows.items():
        c, t = (sum(s[key][i] for s in sheets) for i in (0, 1))
        assert f"{c}/{t}問" in row and f"{c * 100 // t}%" in row
    # The chart's labels are the whole names, in lines cut between phrases.
    chart = re.search(r'<svg class="chart" id="area-chart".*?</svg>', page, re.S).group(0)
    assert "<tspan" in chart and "高度情報通信ネットワーク</tspan>" in chart
