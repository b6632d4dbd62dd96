"""Public awareness quizzes: the bank, events and their codes, a participant's answers with
no sign-in, the counts, the activity recorded on closing, the handout, who may do what."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from app.awareness import operations, sources
from app.extensions import db
from app.models import (Activity, ActivityMember, AuditEvent, AwarenessAnswer, AwarenessEvent,
                        Member, User, VolunteerGroup)
from scoring import awareness
from scoring.bank import load_banks
from tests.conftest import Client

ROOT = Path(__file__).resolve().parent.parent
BANK = ROOT / "volunteer_banks" / "awareness"
SAKURA = "桜丘大学サイバー防犯ボランティア"
MIDORI = "みどり高校サイバー防犯部"


def group_id(app, name):
    with app.app_context():
        return db.session.scalar(select(VolunteerGroup.id).where(VolunteerGroup.name == name))


def signed_in(app, username) -> Client:
    c = Client(app)
    assert c.login(username).status_code == 302
    return c


def create(c: Client, app, group=SAKURA, source="bank:short_mix", **extra):
    data = {"group_id": group_id(app, group), "source": source, "held_on": "2026-12-01",
            "place": "桜丘地区公民館", "audience": "地域の高齢者", **extra}
    return c.post_form("/awareness/new", data)


def new_event(app, username="volunteer1", **extra) -> AwarenessEvent:
    c = signed_in(app, username)
    resp = create(c, app, **extra)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    event_id = int(resp.location.rstrip("/").rsplit("/", 1)[1])
    with app.app_context():
        event = db.session.get(AwarenessEvent, event_id)
        db.session.expunge(event)
        return event


def take_part(app, code, picks) -> Client:
    """An anonymous participant answering question i with picks[i] (None: leave it)."""
    p = Client(app)
    assert p.get(f"/q/{code}").status_code == 200
    resp = p.post_form(f"/q/{code}")
    assert resp.status_code == 302 and resp.location.endswith(f"/q/{code}/1")
    for n, pick in enumerate(picks, 1):
        if pick is not None:
            assert p.post_form(f"/q/{code}/{n}", {"choice": str(pick)}).status_code == 302
    return p


# --- the bank and the sources ---------------------------------------------------------

def test_the_awareness_bank_validates_with_the_cli():
    run = subprocess.run([sys.executable, "-m", "app.cli", "bank", "validate", "--banks", str(BANK)],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 problems" in run.stdout


def test_the_bank_holds_at_least_30_usable_questions_with_references():
    load = load_banks(BANK)
    assert load.ok
    assert len(load.questions) >= 30
    assert all(q.reference and q.explanation.strip() for q in load.questions.values())
    for quiz in load.blueprint.levels:
        questions = awareness.bank_quiz(load, quiz)
        assert len(questions) == load.blueprint.levels[quiz].questions
        assert awareness.problems(questions) == []
    # support scams: the fake warning, the phone number, remote control, gift cards, #9110
    stems = " ".join(q.stem + q.explanation for q in load.questions.values() if q.topic == "support_scam")
    for needle in ("電話", "遠隔操作", "電子マネー", "Esc", "タスクマネージャー", "#9110", "IPA"):
        assert needle in stems


def test_problems_name_the_question_and_what_is_wrong():
    good = {"id": "x", "stem": "問", "choices": ["a", "b"], "answer": 1, "explanation": "説明"}
    assert awareness.problems([good]) == []
    assert awareness.problems([]) == ["問題がありません。"]
    found = awareness.problems([good, {**good, "choices": ["a"]}, {**good, "answer": 2},
                                {**good, "answer": True}, {**good, "stem": " "}, "x"])
    assert found == ["2問目: 選択肢は2〜4個の文章にしてください。", "3問目: 正解が選択肢の中にありません。",
                     "4問目: 正解が選択肢の中にありません。", "5問目: 問題文がありません。",
                     "6問目: 形式が正しくありません。"]


def test_count_tallies_choices_and_rates_and_ignores_what_the_snapshot_lacks():
    qs = [{"choices": ["a", "b", "c"], "answer": 0}, {"choices": ["a", "b"], "answer": 1}]
    result = awareness.count(qs, started=4, finished=2, answers=[
        (1, 0, 0, True), (2, 0, 1, False), (3, 0, 0, True), (1, 1, 1, True), (2, 1, 1, True),
        (9, 5, 0, True), (9, 0, 7, True)])
    assert (result.started, result.answered, result.finished) == (4, 3, 2)
    assert result.questions[0].choices == [2, 1, 0] and result.questions[0].rate == 66
    assert result.questions[1].choices == [0, 2] and result.questions[1].rate == 100


def test_a_registered_provider_is_offered_and_its_questions_checked(app):
    class Materials:
        def __init__(self):
            self.questions_ = [{"id": "m1", "stem": "団体の問題", "choices": ["はい", "いいえ"],
                                "answer": 0, "explanation": "理由"}]

        def choices(self, group):
            return [sources.QuizChoice("material:12", "団体の教材", 1, 20)]

        def questions(self, key, group):
            return ("団体の教材", self.questions_) if key == "12" else None

    provider = Materials()
    real = sources._PROVIDERS.get("material")          # the app's own, put back after
    sources.register("material", provider)
    try:
        with app.app_context():
            group = db.session.get(VolunteerGroup, group_id(app, SAKURA))
            assert "material:12" in [c.ref for c in sources.quiz_choices(group)]
            assert sources.resolve("material:12", group)[1][0]["stem"] == "団体の問題"
            with pytest.raises(sources.SourceError, match="見つかりません"):
                sources.resolve("material:13", group)
            with pytest.raises(sources.SourceError, match="見つかりません"):
                sources.resolve("nothing:1", group)
        event = new_event(app, source="material:12")
        assert event.minutes == 20 and event.title == "団体の教材"
        # A later edit of the material never changes the running event.
        provider.questions_[0]["stem"] = "書き換えた問題"
        provider.questions_.append(dict(provider.questions_[0]))
        with app.app_context():
            assert db.session.get(AwarenessEvent, event.id).questions[0]["stem"] == "団体の問題"
        provider.questions_[0]["choices"] = ["一つだけ"]
        c = signed_in(app, "volunteer1")
        resp = create(c, app, source="material:12")
        assert resp.status_code == 400 and "選択肢は2〜4個" in resp.get_data(as_text=True)
    finally:
        sources._PROVIDERS.pop("material", None)
        if real is not None:
            sources.register("material", real)


def test_a_groups_approved_quiz_runs_as_an_event_and_nothing_else_of_it(app):
    """The materials a group drafted and its liaison approved are quizzes of its events
    (circular 2(3)): only as approved, only for that group, never a draft."""
    from app.models import Material
    with app.app_context():
        sakura = db.session.get(VolunteerGroup, group_id(app, SAKURA))
        midori = db.session.get(VolunteerGroup, group_id(app, MIDORI))
        quiz = db.session.scalar(select(Material).where(Material.group_id == sakura.id,
                                                        Material.kind == "quiz"))
        ref = f"material:{quiz.id}"
        assert ref in [c.ref for c in sources.quiz_choices(sakura)]
        assert ref not in [c.ref for c in sources.quiz_choices(midori)]
        with pytest.raises(sources.SourceError):
            sources.resolve(ref, midori)
        approved = quiz.in_force.content
    event = new_event(app, source=ref)
    assert [q["stem"] for q in event.questions] == [q["stem"] for q in approved["questions"]]
    with app.app_context():             # withdrawn: no longer offered, no longer usable
        quiz = db.session.get(Material, quiz.id)
        quiz.in_force_id = None
        db.session.commit()
        sakura = db.session.get(VolunteerGroup, sakura.id)
        assert ref not in [c.ref for c in sources.quiz_choices(sakura)]
        with pytest.raises(sources.SourceError):
            sources.resolve(ref, sakura)


# --- events and participants ----------------------------------------------------------

def test_a_volunteer_creates_an_event_with_a_code_a_snapshot_and_a_qr_code(app):
    event = new_event(app)
    assert re.fullmatch(r"\d{6}", event.code)
    assert event.source_ref == "bank:short_mix" and len(event.questions) == 6
    assert event.minutes == 15 and event.held_on == date(2026, 12, 1) and event.is_open
    c = signed_in(app, "volunteer1")
    page = c.get(f"/awareness/{event.id}").get_data(as_text=True)
    assert event.code in page and f"/q/{event.code}" in page
    svg = c.get(f"/awareness/{event.id}/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.event == "awareness_event_created"))


def test_a_bad_event_form_says_what_and_where_and_keeps_the_input(app):
    c = signed_in(app, "volunteer1")
    resp = create(c, app, place="", held_on="2026-13-45", minutes="0")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "場所を入力してください" in page and "日付を正しく入力してください" in page
    assert "活動時間は1〜600分" in page and "地域の高齢者" in page
    resp = create(c, app, source="bank:no_such_quiz")
    assert resp.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(AwarenessEvent)) is None


def test_wrong_and_closed_codes_get_a_clear_page(app):
    anon = Client(app)
    resp = anon.get("/q/?code=999999")
    assert resp.status_code == 404 and "見つかりません" in resp.get_data(as_text=True)
    assert anon.get("/q/?code=").status_code == 400
    assert anon.get("/q/<script>").status_code == 404
    assert "<script>" not in anon.get("/q/?code=%3Cscript%3E").get_data(as_text=True)
    event = new_event(app)
    # Full-width digits, as a phone's Japanese keyboard may type them, find the event.
    wide = event.code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    resp = anon.get(f"/q/?code={wide}")
    assert resp.status_code == 302 and resp.location.endswith(f"/q/{event.code}")
    c = signed_in(app, "volunteer1")
    assert c.post_form(f"/awareness/{event.id}/close", {"record": "y", "minutes": "30"}).status_code == 302
    for url in (f"/q/{event.code}", f"/q/?code={event.code}", f"/q/{event.code}/1"):
        resp = anon.get(url)
        assert resp.status_code == 410 and "終了しました" in resp.get_data(as_text=True)


def test_a_participant_answers_once_per_question_and_sees_why(app):
    event = new_event(app)
    qs = event.questions
    p = take_part(app, event.code, [])
    page = p.get(f"/q/{event.code}/1").get_data(as_text=True)
    assert "第1問" in page and all(re.sub(r"[&<>\"']", "", ch)[:10] in page for ch in qs[0]["choices"])
    wrong = (qs[0]["answer"] + 1) % len(qs[0]["choices"])
    p.post_form(f"/q/{event.code}/1", {"choice": str(wrong)})
    page = p.get(f"/q/{event.code}/1").get_data(as_text=True)
    assert "不正解" in page and "解説" in page and "次の問題へ" in page
    # A second answer to the same question does not count.
    p.post_form(f"/q/{event.code}/1", {"choice": str(qs[0]["answer"])})
    assert "不正解" in p.get(f"/q/{event.code}/1").get_data(as_text=True)
    p.post_form(f"/q/{event.code}/2", {"choice": str(qs[1]["answer"])})
    assert "○ 正解です" in p.get(f"/q/{event.code}/2").get_data(as_text=True)
    # A choice that is not on the screen is refused and nothing is stored.
    resp = p.post_form(f"/q/{event.code}/3", {"choice": "9"})
    assert resp.status_code == 400 and "答えをひとつ選んで" in resp.get_data(as_text=True)
    assert p.post_form(f"/q/{event.code}/3", {"choice": "x"}).status_code == 400
    assert p.get(f"/q/{event.code}/99").status_code == 302
    # Starting again resumes: still one participant.
    resp = p.post_form(f"/q/{event.code}")
    assert resp.location.endswith(f"/q/{event.code}/3")
    with app.app_context():
        rows = list(db.session.scalars(select(AwarenessAnswer).where(AwarenessAnswer.event_id == event.id)))
        assert [(a.position, a.correct) for a in sorted(rows, key=lambda a: a.position)] == [(0, False), (1, True)]
        assert operations.counts(db.session.get(AwarenessEvent, event.id)).started == 1
    for n in range(3, len(qs) + 1):
        p.post_form(f"/q/{event.code}/{n}", {"choice": str(qs[n - 1]["answer"])})
    result = p.get(f"/q/{event.code}/result").get_data(as_text=True)
    assert f"{len(qs)}問中 <strong>{len(qs) - 1}問</strong> 正解" in result
    assert "#9110" in result and "188" in result and "安心相談窓口" in result


def test_answering_needs_the_participants_own_start(app):
    event = new_event(app)
    stranger = Client(app)
    stranger.get(f"/q/{event.code}")
    resp = stranger.post_form(f"/q/{event.code}/1", {"choice": "0"})
    assert resp.status_code == 302 and resp.location.endswith(f"/q/{event.code}")
    with app.app_context():
        assert db.session.scalar(select(AwarenessAnswer)) is None


def test_counts_and_rates_on_the_event_page(app):
    event = new_event(app)
    qs = event.questions
    right = [q["answer"] for q in qs]
    wrong = [(q["answer"] + 1) % len(q["choices"]) for q in qs]
    take_part(app, event.code, right)                        # all right, finished
    take_part(app, event.code, [wrong[0], right[1]])         # two answers
    take_part(app, event.code, [])                           # started only
    with app.app_context():
        tally = operations.counts(db.session.get(AwarenessEvent, event.id))
    assert (tally.started, tally.answered, tally.finished) == (3, 2, 1)
    assert [t.rate for t in tally.questions[:3]] == [50, 100, 100]
    assert tally.questions[0].choices[right[0]] == 1 and tally.questions[0].choices[wrong[0]] == 1
    page = signed_in(app, "volunteer2").get(f"/awareness/{event.id}").get_data(as_text=True)
    assert "はじめた人 <strong>3人</strong>" in page and "回答した人 <strong>2人</strong>" in page
    assert "最後まで答えた人 <strong>1人</strong>" in page and "50%" in page


def test_closing_records_the_groups_awareness_activity(app):
    event = new_event(app, username="volunteer2")
    qs = event.questions
    take_part(app, event.code, [q["answer"] for q in qs])
    take_part(app, event.code, [qs[0]["answer"]])
    take_part(app, event.code, [])
    c = signed_in(app, "liaison1")
    resp = c.post_form(f"/awareness/{event.id}/close", {"record": "y", "minutes": "45"})
    assert resp.status_code == 302
    with app.app_context():
        closed = db.session.get(AwarenessEvent, event.id)
        activity = db.session.get(Activity, closed.activity_id)
        assert closed.status == "closed" and closed.closed_at is not None
        assert (activity.kind, activity.participants, activity.minutes) == ("awareness", 2, 45)
        assert (activity.held_on, activity.place, activity.audience) == (
            date(2026, 12, 1), "桜丘地区公民館", "地域の高齢者")
        assert activity.group_id == group_id(app, SAKURA)
        # volunteer2 ran it: their time counts; liaison1 is no member.
        runners = db.session.scalars(select(ActivityMember).where(ActivityMember.activity_id == activity.id))
        assert [(m.member.user.username, m.minutes) for m in runners] == [("volunteer2", 45)]
    page = c.get(f"/awareness/{event.id}").get_data(as_text=True)
    assert "活動実績に記録済み" in page and "参加 2人" in page
    # Closing twice records nothing more.
    c.post_form(f"/awareness/{event.id}/close", {"record": "y", "minutes": "45"})
    with app.app_context():
        assert len(list(db.session.scalars(select(Activity).where(Activity.kind == "awareness")))) == 1


def test_closing_without_recording_and_with_bad_minutes(app):
    event = new_event(app)
    c = signed_in(app, "volunteer1")
    resp = c.post_form(f"/awareness/{event.id}/close", {"minutes": "0"})
    assert resp.status_code == 302
    page = c.get(f"/awareness/{event.id}").get_data(as_text=True)
    assert "活動時間は1〜600分" in page
    with app.app_context():
        assert db.session.get(AwarenessEvent, event.id).is_open
    c.post_form(f"/awareness/{event.id}/close", {"minutes": "20"})         # box unticked
    with app.app_context():
        closed = db.session.get(AwarenessEvent, event.id)
        assert not closed.is_open and closed.activity_id is None
        assert db.session.scalar(select(Activity).where(Activity.kind == "awareness")) is None


def test_the_handout_holds_every_question_answer_explanation_and_where_to_consult(app):
    event = new_event(app, source="bank:support_scam")
    page = signed_in(app, "volunteer1").get(f"/awareness/{event.id}/handout").get_data(as_text=True)
    for n, q in enumerate(event.questions, 1):
        assert f"第{n}問" in page
        assert f"正解: {q['choices'][q['answer']]}" in page
        assert q["explanation"].splitlines()[0][:20] in page
        assert q["reference"] in page
    assert "#9110" in page and "188" in page and "awareness.js" in page


def test_the_projector_shows_the_answer_and_counts_only_when_asked(app):
    event = new_event(app)
    q = event.questions[0]
    take_part(app, event.code, [q["answer"]])
    c = signed_in(app, "volunteer1")
    start = c.get(f"/awareness/{event.id}/projector").get_data(as_text=True)
    assert event.code in start and "qr.svg" in start and "参加している人 <strong>1人</strong>" in start
    hidden = c.get(f"/awareness/{event.id}/projector?q=1").get_data(as_text=True)
    assert "正解:" not in hidden and "解説" not in hidden
    shown = c.get(f"/awareness/{event.id}/projector?q=1&show=1").get_data(as_text=True)
    assert "○ 正解:" in shown and "1人" in shown and "正答率 100%" in shown
    assert c.get(f"/awareness/{event.id}/projector?q=999&show=1").status_code == 200


# --- who may do what ------------------------------------------------------------------

def test_only_the_groups_runners_run_it_and_others_are_refused(app):
    event = new_event(app)
    # liaison1 is in charge of 桜丘 (division 202), not of みどり (101).
    liaison = signed_in(app, "liaison1")
    assert liaison.get(f"/awareness/{event.id}").status_code == 200
    resp = create(liaison, app, group=MIDORI)
    assert resp.status_code == 400 and "Not a valid choice" not in resp.get_data(as_text=True)
    # The committee reads the counts but neither runs nor closes.
    committee = signed_in(app, "committee1")
    assert committee.get(f"/awareness/{event.id}").status_code == 200
    assert committee.get(f"/awareness/{event.id}/projector").status_code == 403
    assert committee.post_form(f"/awareness/{event.id}/close", {"minutes": "5"}).status_code == 403
    assert signed_in(app, "candidate1").get(f"/awareness/{event.id}").status_code == 403
    with app.app_context():
        # An event of another group is refused to volunteer1, and the refusal is logged.
        other = AwarenessEvent(group_id=group_id(app, MIDORI), code="111111", title="t",
                               source_ref="bank:short_mix", questions_json=json.dumps(event.questions),
                               held_on=date(2026, 12, 1), minutes=10,
                               created_by=db.session.scalar(select(User.id).where(User.username == "liaison1")))
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    v = signed_in(app, "volunteer1")
    for url in (f"/awareness/{other_id}", f"/awareness/{other_id}/handout", f"/awareness/{other_id}/qr.svg",
                f"/awareness/{other_id}/projector"):
        assert v.get(url).status_code == 403, url
    assert v.post_form(f"/awareness/{other_id}/close", {"minutes": "5"}).status_code == 403
    assert "111111" not in v.get("/awareness/").get_data(as_text=True)
    with app.app_context():
        refusals = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "awareness_access_refused"))
        assert len(list(refusals)) == 5
        assert db.session.get(AwarenessEvent, other_id).is_open


def test_a_minor_without_a_guardians_consent_may_not_run_a_quiz(app):
    with app.app_context():
        minor = db.session.scalar(select(Member).where(Member.minor.is_(True),
                                                       Member.guardian_consent_on.is_(None)))
        user = User(username="minor1", display_name="青木 蓮")
        user.set_password("cbt-demo-2025")
        db.session.add(user)
        db.session.flush()
        from app.models import UserRole
        db.session.add(UserRole(user_id=user.id, role="volunteer"))
        minor.user_id = user.id
        db.session.commit()
    c = signed_in(app, "minor1")
    assert c.get("/awareness/new").status_code == 403
    assert c.post_form("/awareness/new", {"group_id": str(group_id(app, MIDORI)),
                                          "source": "bank:short_mix"}).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(AwarenessEvent)) is None


def test_public_pages_carry_no_personal_data_and_no_extra_cookie(app):
    event = new_event(app)
    p = Client(app)
    pages = [p.get("/q/"), p.get(f"/q/{event.code}")]
    p.post_form(f"/q/{event.code}")
    pages += [p.get(f"/q/{event.code}/1"), p.post_form(f"/q/{event.code}/1", {"choice": "0"}),
              p.get(f"/q/{event.code}/1"), p.get(f"/q/{event.code}/result")]
    with app.app_context():
        members = list(db.session.scalars(select(Member)))
        people = [m.name for m in members] + [m.email for m in members if m.email]
        people += [u.display_name for u in db.session.scalars(select(User))]
    for resp in pages:
        text = resp.get_data(as_text=True)
        assert not [name for name in people if name and name in text]
        assert "ログアウト" not in text
        cookies = [h for h in resp.headers.getlist("Set-Cookie")]
        assert all(h.startswith("session=") for h in cookies), cookies
    # The session holds the form token and the participant's random token, nothing else
    # (_fresh is Flask-Login's signed-out flag).
    with p.http.session_transaction() as s:
        assert set(s) <= {"csrf_token", "aw", "_fresh"} and not s.get("_fresh")
        assert list(s["aw"]) == [str(event.id)]
