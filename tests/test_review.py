"""Scored-sheet review: the list, the detail, exports, the written part and corrections."""
from __future__ import annotations

import io
import json
import re
import uuid
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from scoring.grading import GradedItem
from scoring.results import (AnsweredItem, CorrectionRule, Part, apply_corrections, combine,
                             histogram, parse_key, pooled_rates)

from app.banks.versions import snapshot
from app.cli.demo import right_answer, wrong_answer  # noqa: F401  (other tests import them from here)
from app.exam.attempts import record_answer, start_attempt, submit_attempt
from app.extensions import db
from app.models import (Affiliation, AnswerStep, Attempt, AuditEvent, Correction, ExamSession,
                        Registration, SessionDetail, Staff, User, UserRole, WrittenScore, utcnow)
from tests.choicetools import posted
from tests.decisiontools import decision
from tests.conftest import Client

ROLES_USERS = ("candidate1", "author1", "committee1", "vicechair", "chair", "head1", "secretariat1")
VIEWERS = {"committee1", "vicechair", "chair"}
ACTORS = {"vicechair", "chair"}


# --- test data ---------------------------------------------------------------------------

def session_id(app, level="beginner") -> int:
    with app.app_context():
        return db.session.scalar(select(ExamSession.id).where(ExamSession.level == level))


def set_format(app, sid, fmt, written_max=None):
    with app.app_context():
        db.session.merge(SessionDetail(session_id=sid, format=fmt, written_max=written_max))
        db.session.commit()


def affiliation(app, code="A01", name="中央警察署") -> int:
    with app.app_context():
        found = db.session.scalar(select(Affiliation).where(Affiliation.code == code))
        if found:
            return found.id
        a = Affiliation(code=code, name=name)
        db.session.add(a)
        db.session.commit()
        return a.id


def person(app, username, number, name=None, kana=None, affiliation_id=None, register_in=None):
    """A candidate account (new or demo) with its staff record, registered for a session."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            # No password: these candidates never sign in (scrypt would dominate the run).
            user = User(username=username, display_name=name or username, password_hash="!")
            user.roles.append(UserRole(role="candidate"))
            db.session.add(user)
            db.session.flush()
        staff = db.session.scalar(select(Staff).where(Staff.user_id == user.id))
        if staff is None:
            staff = Staff(staff_number=number, name_kanji=name or f"職員{number}",
                          name_kana=kana or f"しょくいん{number}", birth_date=date(1990, 4, 1),
                          post="巡査部長", employment_category="警察官", affiliation_id=affiliation_id,
                          user_id=user.id)
            db.session.add(staff)
        if register_in and not db.session.scalar(select(Registration).where(
                Registration.session_id == register_in, Registration.user_id == user.id)):
            db.session.add(Registration(session_id=register_in, user_id=user.id))
        db.session.commit()
        return user.id


def sit(app, sid, user_id, decide, submit=True, changes=0) -> int:
    """The user sits the session: decide(position, question) gives "right", "wrong" or None
    (unanswered). `changes` first saves a wrong answer to that many questions, so the
    history has several steps. Returns the attempt id."""
    with app.app_context():
        session = db.session.get(ExamSession, sid)
        user = db.session.get(User, user_id)
        attempt = start_attempt(session, user, utcnow())
        _bp, questions = snapshot(attempt.bank_version)
        seq = 0
        for pos, item in enumerate(attempt.form, start=1):
            q = questions[item["id"]]
            verdict = decide(pos, q)
            if verdict is None:
                continue
            if pos <= changes:
                record_answer(attempt, base_seq=seq, client_id=uuid.uuid4().hex, position=pos,
                              question_id=q.id, response=posted(item["choice_order"], wrong_answer(q)),
                              flagged=True, now=utcnow())
                seq += 1
            resp = right_answer(q) if verdict == "right" else wrong_answer(q)
            record_answer(attempt, base_seq=seq, client_id=uuid.uuid4().hex, position=pos,
                          question_id=q.id, response=posted(item["choice_order"], resp),
                          flagged=False, now=utcnow())
            seq += 1
        if submit:
            submit_attempt(attempt, "candidate", utcnow())
        db.session.commit()
        return attempt.id


def right_first(n):
    """The first n positions right, the rest wrong."""
    return lambda pos, q: "right" if pos <= n else "wrong"


def login(app, username):
    c = Client(app)
    assert c.login(username).status_code == 302
    return c


def attempt_of(app, attempt_id) -> Attempt:
    with app.app_context():
        a = db.session.get(Attempt, attempt_id)
        db.session.expunge(a)
        return a


def form_ids(app, attempt_id) -> list[str]:
    with app.app_context():
        return [i["id"] for i in db.session.get(Attempt, attempt_id).form]


def cohort(app, sid, scores, aff=None, prefix="r"):
    """Candidates with the given numbers of right answers (first positions right)."""
    out = []
    for i, n in enumerate(scores):
        uid = person(app, f"{prefix}{i:02d}", f"{prefix.upper()}{i:04d}", name=f"受検{prefix}{i:02d}",
                     kana=f"じゅけん{prefix}{i:02d}", affiliation_id=aff, register_in=sid)
        out.append(sit(app, sid, uid, right_first(n)))
    return out


# --- the pure rules ------------------------------------------------------------------------

def test_both_parts_must_each_reach_seventy_percent():
    # CBT 80% and written 60%: a fail, though the two together would average 70%.
    assert combine("both", Part(32, 40), Part(60, 100)).passed is False
    assert combine("both", Part(28, 40), Part(70, 100)).passed is True
    assert combine("both", Part(27, 40), Part(100, 100)).passed is False
    # Written only: the written part alone decides, whatever a CBT sheet says.
    assert combine("written", Part(0, 40), Part(70, 100)).passed is True
    assert combine("written", None, Part(69, 100)).passed is False
    assert combine("cbt", Part(28, 40), Part(0, 100)).passed is True
    # A missing part leaves the result undecided, never a fail.
    r = combine("both", Part(40, 40), None)
    assert r.passed is None and r.missing == ("written",) and not r.decided
    assert Part(69, 99).rate == 69 and Part(139, 200).rate == 69      # floor, never rounded up


def test_apply_corrections_void_and_rekey():
    items = [AnsweredItem("Q1", "a", "t", "single", "a", "b"),
             AnsweredItem("Q2", "a", "t", "single", "a", "a"),
             AnsweredItem("Q3", "b", "t", "multiple", ("a", "c"), ["a", "b"]),
             AnsweredItem("Q4", "b", "t", "true_false", True, None)]
    graded = apply_corrections(items, [])
    assert [g.correct for g in graded] == [False, True, False, False]
    graded = apply_corrections(items, [CorrectionRule("Q1", "void"),
                                       CorrectionRule("Q3", "rekey", ("a", "b")),
                                       CorrectionRule("Q2", "rekey", "b")])
    assert graded[0] == GradedItem("Q1", "a", "t", False, voided=True)
    assert [g.correct for g in graded[1:]] == [False, True, False]
    # The latest correction of a question decides: a rekey after a void brings it back.
    graded = apply_corrections(items, [CorrectionRule("Q1", "void"), CorrectionRule("Q1", "rekey", "b")])
    assert graded[0].correct is True and not graded[0].voided


def test_parse_key_checks_the_question():
    assert parse_key("single", ["a", "b", "c"], " ｂ ") == "b"
    with pytest.raises(ValueError, match="選択肢にありません"):
        parse_key("single", ["a", "b", "c"], "e")
    assert parse_key("multiple", ["a", "b", "c"], "c, a") == ("a", "c")
    with pytest.raises(ValueError, match="重複"):
        parse_key("multiple", ["a", "b", "c"], "a,a")
    assert parse_key("true_false", [], "誤") is False and parse_key("true_false", [], "○") is True
    with pytest.raises(ValueError):
        parse_key("true_false", [], "たぶん")
    assert parse_key("text", [], "443| HTTPS ") == ("443", "HTTPS")
    with pytest.raises(ValueError, match="入力"):
        parse_key("single", ["a"], "  ")


def test_histogram_and_pooled_rates():
    bins = histogram([0, 9, 10, 69, 70, 99, 100])
    assert bins[0] == (0, 9, 2) and bins[6] == (60, 69, 1) and bins[7] == (70, 79, 1)
    assert bins[9] == (90, 100, 2) and sum(b[2] for b in bins) == 7
    assert pooled_rates([{"x": (3, 4)}, {"x": (1, 4), "y": (0, 2)}]) == {"x": 50, "y": 0}


# --- access ----------------------------------------------------------------------------------

def test_every_route_answers_each_role(app):
    sid = session_id(app)
    set_format(app, sid, "both", 100)
    uid = person(app, "rt0", "RT0001", register_in=sid)
    aid = sit(app, sid, uid, right_first(30))
    qid = form_ids(app, aid)[0]
    gets = [("/committee/review/", VIEWERS), (f"/committee/review/sessions/{sid}", VIEWERS),
            (f"/committee/review/sessions/{sid}/sheets/{aid}", VIEWERS),
            (f"/committee/review/sessions/{sid}/export.csv", VIEWERS),
            (f"/committee/review/sessions/{sid}/export.xlsx", VIEWERS),
            (f"/committee/review/sessions/{sid}/written", VIEWERS),
            (f"/committee/review/sessions/{sid}/corrections", VIEWERS)]
    for username in ROLES_USERS:
        c = login(app, username)
        for url, allowed in gets:
            assert c.get(url).status_code == (200 if username in allowed else 403), (username, url)
        staff_id = _staff_id(app, uid)
        posts = [(f"/committee/review/sessions/{sid}/written", {f"score-{staff_id}": "80"}),
                 (f"/committee/review/sessions/{sid}/written/import",
                  {"file": (io.BytesIO(b"staff_number,score\nRT0001,75\n"), "w.csv")}),
                 (f"/committee/review/sessions/{sid}/corrections",
                  {"question_id": qid, "action": "void", "reason": f"{username}による確認"}),
                 (f"/committee/review/sessions/{sid}/regrade", {}),
                 (f"/committee/review/sessions/{sid}/certify", {"attempt": str(aid), **decision(app)})]
        for url, data in posts:
            status = c.post_form(url, data).status_code
            if username in ACTORS:
                assert status in (302, 400), (username, url, status)      # 400: voided already
            else:
                assert status == 403, (username, url, status)
    with app.app_context():
        refused = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                    .where(AuditEvent.event == "forbidden"))
        assert refused == (len(ROLES_USERS) - 3) * len(gets) + (len(ROLES_USERS) - 2) * 5
        # What the vice-chair did stuck, and only once (the chair's void was refused).
        assert db.session.scalar(select(func.count()).select_from(Correction)) == 1
        assert db.session.scalar(select(WrittenScore.score)) == 75


def _staff_id(app, user_id):
    with app.app_context():
        return db.session.scalar(select(Staff.id).where(Staff.user_id == user_id))


def test_candidates_sign_in_only_to_their_own_pages(app):
    sid = session_id(app)
    aid = sit(app, sid, person(app, "candidate1", "D0001", register_in=sid), right_first(30))
    c = login(app, "candidate1")
    assert c.get(f"/committee/review/sessions/{sid}/sheets/{aid}").status_code == 403
    assert c.get(f"/exam/attempts/{aid}/done").status_code == 200


# --- the list --------------------------------------------------------------------------------

def test_list_numbers_match_the_stored_scores(app):
    sid = session_id(app)
    aff = affiliation(app)
    ids = cohort(app, sid, [40, 35, 28, 27, 20, 10], aff=aff)
    page = login(app, "committee1").get(f"/committee/review/sessions/{sid}").get_data(as_text=True)
    assert 'id="n-sheets">6<' in page and 'id="n-pass">3<' in page and 'id="n-fail">3<' in page
    with app.app_context():
        for aid in ids:
            a = db.session.get(Attempt, aid)
            staff = db.session.scalar(select(Staff).where(Staff.user_id == a.user_id))
            row = _row(page, f"a{aid}")
            assert staff.staff_number in row and staff.name_kanji in row and "中央警察署" in row
            assert f"{a.correct}/{a.total}（{a.correct * 100 // a.total}%）" in row
            assert ("合格" if a.passed else "不合格") in row
            # Per-area rates, from the stored breakdown.
            for c, t in json.loads(a.score_json)["by_area"].values():
                assert f"{c * 100 // t}%" in row
    # 28/40 is 70%: a pass; 27/40 is 67%: a fail.
    assert "28/40（70%）" in page and "27/40（67%）" in page
    # The histogram with its 70% line, and the per-area chart: inline SVG, no style attribute.
    assert 'id="histogram"' in page and 'id="pass-line"' in page and "合格基準 70%" in page
    assert 'id="area-chart"' in page
    # No inline script: the only scripts are files (the display options' prefs.js, the
    # site's menu and tables).
    assert "style=" not in page
    assert re.findall(r"<script\b[^>]*>", page) == ['<script src="/static/prefs.js">',
                                                    '<script src="/static/site.js" defer>']


def _row(page, key):
    m = re.search(rf'<tr class="[^"]*" data-key="{key}">(.*?)</tr>', page, re.S)
    assert m, key
    return m.group(1)


def _keys(page):
    return re.findall(r'data-key="(a\d+)"', page)


def test_list_sorts_and_filters(app):
    sid = session_id(app)
    a1, a2 = affiliation(app, "A01", "中央警察署"), affiliation(app, "A02", "北警察署")
    low, high = cohort(app, sid, [10, 35], aff=a1, prefix="p")
    mid = cohort(app, sid, [30], aff=a2, prefix="q")[0]
    c = login(app, "committee1")
    base = f"/committee/review/sessions/{sid}"
    assert _keys(c.get(base + "?sort=score&order=desc").get_data(as_text=True)) == \
        [f"a{high}", f"a{mid}", f"a{low}"]
    assert _keys(c.get(base + "?sort=score&order=asc").get_data(as_text=True)) == \
        [f"a{low}", f"a{mid}", f"a{high}"]
    # By furigana: じゅけんp00, じゅけんp01, じゅけんq00.
    assert _keys(c.get(base + "?sort=name").get_data(as_text=True)) == [f"a{low}", f"a{high}", f"a{mid}"]
    assert _keys(c.get(base + "?sort=submitted&order=desc").get_data(as_text=True))[0] == f"a{mid}"
    assert set(_keys(c.get(base + "?result=pass").get_data(as_text=True))) == {f"a{high}", f"a{mid}"}
    assert _keys(c.get(base + "?result=fail").get_data(as_text=True)) == [f"a{low}"]
    assert _keys(c.get(base + f"?affiliation={a2}").get_data(as_text=True)) == [f"a{mid}"]
    assert len(_keys(c.get(base + "?certified=no").get_data(as_text=True))) == 3
    assert _keys(c.get(base + "?certified=yes").get_data(as_text=True)) == []


def test_sheet_detail_shows_answers_keys_and_save_times(app):
    sid = session_id(app)
    uid = person(app, "sd0", "SD0002", name="詳細 確認", register_in=sid)
    aid = sit(app, sid, uid, lambda pos, q: None if pos == 40 else ("right" if pos % 2 else "wrong"),
              changes=3)
    page = login(app, "committee1").get(f"/committee/review/sessions/{sid}/sheets/{aid}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "詳細 確認" in html and "SD0002" in html
    with app.app_context():
        attempt = db.session.get(Attempt, aid)
        _bp, questions = snapshot(attempt.bank_version)
        steps = list(db.session.scalars(select(AnswerStep).where(AnswerStep.attempt_id == aid)
                                        .order_by(AnswerStep.seq)))
        first_item = attempt.form[0]
        q1 = questions[first_item["id"]]
    sections = re.findall(r'<section class="question card" id="q-(\d+)".*?</section>', html, re.S)
    assert len(sections) == 40
    blocks = dict(re.findall(r'<section class="question card" id="q-(\d+)"(.*?)</section>', html, re.S))
    # Question 1: saved wrong, then right (3 positions were changed): both saves listed.
    first = blocks["1"]
    assert "保存の履歴（2回）" in first and "正解" in first and "disabled" in html
    from scoring.jpdate import to_jst
    for s in [s for s in steps if s.position == 1]:
        assert to_jst(s.created_at).strftime("%Y-%m-%d %H:%M:%S") in first
    # The choices in the candidate's order, and the key and answer in the candidate's labels.
    if q1.type in ("single", "multiple"):
        # Shown positions as values, never the keys (scoring/choice_positions.py).
        n = len(first_item["choice_order"])
        assert re.findall(r'name="r1" value="([^"]+)"', first) == [str(i) for i in range(1, n + 1)]
        label = "アイウエオ"[first_item["choice_order"].index(
            q1.answer if q1.type == "single" else sorted(q1.answer, key=first_item["choice_order"].index)[0])]
        key_html = re.search(r'<dd class="key">(.*?)</dd>', first, re.S).group(1)
        assert key_html.startswith(label)
    assert "不正解" in blocks["2"] and "（未解答）" in blocks["40"] and "保存の記録はありません" in blocks["40"]
    # Another session's id in the address: not found.
    other = session_id(app, "intermediate")
    assert login(app, "chair").get(f"/committee/review/sessions/{other}/sheets/{aid}").status_code == 404


def test_exports_csv_with_bom_and_xlsx(app):
    sid = session_id(app)
    ids = cohort(app, sid, [36, 12], aff=affiliation(app))
    c = login(app, "vicechair")
    body = c.get(f"/committee/review/sessions/{sid}/export.csv?sort=score&order=desc").get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("職員番号,氏名,ふりがな,所属,得点,満点,正答率(%),結果,認定")
    assert lines[1].startswith("R0000,受検r00,じゅけんr00,中央警察署,36,40,90,合格")
    assert lines[2].startswith("R0001,受検r01,じゅけんr01,中央警察署,12,40,30,不合格")
    wb = load_workbook(io.BytesIO(c.get(f"/committee/review/sessions/{sid}/export.xlsx").get_data()))
    ws = wb.active
    assert ws.title == "答案一覧" and ws.cell(1, 1).value == "職員番号"
    assert {ws.cell(r, 1).value for r in range(2, ws.max_row + 1)} == {"R0000", "R0001"}
    assert len(ids) == 2 and ws.max_row == 3


# --- the written part --------------------------------------------------------------------------

def test_written_part_both_rule_in_the_list(app):
    sid = session_id(app)
    set_format(app, sid, "both", 50)
    u80 = person(app, "w80", "W0080", register_in=sid)
    u70 = person(app, "w70", "W0070", register_in=sid)
    a80, a70 = sit(app, sid, u80, right_first(32)), sit(app, sid, u70, right_first(28))
    c = login(app, "vicechair")
    page = c.get(f"/committee/review/sessions/{sid}").get_data(as_text=True)
    assert "未確定" in _row(page, f"a{a80}") and "筆記未入力" in _row(page, f"a{a80}")
    # CBT 80% + written 60% (30/50): fail. Both 70%: pass.
    resp = c.post_form(f"/committee/review/sessions/{sid}/written",
                       {f"score-{_staff_id(app, u80)}": "30", f"score-{_staff_id(app, u70)}": "35"})
    assert resp.status_code == 302
    page = c.get(f"/committee/review/sessions/{sid}").get_data(as_text=True)
    assert "32/40（80%）" in _row(page, f"a{a80}") and "30/50（60%）" in _row(page, f"a{a80}")
    assert "不合格" in _row(page, f"a{a80}")
    assert "35/50（70%）" in _row(page, f"a{a70}") and re.search(r'class="result">合格', _row(page, f"a{a70}"))
    # Written form: a bad value refuses the whole form, naming the person.
    resp = c.post_form(f"/committee/review/sessions/{sid}/written",
                       {f"score-{_staff_id(app, u80)}": "51", f"score-{_staff_id(app, u70)}": "40"})
    assert resp.status_code == 400
    text = resp.get_data(as_text=True)
    assert "W0080" in text and "満点（50点）を超えています" in text
    with app.app_context():
        assert sorted(db.session.scalars(select(WrittenScore.score))) == [30, 35]


def test_written_import_all_or_nothing_with_rows_and_columns(app):
    sid = session_id(app, "intermediate")
    set_format(app, sid, "written", 100)
    for i in range(3):
        person(app, f"wi{i}", f"K{i:04d}", register_in=sid)
    c = login(app, "chair")
    url = f"/committee/review/sessions/{sid}/written/import"
    bad = "staff_number,score\nK0000,80\nK9999,70\nK0001,１０１\nK0000,50\nK0002,\n".encode("utf-8")
    resp = c.post_form(url, {"file": (io.BytesIO(bad), "w.csv")})
    assert resp.status_code == 400
    problems = re.findall(r'<li class="error">(.*?)</li>', resp.get_data(as_text=True))
    assert problems == ["3行目「staff_number」列: 職員番号「K9999」は登録されていません",
                        "4行目「score」列: 101点は満点（100点）を超えています",
                        "5行目「staff_number」列: 職員番号「K0000」がファイル内で重複しています",
                        "6行目「score」列: 値が空です"]
    resp = c.post_form(url, {"file": (io.BytesIO(b"number,score\nK0000,1\n"), "w.csv")})
    assert "必要な列がありません: staff_number" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WrittenScore)) == 0
    good = "staff_number,score\r\nK0000,70\r\nK0001,６９\r\n".encode("cp932")
    assert c.post_form(url, {"file": (io.BytesIO(good), "w.csv")}).status_code == 302
    page = c.get(f"/committee/review/sessions/{sid}").get_data(as_text=True)
    # Written-only session: the written part alone decides, and is certified on its own
    # (tests/test_written_certify.py).
    assert "70/100（70%）" in page and "69/100（69%）" in page
    assert page.count('name="written" value=') == 2
    with app.app_context():
        assert sorted(db.session.scalars(select(WrittenScore.score))) == [69, 70]
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.event == "written_scores_imported"))


def test_written_import_takes_only_the_sessions_candidates(app):
    """A known staff number that is not a candidate of the session is refused by row and
    column like any bad cell, and the whole file is refused with it."""
    sid = session_id(app, "intermediate")
    set_format(app, sid, "written", 100)
    person(app, "wr0", "G0000", register_in=sid)
    outsider = person(app, "wr1", "G0001")                 # on the staff list, not registered here
    c = login(app, "chair")
    url = f"/committee/review/sessions/{sid}/written/import"
    csv = b"staff_number,score\nG0000,80\nG0001,75\n"
    resp = c.post_form(url, {"file": (io.BytesIO(csv), "w.csv")})
    assert resp.status_code == 400
    problems = re.findall(r'<li class="error">(.*?)</li>', resp.get_data(as_text=True))
    assert problems == ["3行目「staff_number」列: 職員番号「G0001」の職員はこの実施回の受検者として登録されていません"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WrittenScore)) == 0
        refused = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "written_scores_import_refused"))
        assert "G0001" in refused.detail_json
    # Someone who already has a score stays correctable (written_candidates), registered or not.
    outsider_staff = _staff_id(app, outsider)
    with app.app_context():
        db.session.add(WrittenScore(session_id=sid, staff_id=outsider_staff, score=10, max_score=100,
                                    entered_by=outsider, entered_at=utcnow()))
        db.session.commit()
    assert c.post_form(url, {"file": (io.BytesIO(csv), "w.csv")}).status_code == 302
    with app.app_context():
        assert sorted(db.session.scalars(select(WrittenScore.score))) == [75, 80]


def test_written_refused_for_a_cbt_session(app):
    sid = session_id(app)
    person(app, "wc", "C0001", register_in=sid)
    c = login(app, "chair")
    assert "電子計算機による試験のみ" in c.get(f"/committee/review/sessions/{sid}/written").get_data(as_text=True)
    resp = c.post_form(f"/committee/review/sessions/{sid}/written/import",
                       {"file": (io.BytesIO(b"staff_number,score\nC0001,1\n"), "w.csv")})
    assert resp.status_code == 400 and "筆記試験がありません" in resp.get_data(as_text=True)


# --- corrections ---------------------------------------------------------------------------------

def test_void_raises_rates_and_turns_a_fail_into_a_pass(app):
    sid = session_id(app)
    # The marginal candidate: 27/40 (fail), wrong on positions 1 and 2 among others.
    marginal_uid = person(app, "m00", "M0000", register_in=sid)
    marginal = sit(app, sid, marginal_uid, lambda pos, q: "wrong" if pos <= 13 else "right")
    hard = form_ids(app, marginal)[:2]
    # Others get the two hard questions wrong whenever their form has them.
    others = []
    for i in range(4):
        uid = person(app, f"o{i}", f"O000{i}", register_in=sid)
        others.append(sit(app, sid, uid, lambda pos, q: "wrong" if q.id in hard else "right"))
    with app.app_context():
        before = {a.id: (a.correct, a.total) for a in db.session.scalars(select(Attempt))}
        shown = sum(1 for a in db.session.scalars(select(Attempt)) if any(i["id"] == hard[0] for i in a.form))
    assert before[marginal] == (27, 40)
    c = login(app, "vicechair")
    for qid in hard:
        resp = c.post_form(f"/committee/review/sessions/{sid}/corrections",
                           {"question_id": qid, "action": "void", "reason": "設問に誤りがあったため"})
        assert resp.status_code == 302
    with app.app_context():
        a = db.session.get(Attempt, marginal)
        assert (a.correct, a.total, a.passed) == (27, 38, True)              # 71%: now a pass
        assert sorted(json.loads(a.score_json)["voided"]) == sorted(hard)
        for aid in others:
            o = db.session.get(Attempt, aid)
            c0, t0 = before[aid]
            assert o.correct == c0 and o.total == t0 - sum(1 for i in o.form if i["id"] in hard)
            assert o.correct * 100 // o.total >= c0 * 100 // t0
        # The answers themselves did not change: append-only.
        assert db.session.scalar(select(func.count()).select_from(AnswerStep)
                                 .where(AnswerStep.attempt_id == marginal)) == 40
        rec = db.session.scalars(select(Correction).order_by(Correction.id)).all()
        assert [(r.question_id, r.action) for r in rec] == [(hard[0], "void"), (hard[1], "void")]
        assert rec[0].sheets_regraded == shown and rec[0].reason == "設問に誤りがあったため"
        assert rec[0].made_by == db.session.scalar(select(User.id).where(User.username == "vicechair"))
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "correction_made")).all()
        assert len(events) == 2 and json.loads(events[0].detail_json)["sheets_regraded"] == shown
    # The record stays on the session's page; voiding again is refused.
    page = c.get(f"/committee/review/sessions/{sid}").get_data(as_text=True)
    assert "設問に誤りがあったため" in page and hard[0] in page
    assert "27/38（71%）" in page
    again = c.post_form(f"/committee/review/sessions/{sid}/corrections",
                        {"question_id": hard[0], "action": "void", "reason": "再度"})
    assert again.status_code == 400 and "既に無効" in again.get_data(as_text=True)


def test_rekey_regrades_against_the_new_key(app):
    sid = session_id(app)
    uid = person(app, "k00", "K0000", register_in=sid)
    aid = sit(app, sid, uid, right_first(27))       # 27/40; position 40 is wrong
    with app.app_context():
        attempt = db.session.get(Attempt, aid)
        _bp, questions = snapshot(attempt.bank_version)
        # A single-choice question the candidate got wrong.
        pos, q = next((p, questions[i["id"]]) for p, i in enumerate(attempt.form, start=1)
                      if p > 27 and questions[i["id"]].type == "single")
        picked = wrong_answer(q)
        keys = [c.key for c in q.choices]
    c = login(app, "chair")
    url = f"/committee/review/sessions/{sid}/corrections"
    # A key that is not among the question's choices is refused, and nothing changes.
    resp = c.post_form(url, {"question_id": q.id, "action": "rekey", "answer": "z", "reason": "正答の誤り"})
    assert resp.status_code == 400 and "選択肢にありません" in resp.get_data(as_text=True)
    resp = c.post_form(url, {"question_id": q.id, "action": "rekey", "answer": q.answer, "reason": "同じ"})
    assert resp.status_code == 400 and "現在の正答と同じ" in resp.get_data(as_text=True)
    resp = c.post_form(url, {"question_id": q.id, "action": "rekey", "answer": picked, "reason": ""})
    assert resp.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Correction)) == 0
    resp = c.post_form(url, {"question_id": q.id, "action": "rekey", "answer": picked,
                             "reason": "正答は" + picked + "が正しい"})
    assert resp.status_code == 302
    with app.app_context():
        a = db.session.get(Attempt, aid)
        assert (a.correct, a.total, a.passed) == (28, 40, True)
        corr = db.session.scalar(select(Correction))
        assert corr.action == "rekey" and json.loads(corr.answer_json) == picked and corr.sheets_regraded == 1
    detail = c.get(f"/committee/review/sessions/{sid}/sheets/{aid}").get_data(as_text=True)
    block = re.search(rf'<section class="question card" id="q-{pos}"(.*?)</section>', detail, re.S).group(1)
    assert "訂正前" in block and "正解" in block
    assert picked in keys


def test_committee_members_see_corrections_but_cannot_make_them(app):
    sid = session_id(app)
    aid = sit(app, sid, person(app, "v0", "V0000", register_in=sid), right_first(20))
    qid = form_ids(app, aid)[0]
    c = login(app, "committee1")
    page = c.get(f"/committee/review/sessions/{sid}/corrections").get_data(as_text=True)
    assert qid in page and "訂正して再採点する" not in page
    assert c.post_form(f"/committee/review/sessions/{sid}/corrections",
                       {"question_id": qid, "action": "void", "reason": "x"}).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Correction)) == 0


def test_score_with_corrections_scores_late_sheets_too(app):
    """A sheet submitted after a correction is scored with it (exam.score_attempt calls this)."""
    from app.review.scoring import score_with_corrections
    sid = session_id(app)
    first = sit(app, sid, person(app, "e0", "E0000", register_in=sid), right_first(40))
    qid = form_ids(app, first)[0]
    late_uid = person(app, "e1", "E0001", register_in=sid)
    with app.app_context():
        db.session.add(Correction(session_id=sid, question_id=qid, action="void", reason="r",
                                  made_by=late_uid, made_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    late = sit(app, sid, late_uid, right_first(40))
    with app.app_context():
        a = db.session.get(Attempt, late)
        score_with_corrections(a)
        expected = 40 - (1 if qid in [i["id"] for i in a.form] else 0)
        assert (a.correct, a.total) == (expected, expected)
