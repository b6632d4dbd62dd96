"""Who may sit (第3-2, 第3-4, 第3-7): the register read at registration and at start."""
from datetime import date

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (Admission, ExamSession, PassRecord, SessionDetail, Staff, User, UserRole,
                        utcnow)
from app.sessions.eligibility import held_from, refusals_for, staff_refusals, start_refusals

_numbers = iter(range(1000, 100000))


def person(category="警察官", username=None):
    """A user with the candidate role and their staff record (no password: never signs in)."""
    n = next(_numbers)
    user = User(username=username or f"elig{n}", display_name=f"受検 {n}", password_hash="!")
    user.roles.append(UserRole(role="candidate"))
    db.session.add(user)
    db.session.flush()
    staff = Staff(staff_number=f"E{n}", name_kanji=f"受検 {n}", name_kana=f"じゅけん {n}",
                  birth_date=date(1990, 1, 1), post="巡査", employment_category=category, user_id=user.id)
    db.session.add(staff)
    db.session.flush()
    return user, staff


def passed(staff, level, source="exam", recorder=None):
    recorder = recorder or db.session.scalar(select(User.id).where(User.username == "vicechair"))
    db.session.add(PassRecord(staff_id=staff.id, level=level, fiscal_year=2024, source=source,
                              recorded_by=recorder))
    db.session.flush()


def admit(staff, revoked=False):
    chair = db.session.scalar(select(User.id).where(User.username == "chair"))
    db.session.add(Admission(staff_id=staff.id, reason="ボランティア活動に必要", admitted_by=chair,
                             revoked_at=utcnow() if revoked else None))
    db.session.flush()


def demo_session(level):
    return db.session.scalar(select(ExamSession).where(ExamSession.level == level))


def test_levels_held_counts_special_passes_downward():
    assert held_from([]) == set()
    assert held_from([("beginner", "exam")]) == {"beginner"}
    # 第3-7 なお書: a special pass deems the levels below it passed.
    assert held_from([("intermediate", "npa")]) == {"beginner", "intermediate"}
    assert held_from([("advanced", "other_prefecture")]) == {"beginner", "intermediate", "advanced"}
    assert held_from([("advanced", "designation")]) >= {"intermediate"}
    assert held_from([("intermediate", "imperial_guard")]) == {"beginner", "intermediate"}
    # Only special passes imply lower levels; an exam pass is that level only.
    assert held_from([("intermediate", "exam")]) == {"intermediate"}


def test_user_without_staff_record_is_refused(app):
    with app.app_context():
        user = User(username="nostaff", display_name="記録なし", password_hash="!")
        user.roles.append(UserRole(role="candidate"))
        db.session.add(user)
        db.session.flush()
        reasons = start_refusals(demo_session("beginner"), user)
        assert reasons == ["職員情報が登録されていません。庶務にお問い合わせください。"]


def test_staff_may_sit_beginner(app):
    with app.app_context():
        user, _staff = person("警察官")
        assert start_refusals(demo_session("beginner"), user) == []
        user, _staff = person("一般職員")
        assert start_refusals(demo_session("beginner"), user) == []


@pytest.mark.parametrize("category", ["一般職非常勤職員", "臨時的任用職員", "任期付採用職員", "臨時補助職員"])
def test_excluded_categories_need_an_admission_in_force(app, category):
    with app.app_context():
        user, staff = person(category)
        session = demo_session("beginner")
        reasons = start_refusals(session, user)
        assert len(reasons) == 1 and category in reasons[0] and "第3-2" in reasons[0]
        admit(staff, revoked=True)              # a revoked admission counts for nothing
        assert start_refusals(session, user) == reasons
        admit(staff)
        assert start_refusals(session, user) == []


def test_non_staff_need_the_chairs_admission(app):
    with app.app_context():
        user, staff = person("職員以外")
        session = demo_session("beginner")
        assert "委員長の許可" in start_refusals(session, user)[0]
        admit(staff)
        assert start_refusals(session, user) == []


def test_intermediate_needs_a_beginner_pass_at_start(app):
    with app.app_context():
        session = demo_session("intermediate")
        user, staff = person()
        assert start_refusals(session, user) == ["中級の受検には初級の合格が必要です（第3-4）。"]
        passed(staff, "beginner")
        assert start_refusals(session, user) == []
        # The pass is read at that moment: one removed since registration counts no more.
        db.session.execute(db.delete(PassRecord).where(PassRecord.staff_id == staff.id))
        assert start_refusals(session, user) != []


def test_special_pass_counts_with_or_without_its_deemed_rows(app):
    with app.app_context():
        session = demo_session("intermediate")
        user, staff = person()
        passed(staff, "intermediate", "npa")          # no deemed beginner row yet
        assert start_refusals(session, user) == []
        user2, staff2 = person()
        passed(staff2, "intermediate", "npa")
        passed(staff2, "beginner", "deemed")
        assert start_refusals(session, user2) == []
        # A former-exam or deemed beginner pass is a pass like any other.
        user3, staff3 = person()
        passed(staff3, "beginner", "former_exam")
        assert start_refusals(session, user3) == []


def test_reasons_add_up(app):
    with app.app_context():
        user, _staff = person("臨時補助職員")
        reasons = start_refusals(demo_session("intermediate"), user)
        assert len(reasons) == 2
        assert "臨時補助職員" in reasons[0] and "初級の合格が必要" in reasons[1]


def test_written_only_session_cannot_be_started(app):
    with app.app_context():
        session = demo_session("beginner")
        user, _staff = person()
        db.session.add(SessionDetail(session_id=session.id, format="written", written_max=100))
        db.session.flush()
        assert start_refusals(session, user) == ["この実施回は筆記試験のみです。電子計算機による試験はありません。"]
        db.session.get(SessionDetail, session.id).format = "both"
        db.session.flush()
        assert start_refusals(session, user) == []


def test_batch_agrees_with_one_by_one(app):
    with app.app_context():
        people = []
        for category in ("警察官", "臨時的任用職員", "職員以外", "一般職員"):
            people.append(person(category)[1])
        passed(people[0], "beginner")
        passed(people[3], "intermediate", "other_prefecture")
        admit(people[2])
        for level in ("beginner", "intermediate", "advanced"):
            batch = refusals_for(level, people)
            assert batch == {p.id: staff_refusals(level, p) for p in people}
        assert refusals_for("intermediate", people)[people[0].id] == []
        assert refusals_for("intermediate", people)[people[3].id] == []
        assert refusals_for("advanced", people)[people[3].id] == []
        assert refusals_for("beginner", []) == {}


def test_demo_candidates_may_start_the_demo_beginner_session(app):
    """The demo's candidates have staff records (警察官/一般職員), so the start check lets
    them sit the beginner session the demo registers them for."""
    with app.app_context():
        session = demo_session("beginner")
        for username in ("candidate1", "candidate2", "candidate3"):
            user = db.session.scalar(select(User).where(User.username == username))
            assert start_refusals(session, user) == [], username
