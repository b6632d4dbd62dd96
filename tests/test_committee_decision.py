"""The committee certifies (第2-2): a certification is recorded as the committee's decision,
with the date of the meeting (or the written procedure) and the members who took part;
certifications made before decisions were recorded stay valid and still show."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from app.extensions import db
from app.models import (Appointment, AuditEvent, Certification, CommitteeDecision, DecisionMember,
                        User, utcnow)
from tests.decisiontools import decision
from tests.test_review import _row, affiliation, login, person, right_first, session_id, sit


def uid(app, username) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def sheets(app, *people):
    sid = session_id(app)
    aff = affiliation(app, "T01", "試験警察署")
    out = []
    for username, number, right in people:
        user = person(app, username, number, affiliation_id=aff, register_in=sid)
        out.append(sit(app, sid, user, right_first(right)))
    return sid, out


def certify(client, sid, attempts, **fields):
    return client.post_form(f"/committee/review/sessions/{sid}/certify",
                            {"attempt": [str(a) for a in attempts], "certify": "1", **fields})


def decisions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CommitteeDecision))


def test_a_certification_carries_its_meeting_and_members(app):
    sid, (a_pass, a_fail) = sheets(app, ("candidate1", "D0001", 30), ("candidate2", "D0002", 20))
    vc = login(app, "vicechair")
    form = vc.get(f"/committee/review/sessions/{sid}").get_data(as_text=True)
    # The members to choose from: the committee of the day, each once with the highest seat.
    members = form.split('id="decision-members"')[1].split("</fieldset>")[0]
    assert "サイバー局長（委員長）（委員長）" in members and "情報技術戦略課長（副委員長）（副委員長）" in members
    assert "検定 委員（委員）（委員）" in members and "candidate" not in members
    fields = decision(app, members=("chair", "vicechair", "committee1"), procedure="written")
    resp = certify(vc, sid, [a_pass, a_fail], **fields)
    assert resp.status_code == 302
    page = vc.get(resp.location).get_data(as_text=True)
    assert "2件を認定しました" in page and "書面、委員3人）として記録しました" in page
    with app.app_context():
        [d] = db.session.scalars(select(CommitteeDecision)).all()
        assert (d.session_id, d.procedure, d.held_on.isoformat(), d.recorded_by) == \
            (sid, "written", fields["held_on"], uid(app, "vicechair"))
        assert {(m.user_id, m.role) for m in d.members} == {
            (uid(app, "chair"), "chair"), (uid(app, "vicechair"), "vice_chair"),
            (uid(app, "committee1"), "committee")}
        assert {c.decision_id for c in db.session.scalars(select(Certification))} == {d.id}
        [ev] = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "committee_decision_recorded"))
        detail = json.loads(ev.detail_json)
        assert detail["decision_id"] == d.id and len(detail["certification_ids"]) == 2
        assert sorted(detail["member_ids"]) == sorted(int(i) for i in fields["member"])
        certified = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "sheet_certified"))
        assert {json.loads(e.detail_json)["decision_id"] for e in certified} == {d.id}
    # The session's review page and the sheet show the decision and who took part.
    listing = page.split('id="decisions"')[1].split("</section>")[0]
    assert "書面" in listing and "2件" in listing
    assert "サイバー局長（委員長）、情報技術戦略課長（副委員長）、検定 委員（委員）" in listing
    assert "書面" in _row(page, f"a{a_pass}")
    sheet = login(app, "committee1").get(f"/committee/review/sessions/{sid}/sheets/{a_pass}")
    text = sheet.get_data(as_text=True)
    assert "委員会の決定:" in text and "（書面）、参加した委員: サイバー局長（委員長）" in text


def test_a_decision_needs_its_date_and_members_of_the_committee(app):
    sid, (a_pass,) = sheets(app, ("candidate1", "D0001", 30))
    chair = login(app, "chair")
    chair.get(f"/committee/review/sessions/{sid}")
    good = decision(app, members=("chair", "vicechair"))
    tries = [
        ({**good, "held_on": ""}, "日付を入力してください"),
        ({**good, "held_on": "2999-01-01"}, "未来の日付は指定できません"),
        ({**good, "held_on": "12月1日"}, "日付を正しく入力してください"),
        ({**good, "held_on": "2020-04-01"}, "実施回の開始日"),
        ({**good, "member": good["member"][:1]}, "2人以上選んでください"),
        ({**good, "member": good["member"] + [str(uid(app, "candidate2"))]}, "構成員（委員長・副委員長・委員）ではない人"),
        ({**good, "procedure": "phone"}, "決定の方法（会議又は書面）を選んでください"),
    ]
    for fields, message in tries:
        resp = certify(chair, sid, [a_pass], **fields)
        assert resp.status_code == 302
        assert message in chair.get(resp.location).get_data(as_text=True), message
    assert decisions(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Certification)) == 0
    # A member whose appointment has ended no longer takes part.
    with app.app_context():
        a = db.session.scalar(select(Appointment).where(Appointment.user_id == uid(app, "committee1")))
        a.ended_on, a.ended_at, a.end_reason = a.started_on, utcnow(), "任期満了"
        db.session.commit()
    resp = certify(chair, sid, [a_pass], **decision(app, members=("chair", "committee1")))
    assert "構成員（委員長・副委員長・委員）ではない人" in chair.get(resp.location).get_data(as_text=True)
    # Certifying nothing new stores no decision.
    assert certify(chair, sid, [a_pass], **good).status_code == 302
    assert decisions(app) == 1
    resp = certify(chair, sid, [a_pass], **decision(app, members=("chair", "vicechair"), procedure="written"))
    assert "認定済みの1件はそのままです" in chair.get(resp.location).get_data(as_text=True)
    assert decisions(app) == 1


def test_certifications_from_before_decisions_still_show(app):
    sid, (a_old, a_new) = sheets(app, ("candidate1", "D0001", 30), ("candidate2", "D0002", 32))
    with app.app_context():
        # As every certification was before: the vice-chair's alone.
        db.session.add(Certification(attempt_id=a_old, passed=True, certified_by=uid(app, "vicechair")))
        db.session.commit()
    vc = login(app, "vicechair")
    resp = certify(vc, sid, [a_new], **decision(app))
    page = vc.get(resp.location).get_data(as_text=True)
    assert "認定済み（合格）" in _row(page, f"a{a_old}")
    assert "委員会の決定の記録なし" in _row(page, f"a{a_old}") and "会議" in _row(page, f"a{a_new}")
    assert "委員会の決定の記録の開始前の認定: 1件" in page
    text = vc.get(f"/committee/review/sessions/{sid}/sheets/{a_old}").get_data(as_text=True)
    assert "認定済み（合格" in text and "委員会の決定の記録なし" in text
    lines = vc.get(f"/committee/review/sessions/{sid}/export.csv").get_data().decode("utf-8-sig").splitlines()
    column = lines[0].split(",").index("委員会の決定")
    assert {line.split(",")[column] for line in lines[1:]} == {
        "記録なし", f"{decision(app)['held_on']} 会議（サイバー局長（委員長）、情報技術戦略課長（副委員長））"}
    # The candidate's result is shown as before.
    home = login(app, "candidate1").get("/exam/").get_data(as_text=True)
    assert "30/40問正解" in home
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DecisionMember)) == 2
