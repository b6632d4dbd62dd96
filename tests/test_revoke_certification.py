"""Revoking a certification (第2-2): after a correction flips a certified verdict (要確認),
the vice-chair or chair revokes it with a reason; the register entry it created goes with
its notices (the head is told), a pass held from elsewhere stays, and the row is
certified again on its current result."""
from __future__ import annotations

import json
import re
import sqlite3

import psycopg
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, make_url, select

from app.cli.demo import DEMO_PASSWORD
from app.extensions import db
from app.models import AuditEvent, Certification, Notice, PassRecord
from tests.registertools import add_pass, free_port, make_world, user_id
# The browser (Debian's Chromium; a failure, never a skip, when it is missing) and the live
# server come from the exam-page tests.
from tests.test_browser import browser, context, live_server, page  # noqa: F401
from tests.test_certify import certify, rekey_first
from tests.test_notices import mail_config, parsed, smtp  # noqa: F401  (the fixture)
from tests.test_review import (_row, _staff_id, affiliation, login, person, right_first, session_id,
                               set_format, sit)
from tests.test_security import dump_database
from tests.test_written_certify import certify_written, written_id


def cert_id(app, attempt_id=None, written_score_id=None) -> int | None:
    with app.app_context():
        column = Certification.attempt_id if attempt_id else Certification.written_score_id
        return db.session.scalar(select(Certification.id).where(column == (attempt_id or written_score_id)))


def revoke(client, sid, certification_id, reason):
    return client.post_form(f"/committee/review/sessions/{sid}/certifications/{certification_id}/revoke",
                            {"reason": reason})


def flashes(client, resp) -> str:
    assert resp.status_code == 302
    return client.get(resp.location).get_data(as_text=True)


def revocations(app) -> list[dict]:
    with app.app_context():
        return [json.loads(e.detail_json) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "certification_revoked").order_by(AuditEvent.id))]


def exam_passes(app) -> list[tuple]:
    """Every register entry: (id, level, source, attempt id)."""
    with app.app_context():
        return [(r.id, r.level, r.source, r.attempt_id) for r in db.session.scalars(select(PassRecord))]


def notice_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Notice))


def certified_pass(app, name="境界 受検", number="Z0000", username="z0", aff=None):
    """A sheet of 28/40 (exactly a pass), certified by the chair: (sid, attempt, chair client)."""
    sid = session_id(app)
    uid = person(app, username, number, name=name, affiliation_id=aff, register_in=sid)
    aid = sit(app, sid, uid, right_first(28))
    chair = login(app, "chair")
    assert certify(chair, sid, [aid]).status_code == 302
    return sid, aid, chair


def test_revoke_then_certify_again_after_a_rekey_flips_a_pass_to_a_fail(app):
    sid, aid, chair = certified_pass(app, name="愛知　太郎", number="D0001", username="candidate1",
                                     aff=affiliation(app))
    [(record_id, _level, _source, _a)] = exam_passes(app)
    assert notice_count(app) == 1
    cand = login(app, "candidate1")
    assert "28/40問正解" in cand.get(f"/exam/attempts/{aid}/done").get_data(as_text=True)
    rekey_first(app, chair, sid, aid)                                # now 27/40: a fail
    cid = cert_id(app, aid)
    action = f"/committee/review/sessions/{sid}/certifications/{cid}/revoke"
    # The button is on the sheet and on the flagged row, for the (vice-)chair only.
    sheet = chair.get(f"/committee/review/sessions/{sid}/sheets/{aid}").get_data(as_text=True)
    assert f'action="{action}"' in sheet and "認定を取り消す" in sheet
    listing = chair.get(f"/committee/review/sessions/{sid}").get_data(as_text=True)
    assert f'form="revoke-a{aid}"' in _row(listing, f"a{aid}") and f'action="{action}"' in listing
    member = login(app, "committee1")
    assert action not in member.get(f"/committee/review/sessions/{sid}/sheets/{aid}").get_data(as_text=True)
    assert action not in member.get(f"/committee/review/sessions/{sid}").get_data(as_text=True)

    html = flashes(chair, revoke(chair, sid, cid, "正答訂正により不合格となったため"))
    assert "愛知　太郎さんの認定（合格）を取り消しました。現在の結果（不合格）で改めて認定できます。" in html
    assert "合格者名簿から初級の合格記録を削除しました。所属の長への合格者通知1件を取り消しました。" in html
    assert cert_id(app, aid) is None and exam_passes(app) == [] and notice_count(app) == 0
    [event] = revocations(app)
    assert event["reason"] == "正答訂正により不合格となったため" and event["certification_id"] == cid
    assert event["certified"]["passed"] is True and event["certified"]["scores"]["cbt"] == [28, 40]
    assert event["now"] == {"passed": False, "cbt": [27, 40], "written": None}
    assert event["removed_pass"]["id"] == record_id and event["removed_pass"]["level"] == "beginner"
    assert event["removed_pass"]["source"] == "exam" and event["prerequisite_of"] == []
    # Uncertified again: the candidate sees no result at all, the row is no longer flagged.
    for url in ("/exam/", f"/exam/attempts/{aid}/done"):
        html = cand.get(url).get_data(as_text=True)
        assert "委員会の認定後に表示されます" in html
        assert "確認しています" not in html and "27/40" not in html and "28/40" not in html
    row = _row(chair.get(f"/committee/review/sessions/{sid}").get_data(as_text=True), f"a{aid}")
    assert f'name="attempt" value="{aid}"' in row and "要確認" not in row and "未認定" in row
    # Certified again on the result as it stands: a fail, nothing in the register.
    assert certify(chair, sid, [aid]).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Certification.passed).where(Certification.attempt_id == aid)) is False
    assert exam_passes(app) == [] and notice_count(app) == 0
    done = cand.get(f"/exam/attempts/{aid}/done").get_data(as_text=True)
    assert "27/40問正解" in done and "不合格" in done and "確認しています" not in done


def test_the_vice_chair_may_revoke_what_the_chair_certified(app):
    sid, aid, _chair = certified_pass(app)
    vc = login(app, "vicechair")
    flashes(vc, revoke(vc, sid, cert_id(app, aid), "誤って認定したため"))
    assert cert_id(app, aid) is None
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "certification_revoked"))
        assert event.user_id == user_id("vicechair")
        assert json.loads(event.detail_json)["certified"]["certified_by"] == user_id("chair")


def test_only_the_vice_chair_and_chair_may_revoke(app):
    sid, aid, _chair = certified_pass(app)
    cid = cert_id(app, aid)
    others = [login(app, u) for u in ("committee1", "head1", "secretariat1", "author1", "candidate1")]
    before = dump_database(app)
    for c in others:
        assert revoke(c, sid, cid, "権限のない取消").status_code == 403
    after = dump_database(app)
    after["audit_events"] = after["audit_events"][:len(before["audit_events"])]   # the refusals are logged
    assert after == before
    # Another session's address for the certification: not found.
    assert revoke(login(app, "chair"), session_id(app, "intermediate"), cid, "別の実施回").status_code == 404
    assert cert_id(app, aid) == cid


def test_a_revocation_without_a_reason_changes_nothing(app):
    sid, aid, chair = certified_pass(app)
    cid = cert_id(app, aid)
    before = dump_database(app)
    for reason in ("", "　 \n"):
        html = flashes(chair, revoke(chair, sid, cid, reason))
        assert "認定を取り消す理由を入力してください。" in html
    assert dump_database(app) == before
    assert cert_id(app, aid) == cid and len(exam_passes(app)) == 1 and notice_count(app) == 1


def test_a_pass_held_from_another_source_is_untouched(app):
    sid = session_id(app)
    uid = person(app, "x0", "X0000", name="特例 合格", register_in=sid)
    npa = add_pass(app, _staff_id(app, uid), "beginner", 2023, source="npa", by="chair")
    aid = sit(app, sid, uid, right_first(35))
    chair = login(app, "chair")
    certify(chair, sid, [aid])
    html = flashes(chair, revoke(chair, sid, cert_id(app, aid), "確認のため取消"))
    assert "初級の合格記録（警察庁の検定）はこの認定によるものではないため、合格者名簿の記録はそのままです。" in html
    assert "合格者名簿から" not in html
    assert cert_id(app, aid) is None
    assert exam_passes(app) == [(npa, "beginner", "npa", None)]
    [event] = revocations(app)
    assert event["removed_pass"] is None and event["kept_pass_record_id"] == npa


def test_an_exam_pass_of_an_earlier_session_is_not_this_certifications(app):
    sid, aid, chair = certified_pass(app)
    [(earlier, *_rest)] = exam_passes(app)
    # The register entry now names another sheet (an earlier session's pass of the level).
    other = sit(app, session_id(app), person(app, "o1", "O0001", register_in=session_id(app)), right_first(40))
    with app.app_context():
        db.session.get(PassRecord, earlier).attempt_id = other
        db.session.commit()
    revoke(chair, sid, cert_id(app, aid), "確認のため取消")
    assert [r[0] for r in exam_passes(app)] == [earlier] and notice_count(app) == 1


def test_revoking_a_prerequisite_pass_warns_and_is_recorded(app):
    sid, aid, chair = certified_pass(app)
    with app.app_context():
        staff = _staff_id(app, user_id("z0"))
    intermediate = add_pass(app, staff, "intermediate", source="exam")
    html = flashes(chair, revoke(chair, sid, cert_id(app, aid), "認定の誤り"))
    assert "を取り消しました" in html
    assert re.search(r"注意: 境界 受検さんには中級の合格記録があり、初級の合格はその受検資格（第3-4）でした。", html)
    assert [(r[0], r[1]) for r in exam_passes(app)] == [(intermediate, "intermediate")]
    assert revocations(app)[0]["prerequisite_of"] == ["intermediate"]


def test_the_head_is_told_the_notice_of_pass_is_withdrawn(app, smtp):  # noqa: F811
    w = make_world(app)
    mail_config(app, smtp.port)
    sid, aid, chair = certified_pass(app, name="栄 受検", number="R00111", username="rv1", aff=w.central)
    [first] = smtp.messages
    head = login(app, "head1")
    assert "栄 受検（巡査部長）" in head.get("/head/").get_data(as_text=True)
    html = flashes(chair, revoke(chair, sid, cert_id(app, aid), "採点の誤り"))
    assert "所属の長に合格者通知の取消しをメールで送信しました（1件）。" in html
    second = smtp.messages[1]
    assert first.rcpt_tos == second.rcpt_tos == ["head1@example.jp"]
    msg = parsed(second)
    assert msg["Subject"].startswith("【合格者通知の取消し】サイバー対処能力検定 初級")
    body = msg.get_body().get_content()
    assert "栄警察署長 殿" in body and "栄 受検" in body and "先に行った合格者通知を取り消します" in body
    assert "採点の誤り" not in body                       # the committee's reason stays in the audit log
    notices = head.get("/head/").get_data(as_text=True).split('id="staff"')[0]
    assert "栄 受検（巡査部長）" not in notices and "通知はありません" in notices
    with app.app_context():
        [event] = [json.loads(e.detail_json) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "notice_withdrawn"))]
        [mailed] = [json.loads(e.detail_json) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "notice_withdrawal_emailed"))]
    assert event["emailed_before"] is True
    assert mailed["to"] == "head1@example.jp" and mailed["notice_id"] == event["notice_id"]


def database_as_seen_from_outside(app) -> dict:
    """From a connection of its own, while the mail server holds a message: the notices
    and certifications committed, and whether a writer could start at once (no write
    transaction of the app is open: SQLite's write lock, or PostgreSQL's locks on the
    tables that certifying writes)."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        con = sqlite3.connect(url.database, timeout=0, isolation_level=None)
        try:
            try:
                con.execute("BEGIN IMMEDIATE")
                con.execute("ROLLBACK")
                free = True
            except sqlite3.OperationalError:
                free = False
            counts = [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("notices", "certifications")]
        finally:
            con.close()
    else:
        with psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False)) as con:
            try:
                with con.transaction():
                    con.execute("LOCK TABLE notices, certifications, audit_events IN SHARE MODE NOWAIT")
                free = True
            except psycopg.errors.LockNotAvailable:
                free = False
            counts = [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("notices", "certifications")]
    return {"writer_free": free, "notices": counts[0], "certifications": counts[1]}


def test_mail_is_sent_after_the_commit_with_no_write_open(app, smtp):  # noqa: F811
    """Certifying, revoking and resending talk to the mail server only after the commit:
    a head is never told of a change a failed commit took back, and a slow mail server
    never holds the database's write lock that every candidate's save needs."""
    w = make_world(app)
    mail_config(app, smtp.port)
    seen = []
    smtp.on_data = lambda envelope: seen.append(database_as_seen_from_outside(app))
    sid, aid, chair = certified_pass(app, name="栄 受検", number="R00111", username="rv1", aff=w.central)
    assert seen == [{"writer_free": True, "notices": 1, "certifications": 1}]
    flashes(chair, revoke(chair, sid, cert_id(app, aid), "採点の誤り"))
    assert seen[1:] == [{"writer_free": True, "notices": 0, "certifications": 0}]
    assert len(smtp.messages) == 2


def test_a_withdrawal_e_mail_that_fails_is_reported(app, smtp):  # noqa: F811
    w = make_world(app)
    mail_config(app, smtp.port)
    sid, aid, chair = certified_pass(app, name="栄 受検", number="R00111", username="rv1", aff=w.central)
    port = free_port()                                    # the server is gone by now
    mail_config(app, port)
    html = flashes(chair, revoke(chair, sid, cert_id(app, aid), "採点の誤り"))
    assert f"所属の長への取消しのメールを送信できませんでした: メールサーバ 127.0.0.1:{port} に接続できません" in html
    assert "別の方法で所属の長に連絡してください" in html
    assert notice_count(app) == 0 and len(smtp.messages) == 1
    with app.app_context():
        event = json.loads(db.session.scalar(select(AuditEvent.detail_json).where(
            AuditEvent.event == "notice_withdrawal_email_failed")))
    assert "接続できません" in event["error"]


def test_without_mail_settings_a_head_already_e_mailed_is_flagged(app, smtp):  # noqa: F811
    w = make_world(app)
    mail_config(app, smtp.port)
    sid, aid, chair = certified_pass(app, name="栄 受検", number="R00111", username="rv1", aff=w.central)
    app.config["MAIL_SERVER"] = None
    html = flashes(chair, revoke(chair, sid, cert_id(app, aid), "採点の誤り"))
    assert "メールサーバが設定されていないため、取消しはシステム上のみです" in html
    assert notice_count(app) == 0 and len(smtp.messages) == 1


def test_a_written_only_certification_is_revoked_from_the_flagged_row(app):
    sid = session_id(app)
    set_format(app, sid, "written", 100)
    uid = person(app, "wr", "WR001", name="筆記 訂正", register_in=sid)
    s = _staff_id(app, uid)
    chair = login(app, "chair")
    chair.post_form(f"/committee/review/sessions/{sid}/written", {f"score-{s}": "70"})
    wid = written_id(app, s)
    certify_written(chair, sid, [wid])
    assert [r[2] for r in exam_passes(app)] == ["exam"]
    chair.post_form(f"/committee/review/sessions/{sid}/written", {f"score-{s}": "69"})   # a late correction
    cid = cert_id(app, written_score_id=wid)
    row = _row(chair.get(f"/committee/review/sessions/{sid}").get_data(as_text=True), f"w{wid}")
    assert "要確認" in row and f'form="revoke-w{wid}"' in row
    flashes(chair, revoke(chair, sid, cid, "筆記試験の採点の誤り"))
    assert cert_id(app, written_score_id=wid) is None and exam_passes(app) == []
    certify_written(chair, sid, [wid])
    with app.app_context():
        assert db.session.scalar(select(Certification.passed).where(Certification.written_score_id == wid)) is False
    assert exam_passes(app) == []


@pytest.mark.browser
def test_the_flagged_rows_button_revokes_in_a_real_browser(app, live_server, page):  # noqa: F811
    """The row's fields sit inside the certify form and belong to the row's own revoke form
    by their form attribute: only a browser shows that the button posts the right form."""
    sid, aid, chair = certified_pass(app)
    rekey_first(app, chair, sid, aid)
    page.goto(live_server + "/login")
    page.fill("#username", "chair")
    page.fill("#password", DEMO_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.goto(f"{live_server}/committee/review/sessions/{sid}")
    row = page.locator(f'#sheets tr[data-key="a{aid}"]')
    # Without a reason the browser does not send it (and the server would refuse it).
    row.get_by_text("認定を取り消す").first.click()
    row.get_by_role("button", name="認定を取り消す").click()
    assert cert_id(app, aid) is not None
    row.get_by_label("取消の理由（記録されます）").fill("正答訂正により不合格となったため")
    row.get_by_role("button", name="認定を取り消す").click()
    expect(page.locator("main")).to_contain_text("境界 受検さんの認定（合格）を取り消しました。")
    expect(page.locator(f'#sheets tr[data-key="a{aid}"] input[name="attempt"]')).to_have_count(1)
    assert cert_id(app, aid) is None and revocations(app)[0]["reason"] == "正答訂正により不合格となったため"
    page.problems.check()
