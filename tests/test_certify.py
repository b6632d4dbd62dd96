"""Certification (第2-2): who may certify, what it records, and what candidates then see."""
from __future__ import annotations

import json
import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import Attempt, AuditEvent, Certification, Notice, PassRecord, Staff, User
from tests.decisiontools import decision
from tests.test_review import (_row, _staff_id, affiliation, form_ids, login, person, right_first,
                               session_id, set_format, sit)


def certify(client, sid, attempts=(), all_passing=False):
    data = {"attempt": [str(a) for a in attempts], **decision(client.app)}
    if all_passing:
        data["all_passing"] = "1"
    else:
        data["certify"] = "1"
    return client.post_form(f"/committee/review/sessions/{sid}/certify", data)


def counts(app):
    """Certifications, and pass records made by certifying (the demo holds a former-exam one)."""
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Certification)),
                db.session.scalar(select(func.count()).select_from(PassRecord)
                                  .where(PassRecord.source == "exam")))


def test_certification_records_passes_and_only_then_shows_the_result(app):
    sid = session_id(app)
    aff = affiliation(app, "T01", "試験警察署")
    # The demo candidates (they can sign in); their staff records come from the demo if it
    # has them, else from person().
    passer = person(app, "candidate1", "D0001", affiliation_id=aff, register_in=sid)
    failer = person(app, "candidate2", "D0002", affiliation_id=aff, register_in=sid)
    a_pass, a_fail = sit(app, sid, passer, right_first(30)), sit(app, sid, failer, right_first(20))
    cand = login(app, "candidate1")
    for url in ("/exam/", f"/exam/attempts/{a_pass}/done"):
        html = cand.get(url).get_data(as_text=True)
        assert "委員会の認定" in html and "certified-result" not in html and "30/40" not in html
    # Committee members and everyone else without the vice-chair's or chair's role: refused.
    for username in ("committee1", "head1", "secretariat1", "author1", "candidate1"):
        assert certify(login(app, username), sid, [a_pass]).status_code == 403
    assert counts(app) == (0, 0)
    vc = login(app, "vicechair")
    resp = certify(vc, sid, [a_pass, a_fail])
    assert resp.status_code == 302
    flashes = vc.get(resp.location).get_data(as_text=True)
    assert "2件を認定しました（合格1件、不合格1件）" in flashes
    with app.app_context():
        certs = {c.attempt_id: c for c in db.session.scalars(select(Certification))}
        vc_id = db.session.scalar(select(User.id).where(User.username == "vicechair"))
        assert certs[a_pass].passed is True and certs[a_fail].passed is False
        assert certs[a_pass].certified_by == vc_id
        records = db.session.scalars(select(PassRecord)).all()
        assert len(records) == 1                                   # only for the pass
        r = records[0]
        staff = db.session.get(Staff, r.staff_id)
        session = db.session.get(Attempt, a_pass).session
        assert (staff.user_id, r.level, r.fiscal_year, r.source, r.attempt_id) == \
            (passer, "beginner", session.fiscal_year, "exam", a_pass)
        assert (r.affiliation_at_pass_id, r.post_at_pass, r.recorded_by) == \
            (staff.affiliation_id, staff.post, vc_id)
        # The head of the passer's affiliation is notified (app.notices), once.
        assert [n.pass_record_id for n in db.session.scalars(select(Notice))] == [r.id]
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "sheet_certified")).all()
        assert sorted(json.loads(e.detail_json)["attempt_id"] for e in events) == sorted([a_pass, a_fail])
    # Now the candidates see their result, the failing one too.
    home = cand.get("/exam/").get_data(as_text=True)
    assert "30/40問正解（正答率75%）" in home and "合格" in home
    done = cand.get(f"/exam/attempts/{a_pass}/done").get_data(as_text=True)
    assert "<h1 id=\"result-heading\">検定結果: 初級 合格</h1>" in done
    other = login(app, "candidate2").get(f"/exam/attempts/{a_fail}/done").get_data(as_text=True)
    assert "20/40問正解（正答率50%）" in other and "不合格" in other
    page = vc.get(f"/committee/review/sessions/{sid}").get_data(as_text=True)
    assert "認定済み（合格）" in _row(page, f"a{a_pass}") and "認定済み（不合格）" in _row(page, f"a{a_fail}")
    assert 'name="attempt" value' not in page                     # nothing left to certify


def test_bulk_certify_all_passing_and_twice_is_harmless(app):
    sid = session_id(app)
    ids = []
    for i, n in enumerate([40, 33, 28, 27, 5]):
        ids.append(sit(app, sid, person(app, f"b{i}", f"B000{i}", register_in=sid), right_first(n)))
    chair = login(app, "chair")
    page = chair.get(f"/committee/review/sessions/{sid}").get_data(as_text=True)
    assert "未認定の合格答案: 3件" in page
    assert certify(chair, sid, all_passing=True).status_code == 302
    assert counts(app) == (3, 3)
    with app.app_context():
        assert {c.attempt_id for c in db.session.scalars(select(Certification))} == set(ids[:3])
        assert db.session.scalar(select(func.count()).select_from(Notice)) == 3
    # Again, by anyone allowed, in bulk or singly: nothing changes, nobody is notified twice.
    assert certify(login(app, "vicechair"), sid, all_passing=True).status_code == 302
    resp = certify(chair, sid, ids[:2])
    assert "認定済みの2件はそのままです" in chair.get(resp.location).get_data(as_text=True)
    assert counts(app) == (3, 3)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Notice)) == 3
    # The failing sheets are certified when chosen one by one.
    certify(chair, sid, ids[3:])
    assert counts(app) == (5, 3)
    # A sheet of another session is refused.
    other = session_id(app, "intermediate")
    resp = certify(chair, other, [ids[0]])
    assert "この実施回の答案ではない" in chair.get(resp.location).get_data(as_text=True)


def test_existing_pass_from_another_source_is_kept(app):
    sid = session_id(app)
    uid = person(app, "x0", "X0000", name="特例 合格", register_in=sid)
    aid = sit(app, sid, uid, right_first(35))
    with app.app_context():
        chair = db.session.scalar(select(User.id).where(User.username == "chair"))
        db.session.add(PassRecord(staff_id=_staff_id(app, uid), level="beginner", fiscal_year=2023,
                                  source="npa", recorded_by=chair))
        db.session.commit()
    c = login(app, "chair")
    resp = certify(c, sid, [aid])
    html = c.get(resp.location).get_data(as_text=True)
    assert "特例 合格さんは既に初級の合格記録（警察庁の検定）があるため" in html
    with app.app_context():
        records = db.session.scalars(select(PassRecord)).all()
        assert [(r.source, r.fiscal_year, r.attempt_id) for r in records] == [("npa", 2023, None)]
        assert db.session.scalar(select(Certification.passed)) is True
        assert db.session.scalar(select(func.count()).select_from(Notice)) == 0


def test_both_parts_need_the_written_score_before_certifying(app):
    sid = session_id(app)
    set_format(app, sid, "both", 100)
    uid = person(app, "y0", "Y0000", register_in=sid)
    aid = sit(app, sid, uid, right_first(32))                       # CBT 80%
    c = login(app, "vicechair")
    page = c.get(f"/committee/review/sessions/{sid}").get_data(as_text=True)
    assert f'name="attempt" value="{aid}"' not in page                # undecided: no checkbox
    resp = certify(c, sid, [aid])
    assert "結果が確定していません（筆記試験の得点がありません）" in c.get(resp.location).get_data(as_text=True)
    assert counts(app) == (0, 0)
    c.post_form(f"/committee/review/sessions/{sid}/written", {f"score-{_staff_id(app, uid)}": "60"})
    certify(c, sid, [aid])
    with app.app_context():
        assert db.session.scalar(select(Certification.passed)) is False   # 80% + 60%: a fail
    assert counts(app) == (1, 0)


def rekey_first(app, client, sid, aid):
    """Correct the key of the sheet's first question (answered right) to another answer."""
    qid = form_ids(app, aid)[0]
    with app.app_context():
        from app.banks.versions import snapshot
        a = db.session.get(Attempt, aid)
        q = snapshot(a.bank_version)[1][qid]
    other = {"single": lambda: next(x.key for x in q.choices if x.key != q.answer),
             "multiple": lambda: next(x.key for x in q.choices if x.key not in q.answer),
             "true_false": lambda: "誤" if q.answer else "正",
             "text": lambda: "別の答え"}[q.type]()
    return client.post_form(f"/committee/review/sessions/{sid}/corrections",
                            {"question_id": qid, "action": "rekey", "answer": other, "reason": "正答の訂正"})


def test_the_candidate_never_sees_a_score_contradicting_the_certified_result(app):
    """A correction after certification regrades 28/40 (a pass) to 27/40: the candidate is
    told the committee is re-examining it, not shown "27/40 … 合格"."""
    sid = session_id(app)
    uid = person(app, "candidate1", "D0001", register_in=sid)
    aid = sit(app, sid, uid, right_first(28))
    c = login(app, "chair")
    certify(c, sid, [aid])
    cand = login(app, "candidate1")
    assert "28/40問正解" in cand.get(f"/exam/attempts/{aid}/done").get_data(as_text=True)
    assert rekey_first(app, c, sid, aid).status_code == 302
    for url in ("/exam/", f"/exam/attempts/{aid}/done"):
        html = cand.get(url).get_data(as_text=True)
        assert "検定委員会が結果を確認しています" in html
        assert "27/40" not in html and "28/40" not in html


def test_a_correction_after_certification_warns_and_changes_no_certification(app):
    sid = session_id(app)
    uid = person(app, "z0", "Z0000", name="境界 受検", register_in=sid)
    aid = sit(app, sid, uid, right_first(28))                       # 28/40: exactly a pass
    c = login(app, "chair")
    certify(c, sid, [aid])
    assert counts(app) == (1, 1)
    # Rekeying one of the questions the candidate got right makes it 27/40 now.
    resp = rekey_first(app, c, sid, aid)
    assert resp.status_code == 302
    assert "認定はそのままです" in c.get(resp.location).get_data(as_text=True)
    with app.app_context():
        a = db.session.get(Attempt, aid)
        assert (a.correct, a.passed) == (27, False)
        assert db.session.scalar(select(Certification.passed)) is True   # not changed silently
        assert db.session.scalar(select(func.count()).select_from(PassRecord)
                                 .where(PassRecord.source == "exam")) == 1
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "correction_made"))
        assert json.loads(event.detail_json)["attention"] == [aid]
    page = c.get(f"/committee/review/sessions/{sid}").get_data(as_text=True)
    assert "要確認: 認定後に結果が変わった答案（1件）" in page
    assert re.search(r"境界 受検: 認定 合格 → 現在 不合格", page)
    assert "要確認" in _row(page, f"a{aid}")
    assert f"a{aid}" in c.get(f"/committee/review/sessions/{sid}?certified=yes").get_data(as_text=True)
