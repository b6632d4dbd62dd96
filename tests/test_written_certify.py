"""Certifying results without a CBT sheet (第2-2, 第3-5-(3)): a written-only session's scores,
and, in a session with both parts, someone who never sat the computer part. Such a result is
certified on the written score (Certification.written_score_id) and, when it is a pass,
enters the register and notifies the head exactly as a CBT pass does."""
from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (AuditEvent, Certification, ExamSession, Notice, PassRecord, Registration,
                        Staff, User, UserRole, WrittenScore, utcnow)
from app.register.passes import levels_held
from tests.decisiontools import decision
from tests.registertools import add_pass, make_world, user_id
from tests.test_certify import certify
from tests.test_notices import mail_config, smtp  # noqa: F401  (the fixture)
from tests.test_review import (_row, _staff_id, login, person, right_first, session_id, set_format,
                               sit)


def written_id(app, staff_id) -> int:
    with app.app_context():
        return db.session.scalar(select(WrittenScore.id).where(WrittenScore.staff_id == staff_id))


def certified(app) -> dict[int, tuple]:
    """Per written score: (attempt id, passed) of its certification."""
    with app.app_context():
        return {c.written_score_id: (c.attempt_id, c.passed) for c in db.session.scalars(
            select(Certification).where(Certification.written_score_id.is_not(None)))}


def exam_passes(app) -> list[tuple]:
    with app.app_context():
        return sorted((r.staff.staff_number, r.level, r.attempt_id, r.written_score_id) for r in
                      db.session.scalars(select(PassRecord).where(PassRecord.source == "exam")))


def events(app, name) -> list[dict]:
    with app.app_context():
        return [json.loads(e.detail_json) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == name).order_by(AuditEvent.id))]


def register_world_staff(app, sid, *staff_ids):
    """Candidate accounts for the world's staff, registered for the session: the written
    import takes only the session's candidates."""
    with app.app_context():
        for staff_id in staff_ids:
            staff = db.session.get(Staff, staff_id)
            user = User(username=f"u{staff.staff_number}", display_name=staff.name_kanji, password_hash="!")
            user.roles.append(UserRole(role="candidate"))
            db.session.add(user)
            db.session.flush()
            staff.user_id = user.id
            db.session.add(Registration(session_id=sid, user_id=user.id))
        db.session.commit()


def certify_written(client, sid, written_ids):
    return client.post_form(f"/committee/review/sessions/{sid}/certify",
                            {"written": [str(i) for i in written_ids], "certify": "1",
                             **decision(client.app)})


def test_written_only_scores_from_the_form_are_certified_singly(app):
    sid = session_id(app, "intermediate")
    set_format(app, sid, "written", 100)
    passer = person(app, "candidate1", "D0001", register_in=sid)      # the demo's 愛知　太郎
    failer = person(app, "wf", "WF001", name="筆記 不足", register_in=sid)
    s_pass, s_fail = _staff_id(app, passer), _staff_id(app, failer)
    held_before = add_pass(app, s_pass, "beginner", 2024, source="npa")  # the prerequisite (第3-4)
    vc = login(app, "vicechair")
    resp = vc.post_form(f"/committee/review/sessions/{sid}/written",
                        {f"score-{s_pass}": "80", f"score-{s_fail}": "69"})
    assert resp.status_code == 302
    w_pass, w_fail = written_id(app, s_pass), written_id(app, s_fail)
    page = vc.get(f"/committee/review/sessions/{sid}").get_data(as_text=True)
    assert f'name="written" value="{w_pass}"' in _row(page, f"w{w_pass}")
    assert "未認定の合格答案: 1件" in page
    cand = login(app, "candidate1")
    assert "筆記試験の結果" not in cand.get("/exam/").get_data(as_text=True)   # not yet certified
    # Only the vice-chair and the chair certify: a committee member (and anyone else) is refused.
    for username in ("committee1", "head1", "secretariat1", "author1", "candidate1"):
        assert certify_written(login(app, username), sid, [w_pass]).status_code == 403
    assert certified(app) == {} and exam_passes(app) == []
    resp = certify_written(vc, sid, [w_pass, w_fail])
    assert "2件を認定しました（合格1件、不合格1件）" in vc.get(resp.location).get_data(as_text=True)
    assert certified(app) == {w_pass: (None, True), w_fail: (None, False)}    # 69%: not a pass
    with app.app_context():
        staff = db.session.get(Staff, s_pass)
        [record] = db.session.scalars(select(PassRecord).where(PassRecord.source == "exam")).all()
        session = db.session.get(ExamSession, sid)
        assert (record.staff_id, record.level, record.fiscal_year) == (s_pass, "intermediate", session.fiscal_year)
        assert (record.attempt_id, record.written_score_id) == (None, w_pass)
        assert (record.affiliation_at_pass_id, record.post_at_pass, record.recorded_by) == \
            (staff.affiliation_id, staff.post, user_id("vicechair"))
        # The lower level stays as it was held; the person now holds both.
        assert levels_held(s_pass) == {"beginner", "intermediate"}
        assert db.session.get(PassRecord, held_before).source == "npa"
        [notice] = db.session.scalars(select(Notice)).all()
        assert (notice.pass_record_id, notice.affiliation_id) == (record.id, staff.affiliation_id)
    audited = {e["written_score_id"]: e for e in events(app, "sheet_certified")}
    assert audited[w_pass]["attempt_id"] is None and audited[w_pass]["passed"] is True
    assert audited[w_pass]["written"] == [80, 100] and audited[w_pass]["pass_record_id"] == record.id
    assert audited[w_fail]["passed"] is False and audited[w_fail]["pass_record_id"] is None
    # The review page, the register and the candidate's own page show it.
    page = vc.get(f"/committee/review/sessions/{sid}").get_data(as_text=True)
    assert "認定済み（合格）" in _row(page, f"w{w_pass}") and "認定済み（不合格）" in _row(page, f"w{w_fail}")
    assert 'name="written" value' not in page
    register = vc.get("/committee/register/export.csv?level=intermediate").get_data(as_text=True)
    assert staff.staff_number in register and "本県の検定" in register
    home = cand.get("/exam/").get_data(as_text=True)
    assert "筆記試験の結果" in home and "筆記試験 80/100点（80%）" in home and "合格" in home


def test_written_only_csv_import_then_bulk_certify_notifies_each_head(app, smtp):  # noqa: F811
    w = make_world(app)
    mail_config(app, smtp.port)
    sid = session_id(app)
    set_format(app, sid, "written", 50)
    register_world_staff(app, sid, w.s1, w.s2, w.s3)
    chair = login(app, "chair")
    csv = "staff_number,score\nR00001,35\nR00002,34\nR00003,50\n".encode("utf-8")
    resp = chair.post_form(f"/committee/review/sessions/{sid}/written/import",
                           {"file": (io.BytesIO(csv), "w.csv")})
    assert resp.status_code == 302
    ids = {s: written_id(app, s) for s in (w.s1, w.s2, w.s3)}
    assert "未認定の合格答案: 2件" in chair.get(f"/committee/review/sessions/{sid}").get_data(as_text=True)
    assert certify(chair, sid, all_passing=True).status_code == 302
    assert certified(app) == {ids[w.s1]: (None, True), ids[w.s3]: (None, True)}     # 34/50 fails
    assert exam_passes(app) == [("R00001", "beginner", None, ids[w.s1]),
                                ("R00003", "beginner", None, ids[w.s3])]
    with app.app_context():
        notified = sorted(n.affiliation_id for n in db.session.scalars(select(Notice)))
        assert notified == sorted([w.central, w.north])
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["head1@example.jp", "head2@example.jp"]
    # Again, in bulk or singly: nothing changes and nobody is notified twice.
    assert certify(login(app, "vicechair"), sid, all_passing=True).status_code == 302
    resp = certify_written(chair, sid, [ids[w.s1]])
    assert "認定済みの1件はそのままです" in chair.get(resp.location).get_data(as_text=True)
    assert len(smtp.messages) == 2 and len(certified(app)) == 2
    # The failing score is certified when chosen; another session's score is refused.
    certify_written(chair, sid, [ids[w.s2]])
    assert certified(app)[ids[w.s2]] == (None, False) and len(exam_passes(app)) == 2
    index = chair.get("/committee/review/").get_data(as_text=True)
    line = re.search(rf'sessions/{sid}">.*?</tr>', index, re.S).group(0)
    assert re.findall(r"<td>(\d+)</td>", line)[-3:] == ["0", "3", "3"]    # sheets, written, certified
    other = session_id(app, "intermediate")
    resp = certify_written(chair, other, [ids[w.s1]])
    assert "この実施回の答案ではない" in chair.get(resp.location).get_data(as_text=True)


def _close(app, sid):
    with app.app_context():
        s = db.session.get(ExamSession, sid)
        s.opens_at, s.closes_at = utcnow() - timedelta(days=2), utcnow() - timedelta(days=1)
        db.session.commit()


def test_both_parts_without_a_cbt_sheet_fails_once_the_window_closes(app):
    sid = session_id(app)
    set_format(app, sid, "both", 100)
    absent = person(app, "candidate2", "D0002", register_in=sid)           # 尾張　花子, no sheet
    sat = person(app, "bs", "BS001", register_in=sid)
    aid = sit(app, sid, sat, right_first(32))                                 # CBT 80%
    vc = login(app, "vicechair")
    vc.post_form(f"/committee/review/sessions/{sid}/written",
                 {f"score-{_staff_id(app, absent)}": "90", f"score-{_staff_id(app, sat)}": "80"})
    w_absent = written_id(app, _staff_id(app, absent))
    # While the window is open the computer part may still come: undecided, not certifiable.
    page = vc.get(f"/committee/review/sessions/{sid}").get_data(as_text=True)
    assert "CBT答案なし" in _row(page, f"w{w_absent}") and 'name="written"' not in page
    resp = certify_written(vc, sid, [w_absent])
    assert "結果が確定していません（電子計算機試験の答案がありません）" in vc.get(resp.location).get_data(as_text=True)
    assert certified(app) == {}
    _close(app, sid)
    page = vc.get(f"/committee/review/sessions/{sid}").get_data(as_text=True)
    row = _row(page, f"w{w_absent}")
    assert "不合格" in row and "CBT未受検" in row and f'name="written" value="{w_absent}"' in row
    # Bulk certification takes passes only; the absent candidate is certified when chosen.
    certify(vc, sid, all_passing=True)
    assert certified(app) == {}
    with app.app_context():
        assert db.session.scalar(select(Certification.attempt_id)) == aid
    certify_written(vc, sid, [w_absent])
    assert certified(app) == {w_absent: (None, False)}
    assert [r[0] for r in exam_passes(app)] == ["BS001"]                      # no pass for 90% alone
    assert events(app, "sheet_certified")[-1]["cbt_absent"] is True
    home = login(app, "candidate2").get("/exam/").get_data(as_text=True)
    assert "筆記試験 90/100点（90%）" in home and "不合格" in home and "電子計算機による試験は未受検" in home


def test_a_certification_names_exactly_one_origin(app):
    sid = session_id(app)
    set_format(app, sid, "both", 100)
    uid = person(app, "one", "ONE01", register_in=sid)
    aid = sit(app, sid, uid, right_first(30))
    login(app, "chair").post_form(f"/committee/review/sessions/{sid}/written",
                                  {f"score-{_staff_id(app, uid)}": "75"})
    wid = written_id(app, _staff_id(app, uid))
    with app.app_context():
        by = user_id("chair")
        for attempt_id, written_score_id in ((None, None), (aid, wid)):
            with pytest.raises(IntegrityError):
                with db.session.begin_nested():
                    db.session.add(Certification(attempt_id=attempt_id, written_score_id=written_score_id,
                                                 passed=True, certified_by=by))
        assert db.session.scalar(select(func.count()).select_from(Certification)) == 0
