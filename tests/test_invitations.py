"""受検の奨励 (第3-11): a head invites their own staff to an upcoming session; the staff
member reads it on their home and by e-mail (a real SMTP server, aiosmtpd); the head sees
who was invited and who registered; anyone else's staff is refused and logged. An
invitation asks, it does not register: the vice-chair registers the invited."""
from __future__ import annotations

import html
import json
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from app.db import schema
from app.extensions import db
from app.models import AuditEvent, Invitation, Registration, Staff, User
from tests.registertools import free_port, signed_in
from tests.test_level_descriptions import BEGINNER_3, add_session
from tests.test_migrations import make
from tests.test_notices import mail_config, smtp  # noqa: F401  (the SMTP server fixture)


def staff_of(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Staff.id).join(User, Staff.user_id == User.id)
                                 .where(User.username == username))


def staff_numbered(app, number: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Staff.id).where(Staff.staff_number == number))


def invitations(app) -> list[tuple[int, int]]:
    with app.app_context():
        return [(i.session_id, i.staff_id) for i in db.session.scalars(select(Invitation).order_by(Invitation.id))]


def events(app, name: str) -> list[dict]:
    with app.app_context():
        return [json.loads(e.detail_json) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == name).order_by(AuditEvent.id))]


def upcoming_block(page: str, title: str) -> str:
    return html.unescape(page).split('id="upcoming"')[1].split(f"<h3>{title}</h3>")[1].split("<h3>")[0]


def invite(client, session_id: int, *staff_ids: int, message: str = ""):
    return client.post_form(f"/head/sessions/{session_id}/invite",
                            {"staff_id": [str(i) for i in staff_ids], "message": message})


def test_an_invitation_reaches_the_staff_member_in_the_engine_and_by_e_mail(app, smtp):  # noqa: F811
    mail_config(app, smtp.port)
    sid = add_session(app, "来月の初級", "beginner")
    taro = staff_of(app, "candidate1")              # 愛知 太郎, 中央警察署 (head1's)
    with app.app_context():
        db.session.get(Staff, taro).email = "aichi.taro@example.jp"
        db.session.commit()
    head = signed_in(app, "head1")
    before = upcoming_block(head.get("/head/").get_data(as_text=True), "来月の初級")
    assert f'value="{taro}"' in before and "奨励済" not in before
    resp = invite(head, sid, taro, message="基礎固めに受検してください。")
    assert resp.status_code == 302
    assert invitations(app) == [(sid, taro)]
    # By e-mail, to the address on the staff record.
    [envelope] = smtp.messages
    assert envelope.rcpt_tos == ["aichi.taro@example.jp"]
    mail = message_from_bytes(envelope.content, policy=policy.default)
    body = mail.get_content()
    assert "受検の奨励" in str(mail["Subject"]) and "来月の初級" in str(mail["Subject"])
    assert "中央警察署長から" in body and "基礎固めに受検してください。" in body and BEGINNER_3 in body
    assert "受検の登録は検定委員会（副委員長）が行います" in body
    # In the engine: the staff member's home.
    home = html.unescape(signed_in(app, "candidate1").get("/exam/").get_data(as_text=True))
    card = home.split('id="invitations"')[1].split("</section>")[0]
    assert "来月の初級" in card and "基礎固めに受検してください。" in card and "所属を通じてお申し出ください" in card
    # The head reads that it was sent, e-mailed and seen, and that it is not registered yet.
    after = upcoming_block(head.get("/head/").get_data(as_text=True), "来月の初級")
    row = next(r for r in after.split("<tr") if "愛知" in r)
    assert "奨励済" in row and "メール送信済" in row and "本人確認済" in row and "未登録" in row
    assert f'value="{taro}"' not in after                # not invited twice
    with app.app_context():
        assert db.session.scalar(select(Registration.id).where(Registration.session_id == sid)) is None
    assert [e["staff_id"] for e in events(app, "invitation_sent")] == [taro]
    assert [e["to"] for e in events(app, "invitation_emailed")] == ["aichi.taro@example.jp"]
    # The vice-chair registers the invited from the session's page; the head then reads 登録済.
    vc = signed_in(app, "vicechair")
    detail = html.unescape(vc.get(f"/committee/sessions/{sid}").get_data(as_text=True))
    assert "所属長が受検を奨励した職員" in detail and f'id="invited-{taro}"' in detail
    assert vc.post_form(f"/committee/sessions/{sid}/candidates", {"staff_id": [str(taro)]}).status_code == 200
    row = next(r for r in upcoming_block(head.get("/head/").get_data(as_text=True), "来月の初級").split("<tr")
               if "愛知" in r)
    assert "登録済" in row and "未登録" not in row
    home = html.unescape(signed_in(app, "candidate1").get("/exam/").get_data(as_text=True))
    assert "この検定に登録されています" in home.split('id="invitations"')[1].split("</section>")[0]


def test_without_an_address_or_a_mail_server_the_invitation_still_stands(app):
    sid = add_session(app, "来月の初級", "beginner")
    taro = staff_of(app, "candidate1")
    ichiro = staff_numbered(app, "100004")            # 知多 一郎: head1's, no address on record
    with app.app_context():
        db.session.get(Staff, taro).email = "aichi.taro@example.jp"
        db.session.commit()
    mail_config(app, free_port())                     # nothing listens there
    assert invite(signed_in(app, "head1"), sid, taro, ichiro).status_code == 302
    assert sorted(invitations(app)) == sorted([(sid, taro), (sid, ichiro)])
    with app.app_context():
        errors = {i.staff_id: (i.emailed_at, i.email_error) for i in db.session.scalars(select(Invitation))}
    assert errors[taro][0] is None and "接続できません" in errors[taro][1]
    assert errors[ichiro] == (None, "職員のメールアドレスが登録されていません")
    assert len(events(app, "invitation_email_failed")) == 2
    page = upcoming_block(signed_in(app, "head1").get("/head/").get_data(as_text=True), "来月の初級")
    assert "メール未送信" in next(r for r in page.split("<tr") if "知多" in r)
    home = signed_in(app, "candidate1").get("/exam/").get_data(as_text=True)
    assert "来月の初級" in home.split('id="invitations"')[1]


def test_a_head_cannot_invite_another_affiliations_staff(app):
    sid = add_session(app, "来月の初級", "beginner")
    jiro = staff_of(app, "candidate3")                # 三河 次郎, 北警察署 (no head of ours)
    taro = staff_of(app, "candidate1")
    head = signed_in(app, "head1")
    assert f'value="{jiro}"' not in head.get("/head/").get_data(as_text=True)
    resp = invite(head, sid, taro, jiro)              # one of theirs is enough to refuse it all
    assert resp.status_code == 404
    assert invitations(app) == []
    [refused] = events(app, "invitation_refused")
    assert refused["staff_ids"] == [jiro] and refused["session_id"] == sid
    assert events(app, "invitation_sent") == []
    assert invite(head, sid, 999999).status_code == 404
    assert invite(head, 999999, taro).status_code == 404
    # Only heads: a candidate or the secretariat may not invite at all.
    for username in ("candidate1", "secretariat1"):
        assert invite(signed_in(app, username), sid, taro).status_code == 403
    assert invitations(app) == []


def test_only_sessions_a_staff_member_may_sit_and_only_ahead(app):
    sid = add_session(app, "来月の中級", "intermediate")
    taro = staff_of(app, "candidate1")                # holds no 初級: may not sit 中級 (第3-4)
    temp = staff_numbered(app, "100012")              # 臨時補助職員 (第3-2), head1's own
    head = signed_in(app, "head1")
    block = upcoming_block(head.get("/head/").get_data(as_text=True), "来月の中級")
    assert f'value="{taro}"' not in block and f'value="{temp}"' not in block
    resp = invite(head, sid, taro, temp)
    assert resp.status_code == 302 and invitations(app) == []
    flashed = html.unescape(head.get("/head/").get_data(as_text=True))
    assert "中級の受検には初級の合格が必要です" in flashed and "受検対象外" in flashed
    past = add_session(app, "先月の初級", "beginner", days_ahead=-30)
    resp = invite(head, past, taro)
    assert resp.status_code == 302 and invitations(app) == []
    assert "受検期間が終了した実施回には奨励できません" in head.get("/head/").get_data(as_text=True)


def test_migration_0010_adds_invitations_and_keeps_every_record(fresh_db_url, tmp_path):
    app = make(fresh_db_url, tmp_path)
    with app.app_context():
        schema.upgrade("0007")
        at = "'2025-04-01 00:00:00'"
        for sql in [
            f"INSERT INTO users (id, username, password_hash, display_name, active, created_at) VALUES (7, 'h', 'x', '署長', true, {at})",
            f"INSERT INTO bank_versions (id, digest, created_at, source, question_count, payload) VALUES (1, 'd', {at}, 's', 1, '{{}}')",
            "INSERT INTO exam_sessions (id, title, level, fiscal_year, opens_at, closes_at, duration_minutes, "
            f"question_count, bank_version_id, created_at) VALUES (1, '初級', 'beginner', 2025, {at}, '2025-04-02 00:00:00', 60, 1, 1, {at})",
            "INSERT INTO staff (id, staff_number, name_kanji, name_kana, birth_date, post, employment_category, "
            f"created_at, updated_at) VALUES (1, 'S1', '職員', 'しょくいん', '1990-04-01', '巡査', '警察官', {at}, {at})",
        ]:
            db.session.execute(text(sql))
        db.session.commit()
        schema.upgrade()
        assert db.session.execute(text("SELECT title FROM exam_sessions")).scalar() == "初級"
        insert = ("INSERT INTO invitations (id, session_id, staff_id, invited_by, invited_at) "
                  f"VALUES (%d, 1, 1, 7, {at})")
        db.session.execute(text(insert % 1))
        db.session.commit()
        with pytest.raises(IntegrityError):               # one invitation per person and session
            db.session.execute(text(insert % 2))
        db.session.rollback()
        assert db.session.execute(text("SELECT count(*) FROM invitations")).scalar() == 1
        db.session.remove()
        db.engine.dispose()


def test_the_heads_words_are_checked_and_a_forged_post_refused(app):
    sid = add_session(app, "来月の初級", "beginner")
    taro = staff_of(app, "candidate1")
    head = signed_in(app, "head1")
    assert invite(head, sid, taro, message="あ" * 501).status_code == 302
    assert invitations(app) == []
    assert "500文字以内で入力してください" in head.get("/head/").get_data(as_text=True)
    resp = head.http.post(f"/head/sessions/{sid}/invite", data={"staff_id": [str(taro)]})   # no CSRF token
    assert resp.status_code == 400 and invitations(app) == []
    assert invite(head, sid, message="").status_code == 302                            # no one chosen
    assert "奨励する職員を選んでください" in head.get("/head/").get_data(as_text=True)
