"""合格者の通知 (第3-8): the vice-chair notifies each passer's affiliation head.

A notice is a row first (the head sees it in the system) and an e-mail second, when SMTP
is configured (app/core/mailer.py). The e-mail goes only after the notice is committed, and no
write transaction is open while the SMTP server is talked to: a head is never told of a
notice that a failed commit took back, and a slow or absent mail server never holds the
database's write lock (on SQLite, every candidate's save waits on it). So the operations
here that make or withdraw notices only prepare mail; the handler commits, then calls
send_emails / send_withdrawals, then commits their outcome. An e-mail failure is written
on the notice and never loses it; the vice-chair resends from the notice list. Only
certified exam passes are notified: special passes come from elsewhere and are not
notices. When a certification is revoked (app/review/certification.py), the notices of the pass it
created are withdrawn: removed from the head's page and, with SMTP configured, followed by
an e-mail saying so.

Operations flush; the caller commits."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, select

from scoring.eligibility import LEVEL_NAMES
from scoring.jpdate import fiscal_year_label, format_date_jp, to_jst
from scoring.passrules import REGULATION_REFERENCE

from ..core import audit, mailer
from ..extensions import db
from ..models import Affiliation, Notice, PassRecord, Staff, User, utcnow

NO_AFFILIATION = "合格者の所属が登録されていません"
NO_HEAD = "所属の長が登録されていません"
NO_ADDRESS = "所属の長のメールアドレスが職員情報に登録されていません"


def _user_id(by_user) -> int:
    return by_user if isinstance(by_user, int) else by_user.id


def notify_passes(pass_records: list[PassRecord], by_user: User | int) -> list[Notice]:
    """One notice per pass record, addressed to the passer's current affiliation. A record
    already notified gets no second notice (certifying again must not notify twice);
    resending is explicit. The e-mails are send_emails' work, after the commit."""
    by = _user_id(by_user)
    records = list(pass_records)
    already = set(db.session.scalars(select(Notice.pass_record_id).where(
        Notice.pass_record_id.in_([r.id for r in records])))) if records else set()
    notices = []
    for record in records:
        if record.id in already:
            continue
        already.add(record.id)
        notice = Notice(pass_record_id=record.id, affiliation_id=record.staff.affiliation_id,
                        created_by=by, created_at=utcnow())
        db.session.add(notice)
        notices.append(notice)
    db.session.flush()
    for n in notices:
        audit.record("notice_created", by, notice_id=n.id, pass_record_id=n.pass_record_id,
                     affiliation_id=n.affiliation_id)
    return notices


def recipient(notice: Notice) -> tuple[str | None, str | None]:
    """(address, None) or (None, why there is none)."""
    affiliation = db.session.get(Affiliation, notice.affiliation_id) if notice.affiliation_id else None
    if affiliation is None:
        return None, NO_AFFILIATION
    if affiliation.head_user_id is None:
        return None, NO_HEAD
    staff = db.session.scalar(select(Staff).where(Staff.user_id == affiliation.head_user_id))
    if staff is None or not (staff.email or "").strip():
        return None, NO_ADDRESS
    return staff.email.strip(), None


def _particulars(notice: Notice, affiliation: Affiliation) -> list[str]:
    """The 記 part of a notice: who passed what. Name and post only: the head needs to
    know who passed, not the date of birth."""
    r = notice.pass_record
    return [
        f"級位　　　: {LEVEL_NAMES[r.level]}",
        f"合格年度　: {fiscal_year_label(r.fiscal_year)}",
        f"所属　　　: {affiliation.name}",
        f"官職（階級）: {r.staff.post}",
        f"氏名　　　: {r.staff.name_kanji}（{r.staff.name_kana}）",
        f"通知日　　: {format_date_jp(to_jst(notice.created_at).date())}",
    ]


def _mail(notice: Notice, subject: str, opening: list[str], closing: list[str],
          in_system: str) -> mailer.Mail | None:
    address, _why = recipient(notice)
    if address is None:
        return None
    r = notice.pass_record
    affiliation = db.session.get(Affiliation, notice.affiliation_id)
    body = "\n".join([
        f"{affiliation.name}長 殿",
        "",
        *opening,
        "",
        "記",
        "",
        *_particulars(notice, affiliation),
        "",
        *closing,
        "",
        "愛知県警察サイバー対処能力検定委員会 副委員長",
        f"（このメールはサイバー対処能力検定システムから送信しています。{in_system}）",
    ])
    return mailer.Mail(address, f"{subject} {LEVEL_NAMES[r.level]} {fiscal_year_label(r.fiscal_year)}", body)


def compose(notice: Notice) -> mailer.Mail | None:
    return _mail(notice, "【合格者通知】サイバー対処能力検定",
                 [f"{REGULATION_REFERENCE}第3の8の規定により、",
                  "下記の者がサイバー対処能力検定に合格したので通知します。"],
                 ["所属の長におかれては、合格者に対する定期講習（中級合格者、第3-10）の受講及び",
                  "上位級位の受検の奨励（第3-11）について配意願います。"],
                 "通知はシステムの「所属の長」画面でも確認できます。")


def compose_withdrawal(notice: Notice) -> mailer.Mail | None:
    return _mail(notice, "【合格者通知の取消し】サイバー対処能力検定",
                 ["下記の者の合格について、検定委員会が合格の認定を取り消したため、",
                  "先に行った合格者通知を取り消します。"],
                 ["この者は現在、上記級位の合格者ではありません（合格者名簿からも削除しました）。",
                  "再び合格と認定した場合は、改めて通知します。"],
                 "取り消した通知は、システムの「所属の長」画面からも削除しました。")


def _composed(notices: list[Notice], make) -> list[tuple[Notice, mailer.Mail | None, str | None]]:
    """(notice, mail, None), or (notice, None, why there is no mail)."""
    out = []
    for n in notices:
        mail = make(n)
        out.append((n, mail, None if mail else recipient(n)[1]))
    return out


def _send(composed) -> list[tuple[Notice, str | None, str | None]]:
    """(notice, address, None when the server accepted the mail else why it failed)."""
    results = iter(mailer.send_all(current_app.config, [m for _n, m, _w in composed if m]))
    return [(n, m.to, next(results)) if m else (n, None, why) for n, m, why in composed]


def send_emails(notice_ids: list[int], by_user_id: int | None) -> list[Notice]:
    """After the commit that stored the notices: e-mail each one when SMTP is configured
    (nothing is written while the server is talked to), then put the outcome (time sent,
    or why it failed) on the notice and in the audit log; the caller commits that."""
    if not notice_ids or not mailer.configured(current_app.config):
        return []
    notices = list(db.session.scalars(select(Notice).where(Notice.id.in_(notice_ids)).order_by(Notice.id)))
    for n, to, error in _send(_composed(notices, compose)):
        where = {"to": to} if to else {}
        if error is None:
            n.emailed_at, n.email_error = utcnow(), None
            audit.record("notice_emailed", by_user_id, notice_id=n.id, **where)
        else:
            n.email_error = error
            audit.record("notice_email_failed", by_user_id, notice_id=n.id, **where, error=error)
    db.session.flush()
    return notices


@dataclass
class Withdrawal:
    """A notice withdrawn because its pass was revoked, and what the head was told."""
    notice_id: int
    affiliation_id: int | None
    pass_record_id: int
    emailed_before: bool              # the head had the notice of pass by e-mail
    mail: mailer.Mail | None = None   # the withdrawal e-mail, composed before the notice went
    mail_error: str | None = None     # why the withdrawal e-mail failed (or there is none)
    mailed: bool = False              # the withdrawal e-mail was accepted


def withdraw_notices(record: PassRecord, by_user: User | int) -> list[Withdrawal]:
    """Remove the notices of a pass record that is being removed (the caller deletes the
    record after this). The head saw each notice in the system from the moment it was made,
    so the head's page stops listing it and, when SMTP is configured, the head is to be
    e-mailed that the notice of pass is withdrawn: the mail is composed here, while the
    notice still exists (it names the pass it announced), and sent by send_withdrawals
    after the commit."""
    by = _user_id(by_user)
    notices = list(db.session.scalars(select(Notice).where(Notice.pass_record_id == record.id)
                                      .order_by(Notice.id)))
    mail_on = mailer.configured(current_app.config)
    out = []
    for n in notices:
        w = Withdrawal(n.id, n.affiliation_id, record.id, n.emailed_at is not None)
        if mail_on:
            [(_n, w.mail, w.mail_error)] = _composed([n], compose_withdrawal)
        out.append(w)
    db.session.execute(delete(Notice).where(Notice.pass_record_id == record.id))
    db.session.flush()
    for w in out:
        audit.record("notice_withdrawn", by, notice_id=w.notice_id, pass_record_id=record.id,
                     affiliation_id=w.affiliation_id, emailed_before=w.emailed_before)
    return out


def send_withdrawals(withdrawals: list[Withdrawal], by_user_id: int) -> None:
    """After the commit that withdrew the notices: send the withdrawal e-mails, then audit
    each outcome (the caller commits it). One that fails cannot be resent from a notice
    that no longer exists: the Withdrawal says why, for the vice-chair to follow up."""
    composed = [(w, w.mail, w.mail_error) for w in withdrawals if w.mail or w.mail_error]
    for w, to, error in _send(composed):
        w.mailed, w.mail_error = error is None, error
        audit.record("notice_withdrawal_emailed" if error is None else "notice_withdrawal_email_failed",
                     by_user_id, notice_id=w.notice_id, pass_record_id=w.pass_record_id,
                     **({"to": to} if to else {}), **({"error": error} if error else {}))
    db.session.flush()


class NoticeError(ValueError):
    pass


def resend(notice: Notice, by_user_id: int) -> None:
    """Check that the notice may be sent again and record the request; the handler commits,
    then calls send_emails (as after certifying)."""
    if notice.emailed_at is not None:
        raise NoticeError("この通知は既にメールで送信されています")
    if not mailer.configured(current_app.config):
        raise NoticeError("メールサーバが設定されていません（MAIL_SERVER）")
    audit.record("notice_resend", by_user_id, notice_id=notice.id)


def mark_read(notice: Notice, by_user_id: int) -> bool:
    """True when this marked it read (a second click changes nothing)."""
    if notice.read_at is not None:
        return False
    notice.read_at = utcnow()
    audit.record("notice_read", by_user_id, notice_id=notice.id)
    db.session.flush()
    return True


def all_notices() -> list[Notice]:
    return list(db.session.scalars(select(Notice).order_by(Notice.created_at.desc(), Notice.id.desc())))


def notices_for(affiliation_ids: list[int]) -> list[Notice]:
    if not affiliation_ids:
        return []
    return list(db.session.scalars(select(Notice).where(Notice.affiliation_id.in_(affiliation_ids))
                                   .order_by(Notice.created_at.desc(), Notice.id.desc())))


def status(notice: Notice) -> tuple[str, str]:
    """(css class, Japanese label) of the e-mail state, for the lists."""
    if notice.emailed_at is not None:
        return "done", "メール送信済"
    if notice.email_error:
        return "error", "メール送信失敗"
    return "", "システム内のみ（メール未送信）"
