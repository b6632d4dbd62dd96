"""The affiliation head's view: their own staff only (levels, training, notices, sessions to
encourage), never another affiliation's people."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, ExamSession, Notice, User, UserRole, utcnow
from tests.registertools import HEAD2_PASSWORD, add_pass, make_world, signed_in


def section(page: str, name: str) -> str:
    return page.split(f'id="{name}"')[1].split("</section>")[0]


def test_a_head_sees_their_own_staff_and_nobody_elses(app):
    w = make_world(app, head2_signs_in=True)
    add_pass(app, w.s1, "beginner", 2023)
    add_pass(app, w.s1, "intermediate", 2024)
    add_pass(app, w.s3, "beginner", 2024)
    one = signed_in(app, "head1").get("/head/").get_data(as_text=True)
    staff = section(one, "staff")
    assert "熱田 一郎" in staff and "瑞穂" in staff and "守山" not in staff and "R00003" not in staff
    row = staff.split("熱田 一郎")[1].split("</tr>")[0]
    assert row.count("合格") == 2 and "2024年度（令和6年度）" in row
    assert "1985" not in one                          # no date of birth on the head's page
    two = signed_in(app, "head2", HEAD2_PASSWORD).get("/head/").get_data(as_text=True)
    assert "守山 次郎" in section(two, "staff")
    assert "熱田" not in two and "瑞穂" not in two


def test_another_affiliations_person_and_notice_are_not_found(app):
    w = make_world(app, head2_signs_in=True)
    rec = add_pass(app, w.s1, "beginner")
    with app.app_context():
        db.session.add(Notice(pass_record_id=rec, affiliation_id=w.central, created_by=w.vicechair))
        db.session.commit()
        nid = db.session.scalar(select(Notice.id).where(Notice.pass_record_id == rec))
    head2 = signed_in(app, "head2", HEAD2_PASSWORD)
    assert head2.get(f"/head/staff/{w.s3}").status_code == 200
    assert head2.get(f"/head/staff/{w.s1}").status_code == 404
    assert head2.get("/head/staff/999999").status_code == 404
    assert head2.post_form(f"/head/notices/{nid}/read").status_code == 404
    with app.app_context():
        refused = [e.detail_json for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "head_access_refused"))]
        assert db.session.get(Notice, nid).read_at is None
    assert len(refused) == 3
    head1 = signed_in(app, "head1")
    detail = head1.get(f"/head/staff/{w.s1}")
    assert detail.status_code == 200 and "初級" in detail.get_data(as_text=True)
    assert head1.get(f"/head/staff/{w.s3}").status_code == 404


def test_sessions_ahead_list_who_may_sit_and_has_not_passed(app):
    w = make_world(app)
    add_pass(app, w.s1, "beginner", 2024)           # may sit intermediate, not beginner again
    with app.app_context():
        template = db.session.scalar(select(ExamSession).where(ExamSession.level == "intermediate"))
        now = utcnow()
        db.session.add(ExamSession(title="過去の中級", level="intermediate", fiscal_year=template.fiscal_year,
                                   opens_at=now - timedelta(days=10), closes_at=now - timedelta(days=1),
                                   duration_minutes=60, question_count=10, bank_version_id=template.bank_version_id))
        db.session.add(ExamSession(title="来月の初級", level="beginner", fiscal_year=template.fiscal_year,
                                   opens_at=now + timedelta(days=20), closes_at=now + timedelta(days=21),
                                   duration_minutes=60, question_count=10, bank_version_id=template.bank_version_id))
        db.session.commit()
    page = signed_in(app, "head1").get("/head/").get_data(as_text=True)
    upcoming = section(page, "upcoming")
    assert "過去の中級" not in upcoming and "来月の初級" in upcoming
    blocks = {b.split("</h3>")[0]: b for b in upcoming.split("<h3>")[1:]}
    beginner = blocks["来月の初級"]
    assert "瑞穂" in beginner and "熱田" not in beginner
    intermediate = next(b for title, b in blocks.items() if "中級" in title and "デモ" in title)
    assert "熱田 一郎" in intermediate and "瑞穂" not in intermediate      # needs beginner first (第3-4)
    assert "守山" not in upcoming


def test_a_head_with_no_affiliation_sees_nothing(app):
    make_world(app)
    with app.app_context():
        user = User(username="head3", display_name="未設定の長")
        user.set_password("head3-password")
        user.roles.append(UserRole(role="head"))
        db.session.add(user)
        db.session.commit()
    page = signed_in(app, "head3", "head3-password").get("/head/").get_data(as_text=True)
    assert "登録されている所属がありません" in page and "熱田" not in page
