"""Appointments (第2-3, 第2-4(2)): one chair and one vice-chair at a time, committee members
nominated by the chair or vice-chair, authors by the vice-chair from 情報技術戦略課, the
secretariat granting none of these, and every appointment and its end on record."""
from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from app import create_app
from app.cli.base import main
from app.db import schema
from app.extensions import db
from app.models import Appointment, AuditEvent, User, UserRole
from tests.conftest import Client


def signed_in(app, username):
    c = Client(app)
    assert c.login(username).status_code == 302
    c.get("/admin/appointments")
    return c


def user(app, username) -> User:
    with app.app_context():
        u = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge(u)
        return u


def roles(app, username) -> set[str]:
    with app.app_context():
        return db.session.scalar(select(User).where(User.username == username)).role_set


def holders(app, role) -> list[str]:
    with app.app_context():
        return [a.user.username for a in db.session.scalars(
            select(Appointment).where(Appointment.role == role, Appointment.ended_at.is_(None)))]


def events(app, name) -> list[dict]:
    with app.app_context():
        return [{**json.loads(e.detail_json), "_user": e.user_id} for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == name).order_by(AuditEvent.id))]


def appoint(client, who, role, **extra):
    return client.post_form("/admin/appointments", {"user": who, "role": role, **extra})


def test_the_secretariat_cannot_make_a_second_chair_or_a_member_alone(app):
    sec = signed_in(app, "secretariat1")
    page = sec.get("/admin/appointments").get_data(as_text=True)
    assert "情報技術戦略課長（副委員長）" in page            # the secretariat reads the record
    assert 'name="role"' not in page                        # and is offered no appointment
    for role in ("chair", "committee", "author", "vice_chair"):
        resp = appoint(sec, "candidate3", role)
        assert resp.status_code == 400 and "任命・指名は" in resp.get_data(as_text=True)
    assert holders(app, "chair") == ["chair"] and "candidate3" not in holders(app, "committee")
    assert roles(app, "candidate3") == {"candidate"}
    refused = events(app, "appointment_refused")
    assert [e["role"] for e in refused] == ["chair", "committee", "author", "vice_chair"]
    assert {e["_user"] for e in refused} == {user(app, "secretariat1").id}
    # Nor through the account form, where the roles once were checkboxes.
    cand3 = user(app, "candidate3").id
    form = sec.get(f"/admin/users/{cand3}").get_data(as_text=True)
    assert 'value="chair"' not in form and 'value="committee"' not in form and "任命の記録" in form
    resp = sec.post_form(f"/admin/users/{cand3}", {"roles": ["candidate", "chair"], "active": "y"})
    assert "「委員長」は任命・指名によってのみ付与されます" in resp.get_data(as_text=True)
    assert roles(app, "candidate3") == {"candidate"} and holders(app, "chair") == ["chair"]
    assert events(app, "appointment_refused")[-1]["via"] == "account_form"
    # Saving the form keeps the appointed roles it does not show.
    vc = user(app, "vicechair").id
    assert sec.post_form(f"/admin/users/{vc}", {"roles": ["candidate"], "active": "y"}).status_code == 302
    assert roles(app, "vicechair") == {"vice_chair", "committee", "candidate"}


def test_the_chair_nominates_a_member_on_record(app):
    chair = signed_in(app, "chair")
    resp = appoint(chair, "candidate3", "committee", note="令和8年度第1回委員会で指名")
    assert resp.status_code == 302
    assert "candidate3" in holders(app, "committee") and "committee" in roles(app, "candidate3")
    with app.app_context():
        a = db.session.scalar(select(Appointment).join(User, User.id == Appointment.user_id)
                              .where(User.username == "candidate3"))
        assert (a.role, a.appointed_by, a.ended_at, a.note) == \
            ("committee", user(app, "chair").id, None, "令和8年度第1回委員会で指名")
        assert a.started_on is not None and a.appointed_at is not None
    [made] = [e for e in events(app, "appointment_made") if e["username"] == "candidate3"]
    assert made["role"] == "committee" and made["_user"] == user(app, "chair").id
    page = chair.get(resp.location).get_data(as_text=True)
    row = re.search(r'<tr data-appointment="%d">(.*?)</tr>' % a.id, page, re.S).group(1)
    assert "委員" in row and "三河 次郎（受検者）（candidate3）" in row and "サイバー局長（委員長）" in row
    # A member reads the page; the new member can now open the committee's review.
    member = signed_in(app, "candidate3")
    assert member.get("/committee/review/").status_code == 200
    assert member.get("/admin/appointments").status_code == 200
    # Twice is refused; nobody nominates themself.
    assert "既に委員です" in appoint(chair, "candidate3", "committee").get_data(as_text=True)
    assert "自分自身を任命" in appoint(chair, "chair", "committee").get_data(as_text=True)


def test_authors_come_from_it_strategy_by_the_vice_chair(app):
    vc = signed_in(app, "vicechair")
    # candidate1 is staff of 中央警察署: refused, and the refusal is on record.
    resp = appoint(vc, "candidate1", "author")
    assert resp.status_code == 400
    assert "問題作成者は生活安全部情報技術戦略課の職員から指名します" in resp.get_data(as_text=True)
    assert "author" not in roles(app, "candidate1")
    assert events(app, "appointment_refused")[-1]["reason_code"] == "not_it_strategy_staff"
    # The chair does not nominate authors (第2-4(2): the vice-chair does).
    chair = signed_in(app, "chair")
    assert "副委員長が行います" in appoint(chair, "candidate2", "author").get_data(as_text=True)
    # candidate2 is staff of 201 生活安全部情報技術戦略課 (the demo), found by staff number too.
    assert appoint(vc, "100002", "author").status_code == 302
    assert "author" in roles(app, "candidate2") and "candidate2" in holders(app, "author")
    # Moved out of the division (or never in it, as the demo's author1): the page says so.
    page = vc.get("/admin/appointments").get_data(as_text=True)
    authors = page.split('id="current-authors"')[1].split("</table>")[0]
    rows = dict(re.findall(r'<tr data-appointment="\d+">.*?（(\w+)）</td>(.*?)</tr>', authors, re.S))
    assert "要確認" not in rows["candidate2"] and "要確認: 生活安全部情報技術戦略課の職員ではありません" in rows["author1"]


def test_ending_an_appointment_removes_the_role_and_keeps_the_record(app):
    chair = signed_in(app, "chair")
    with app.app_context():
        a_id = db.session.scalar(select(Appointment.id).join(User, User.id == Appointment.user_id)
                                 .where(User.username == "committee1", Appointment.role == "committee"))
    sec = signed_in(app, "secretariat1")
    sec.post_form(f"/admin/appointments/{a_id}/end", {"reason": "異動"})
    assert "committee" in roles(app, "committee1")                       # the secretariat cannot
    assert events(app, "appointment_refused")[-1]["action"] == "end"
    resp = chair.post_form(f"/admin/appointments/{a_id}/end", {"reason": ""})
    assert "終了の理由を入力してください" in chair.get(resp.location).get_data(as_text=True)
    resp = chair.post_form(f"/admin/appointments/{a_id}/end", {"reason": "人事異動（警察庁へ出向）"})
    assert resp.status_code == 302
    assert roles(app, "committee1") == set()
    assert signed_in(app, "committee1").get("/committee/review/").status_code == 403
    with app.app_context():
        a = db.session.get(Appointment, a_id)
        assert (a.end_reason, a.ended_by) == ("人事異動（警察庁へ出向）", user(app, "chair").id)
        assert a.ended_on is not None and a.ended_at is not None
    page = chair.get("/admin/appointments").get_data(as_text=True)
    past = page.split('id="past-appointments"')[1]
    assert "検定 委員（委員）（committee1）" in past and "人事異動（警察庁へ出向）" in past
    assert events(app, "appointment_ended")[-1]["appointment_id"] == a_id


def test_a_new_post_holder_ends_the_previous_one(app):
    vc = signed_in(app, "vicechair")
    resp = appoint(vc, "candidate3", "chair", note="令和8年4月1日付け人事異動")
    assert resp.status_code == 302
    assert holders(app, "chair") == ["candidate3"]
    assert "chair" not in roles(app, "chair") and "chair" in roles(app, "candidate3")
    with app.app_context():
        old = db.session.scalar(select(Appointment).join(User, User.id == Appointment.user_id)
                                .where(User.username == "chair", Appointment.role == "chair"))
        assert old.end_reason == "後任の任命による交代" and old.ended_by == user(app, "vicechair").id
        # The database keeps one current holder whatever the code does.
        db.session.add(Appointment(user_id=user(app, "head1").id, role="chair",
                                   started_on=old.started_on))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_a_future_or_bad_date_is_refused(app):
    chair = signed_in(app, "chair")
    body = appoint(chair, "candidate3", "committee", started_on="2999-04-01").get_data(as_text=True)
    assert "未来の日付は指定できません" in body
    body = appoint(chair, "candidate3", "committee", started_on="4月1日").get_data(as_text=True)
    assert "日付を正しく入力してください" in body
    assert "candidate3" not in holders(app, "committee")


def test_the_command_line_records_an_empty_post_only(app, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    monkeypatch.setenv("CBT_INSTANCE", app.instance_path)
    held = CliRunner().invoke(main, ["appointments", "record", "candidate3", "chair"])
    assert held.exit_code == 1 and "is held by chair" in held.output
    with app.app_context():
        for a in db.session.scalars(select(Appointment).where(Appointment.role == "vice_chair")):
            db.session.delete(a)
        db.session.execute(text("DELETE FROM user_roles WHERE role = 'vice_chair'"))
        db.session.commit()
    done = CliRunner().invoke(main, ["appointments", "record", "candidate3", "vice_chair"])
    assert done.exit_code == 0, done.output
    assert holders(app, "vice_chair") == ["candidate3"] and "vice_chair" in roles(app, "candidate3")


def test_the_migration_takes_over_roles_held_before(fresh_db_url, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": fresh_db_url, "SECRET_KEY": "t"},
                     instance_path=str(tmp_path / "instance"))
    with app.app_context():
        schema.upgrade("0007")
        for uid, name, role in ((1, "a", "chair"), (2, "b", "chair"), (3, "c", "committee"),
                                (4, "d", "secretariat")):
            db.session.execute(text(
                "INSERT INTO users (id, username, password_hash, display_name, active, created_at, session_epoch) "
                f"VALUES ({uid}, '{name}', 'x', '{name}', true, '2025-04-01 00:00:00', 0)"))
            db.session.execute(text(f"INSERT INTO user_roles (user_id, role) VALUES ({uid}, '{role}')"))
        db.session.commit()
        schema.upgrade()
        rows = db.session.execute(text(
            "SELECT user_id, role, appointed_by, ended_at IS NULL, end_reason FROM appointments "
            "ORDER BY user_id")).all()
        assert [tuple(r[:4]) for r in rows] == [(1, "chair", None, True), (2, "chair", None, False),
                                                 (3, "committee", None, True)]
        assert "複数" in rows[1][4]
        assert set(db.session.scalars(select(UserRole.role).where(UserRole.user_id == 2))) == set()
        assert set(db.session.scalars(select(UserRole.role).where(UserRole.user_id == 1))) == {"chair"}
        db.session.remove()
        db.engine.dispose()
