"""Notices to affiliation heads (第3-8): a row the head sees, and an e-mail sent to a real
SMTP server (aiosmtpd on 127.0.0.1). A failed e-mail is written on the notice, never
loses it, and can be resent; the printable notice has no site navigation."""
from __future__ import annotations

import socket
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from scoring.jpdate import fiscal_year_label

from app.extensions import db
from app.models import AuditEvent, Notice, PassRecord, Staff
from app.register import notices
from tests.registertools import add_pass, free_port, make_world, signed_in


class Sink:
    """Collects what the server accepted; refuses recipients listed in `refuse`."""

    def __init__(self):
        self.messages = []
        self.refuse: set[str] = set()
        self.on_data = None          # called as each message arrives (in the server's thread)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.on_data:
            self.on_data(envelope)
        self.messages.append(envelope)
        return "250 Message accepted"


class LocalController(Controller):
    """Listens on a socket bound before start: port 0, no race for a free port."""

    def __init__(self, handler):
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        super().__init__(handler, hostname="127.0.0.1", port=self._sock.getsockname()[1])

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


@pytest.fixture
def smtp():
    sink = Sink()
    controller = LocalController(sink)
    controller.start()
    sink.port = controller.port
    yield sink
    controller.stop()


def mail_config(app, port):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_FROM="cbt-committee@example.jp",
                      MAIL_TIMEOUT=5)


def certify(app, *pass_ids, by="vicechair"):
    """What the certification step does after certifying: notify and commit, then e-mail
    and commit the outcome."""
    with app.app_context():
        from tests.registertools import user_id
        records = [db.session.get(PassRecord, i) for i in pass_ids]
        ids = [n.id for n in notices.notify_passes(records, user_id(by))]
        db.session.commit()
        notices.send_emails(ids, user_id(by))
        db.session.commit()
        return ids


def notice(app, notice_id) -> Notice:
    with app.app_context():
        n = db.session.get(Notice, notice_id)
        db.session.expunge(n)
        return n


def parsed(envelope):
    return message_from_bytes(envelope.content, policy=policy.default)


def test_a_pass_is_notified_to_the_head_by_e_mail(app, smtp):
    w = make_world(app)
    mail_config(app, smtp.port)
    rec = add_pass(app, w.s1, "intermediate", 2025)
    [nid] = certify(app, rec)
    n = notice(app, nid)
    assert n.affiliation_id == w.central and n.emailed_at is not None and n.email_error is None
    [envelope] = smtp.messages
    assert envelope.rcpt_tos == ["head1@example.jp"] and envelope.mail_from == "cbt-committee@example.jp"
    msg = parsed(envelope)
    assert msg["Subject"] == f"【合格者通知】サイバー対処能力検定 中級 {fiscal_year_label(2025)}"
    assert msg["To"] == "head1@example.jp"
    body = msg.get_body().get_content()
    assert msg.get_body().get_content_charset() == "utf-8"
    for text in ["栄警察署長 殿", "熱田 一郎（あつた いちろう）", "巡査部長", "級位　　　: 中級",
                 "2025年度（令和7年度）", "生戦発甲第147号）第3の8"]:
        assert text in body, text
    assert "1985" not in body                     # the date of birth stays in the register
    with app.app_context():
        events = [e.event for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert events[-2:] == ["notice_created", "notice_emailed"]
    # Certifying again notifies nobody twice.
    assert certify(app, rec) == [] and len(smtp.messages) == 1


def test_each_head_gets_their_own_staff_and_a_refused_address_fails_alone(app, smtp):
    w = make_world(app)
    mail_config(app, smtp.port)
    smtp.refuse.add("head2@example.jp")
    ids = certify(app, add_pass(app, w.s1, "beginner"), add_pass(app, w.s3, "beginner"))
    first, second = notice(app, ids[0]), notice(app, ids[1])
    assert first.emailed_at and first.email_error is None
    assert second.emailed_at is None and "550" in second.email_error and second.affiliation_id == w.north
    assert [m.rcpt_tos for m in smtp.messages] == [["head1@example.jp"]]


def test_an_smtp_failure_keeps_the_notice_and_it_can_be_resent(app):
    w = make_world(app)
    port = free_port()                      # nothing listens here
    mail_config(app, port)
    [nid] = certify(app, add_pass(app, w.s2, "beginner"))
    n = notice(app, nid)
    assert n.emailed_at is None and f"127.0.0.1:{port} に接続できません" in n.email_error
    c = signed_in(app, "vicechair")
    page = c.get("/committee/register/notices").get_data(as_text=True)
    assert "メール送信失敗" in page and "メールを再送" in page and "瑞穂　花子" in page
    # The server comes up; the vice-chair resends.
    sink = Sink()
    controller = LocalController(sink)
    controller.start()
    try:
        mail_config(app, controller.port)
        resp = c.post_form(f"/committee/register/notices/{nid}/resend")
        assert resp.status_code == 302
    finally:
        controller.stop()
    n = notice(app, nid)
    assert n.emailed_at is not None and n.email_error is None
    assert [m.rcpt_tos for m in sink.messages] == [["head1@example.jp"]]
    assert "瑞穂" in parsed(sink.messages[0]).get_body().get_content()
    # Sent is sent: a second resend is refused and sends nothing.
    c.post_form(f"/committee/register/notices/{nid}/resend")
    assert len(sink.messages) == 1


def test_without_mail_settings_notices_stay_in_the_system(app):
    w = make_world(app)
    assert not app.config.get("MAIL_SERVER")
    [nid] = certify(app, add_pass(app, w.s1, "beginner"))
    n = notice(app, nid)
    assert n.emailed_at is None and n.email_error is None
    page = signed_in(app, "chair").get("/committee/register/notices").get_data(as_text=True)
    assert "システム内のみ" in page and "メールサーバが設定されていない" in page
    assert "メールを再送" not in page


def test_a_head_without_an_address_is_recorded_on_the_notice(app, smtp):
    w = make_world(app)
    mail_config(app, smtp.port)
    with app.app_context():
        db.session.get(Staff, w.head1_staff).email = None
        db.session.commit()
    [nid] = certify(app, add_pass(app, w.s1, "beginner"))
    assert notice(app, nid).email_error == notices.NO_ADDRESS and smtp.messages == []


def test_the_head_reads_the_notice_and_another_head_cannot(app):
    w = make_world(app, head2_signs_in=True)
    [nid] = certify(app, add_pass(app, w.s1, "intermediate"))
    other = signed_in(app, "head2", "head2-password")
    assert "熱田 一郎" not in other.get("/head/").get_data(as_text=True)
    assert other.post_form(f"/head/notices/{nid}/read").status_code == 404
    assert notice(app, nid).read_at is None
    head = signed_in(app, "head1")
    page = head.get("/head/").get_data(as_text=True)
    assert "熱田 一郎（巡査部長）" in page and "既読にする" in page
    assert head.post_form(f"/head/notices/{nid}/read").status_code == 302
    assert notice(app, nid).read_at is not None
    vc = signed_in(app, "vicechair").get("/committee/register/notices").get_data(as_text=True)
    assert "未読" not in vc.split("<tbody>")[1]


def test_the_printable_notice(app):
    w = make_world(app)
    ids = certify(app, add_pass(app, w.s1, "intermediate", 2025), add_pass(app, w.s3, "beginner", 2024))
    c = signed_in(app, "vicechair")
    resp = c.get("/committee/register/notices/print?" + "&".join(f"id={i}" for i in ids))
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert page.count('<article class="notice">') == 2
    for text in ["合格者通知", "栄警察署長　殿", "熱田 一郎（あつた いちろう）", "<td>中級</td>",
                 "2025年度（令和7年度）", "港警察署長　殿", "2024年度（令和6年度）",
                 "生戦発甲第147号）第3の8の規定により", "R00001"]:
        assert text in page, text
    assert 'class="site"' not in page and "<nav" not in page and "ログアウト" not in page
    css = c.get("/committee/register/notices/print.css")
    assert css.mimetype == "text/css" and "@media print" in css.get_data(as_text=True)
    assert c.get("/committee/register/notices/print?id=999999").status_code == 404
