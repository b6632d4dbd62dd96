"""A member's account by invitation (招待): the liaison of the member's division issues a
link; the member opens it, with no sign-in, chooses a user name and a password, and has
an account with the volunteer role linked to their member record. There is no other way
to a volunteer account (no open sign-up).

The link is single use and expires (VOLUNTEER_INVITATION_DAYS, 7 by default). Its token
travels in the query string (the logs leave query strings out) and only its SHA-256 is
stored; the liaison reads it once, on the page the issue answers with, and by e-mail if
the member has an address. A new link for a member revokes the previous one. Used,
revoked, expired and unknown links are refused with a page that says so, and logged."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_user
from sqlalchemy import func, select, update

from scoring.jpdate import format_date_jp, to_jst

from ..auth.routes import _fresh_session, role_required
from ..core import audit, mailer
from ..extensions import db
from ..models import Member, User, UserRole, VolunteerInvitation, utcnow
from . import bp
from .group_forms import ActionForm, JoinForm
from .groups import me
from .members import _liaison_only, liaison_member, revoke_open_invitations

DEFAULT_DAYS = 7
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
NO_ADDRESS = "参加者のメールアドレスが登録されていません"

# Why a link opens no form: (status, the page's heading, what to do).
LINK_REFUSALS = {
    "unknown": (404, "招待リンクが正しくありません",
                "リンクが途中で切れていないか確認してください。解決しない場合は、担当所属の連絡担当に新しい招待リンクを依頼してください。"),
    "used": (410, "この招待リンクは使用済みです",
             "招待リンクは一度しか使えません。アカウントを作成済みの場合は、ログイン画面からログインしてください。"),
    "revoked": (410, "この招待リンクは取り消されています",
                "新しい招待リンクが発行されている可能性があります。担当所属の連絡担当にお問い合わせください。"),
    "expired": (410, "この招待リンクは有効期限が切れています",
                "担当所属の連絡担当に新しい招待リンクを依頼してください。"),
    "has_account": (410, "アカウントは作成済みです",
                    "この参加者にはすでにアカウントがあります。ログイン画面からログインしてください。"),
    "cannot_take_part": (403, "現在、アカウントを作成できません",
                         "参加の条件（18歳未満の方は保護者の同意の記録など）が整っていません。担当所属の連絡担当にお問い合わせください。"),
}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _days() -> int:
    return int(current_app.config.get("VOLUNTEER_INVITATION_DAYS") or DEFAULT_DAYS)


def why_not_invite(member: Member) -> str | None:
    """Why no link may be issued for the member (Japanese), or None."""
    if member.user_id is not None:
        return "この参加者にはすでにアカウントがあります。"
    if not member.active:
        return "退会した参加者は招待できません。"
    if not member.may_take_part:
        return "18歳未満の参加者は、保護者の同意を記録するまで招待できません。"
    return None


def issue(member: Member, by: User, now: datetime) -> tuple[VolunteerInvitation, str]:
    """A new link for the member (the previous open one is revoked); the token is returned
    to be shown once and is never stored."""
    revoke_open_invitations(member, by)
    token = secrets.token_urlsafe(32)
    inv = VolunteerInvitation(member_id=member.id, token_hash=token_hash(token), issued_by=by.id,
                              issued_at=now, expires_at=now + timedelta(days=_days()))
    db.session.add(inv)
    db.session.flush()
    audit.record("volunteer_invitation_issued", by.id, invitation_id=inv.id, member_id=member.id,
                 group_id=member.group_id, until=inv.expires_at)
    return inv, token


def join_url(token: str) -> str:
    return url_for("volunteers.join", t=token, _external=True)


def compose(inv: VolunteerInvitation, link: str) -> mailer.Mail | None:
    member = inv.member
    address = (member.email or "").strip()
    if not address:
        return None
    until = to_jst(inv.expires_at)
    body = "\n".join([
        f"{member.name} 様",
        "",
        f"{member.group.name}の参加者として、サイバー防犯ボランティアのアカウント登録にご招待します。",
        f"担当所属: {member.group.division.name}",
        "",
        "次のリンクを開き、ユーザーIDとパスワードを決めてください（リンクは一度だけ使えます）。",
        link,
        "",
        f"有効期限: {format_date_jp(until.date())} {until:%H:%M} まで",
        "",
        "このメールに心当たりがない場合は、リンクを開かずに削除してください。",
        "（このメールはサイバー対処能力検定システムから送信しています。）",
    ])
    return mailer.Mail(address, "【招待】サイバー防犯ボランティア アカウント登録のご案内", body)


def send_email(inv: VolunteerInvitation, link: str, by: User) -> str | None:
    """After the commit that stored the invitation: e-mail it when SMTP is configured and
    the member has an address; the outcome is recorded (the caller commits). Returns the
    failure, if any, for the liaison's page."""
    mail = compose(inv, link)
    if mail is None or not mailer.configured(current_app.config):
        return None
    [error] = mailer.send_all(current_app.config, [mail])
    if error is None:
        inv.emailed_at, inv.email_error = utcnow(), None
        audit.record("volunteer_invitation_emailed", by.id, invitation_id=inv.id, to=mail.to)
    else:
        inv.email_error = error
        audit.record("volunteer_invitation_email_failed", by.id, invitation_id=inv.id, error=error)
    return error


@bp.post("/members/<int:member_id>/invite")
@role_required("liaison")
def invite(member_id: int):
    user, member = liaison_member(member_id)
    form = ActionForm()
    if not form.validate_on_submit():
        form.refusal_flashed()
        return redirect(url_for("volunteers.member", member_id=member.id))
    reason = why_not_invite(member)
    if reason:
        audit.record_now("volunteer_invitation_refused", user.id, member_id=member.id,
                         reason="not_invitable")
        flash(reason, "error")
        return redirect(url_for("volunteers.member", member_id=member.id))
    inv, token = issue(member, user, utcnow())
    db.session.commit()
    link = join_url(token)
    error = send_email(inv, link, user)
    db.session.commit()
    # Answered here, not after a redirect: the link is on this page once and nowhere else.
    return render_template("volunteers/invitation.html", member=member, invitation=inv, link=link,
                           mailed=inv.emailed_at is not None, error=error)


@bp.post("/invitations/<int:invitation_id>/revoke")
@role_required("liaison")
def invitation_revoke(invitation_id: int):
    user = me()
    inv = db.session.get(VolunteerInvitation, invitation_id)
    if inv is None:
        abort(404)
    _liaison_only(user, inv.member.group)
    form = ActionForm()
    if not form.validate_on_submit():
        form.refusal_flashed()
    elif inv.state(utcnow()) != "open":
        flash("この招待リンクは既に使用済み・取消し済み、または期限切れです。", "error")
    else:
        inv.revoked_at, inv.revoked_by = utcnow(), user.id
        audit.record("volunteer_invitation_revoked", user.id, invitation_id=inv.id, member_id=inv.member_id)
        db.session.commit()
        flash("招待リンクを取り消しました。", "info")
    return redirect(url_for("volunteers.member", member_id=inv.member_id))


def _link_state(token: str, now: datetime) -> tuple[str | None, VolunteerInvitation | None]:
    """(refusal code or None, the invitation) for the token of a link."""
    inv = db.session.scalar(select(VolunteerInvitation).where(
        VolunteerInvitation.token_hash == token_hash(token))) if TOKEN.match(token) else None
    if inv is None:
        return "unknown", None
    state = inv.state(now)
    if state != "open":
        return state, inv
    if inv.member.user_id is not None:
        return "has_account", inv
    if not inv.member.may_take_part:
        return "cannot_take_part", inv
    return None, inv


def _refused(code: str, inv: VolunteerInvitation | None):
    status, title, message = LINK_REFUSALS[code]
    audit.record_now("volunteer_invitation_refused", None, reason=code,
                     invitation_id=inv.id if inv else None)
    return render_template("volunteers/join_refused.html", title=title, message=message), status


@bp.after_request
def _no_referrer(resp):
    """The join page's address holds the token: no link or resource of the page is told it,
    not even on the same site."""
    if request.endpoint == "volunteers.join":
        resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


@bp.route("/join", methods=["GET", "POST"])
def join():
    """Public: the invitation's own page. It shows the group's name only (no personal data
    on a page anyone holding the link can open)."""
    token = request.args.get("t", "")
    now = utcnow()
    code, inv = _link_state(token, now)
    if code:
        return _refused(code, inv)
    form = JoinForm()
    if not form.validate_on_submit():
        return render_template("volunteers/join.html", form=form, group=inv.member.group, invitation=inv)
    username = form.username.data.strip()
    if db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        form.username.errors.append(f"ユーザーID「{username}」は既に使われています。別のIDを選んでください。")
        return render_template("volunteers/join.html", form=form, group=inv.member.group, invitation=inv)
    member = inv.member
    user = User(username=username, display_name=member.name)
    user.set_password(form.password.data)
    user.roles.append(UserRole(role="volunteer"))
    db.session.add(user)
    db.session.flush()
    # Claimed by one statement: of two submissions of one link, one makes an account.
    claimed = db.session.execute(
        update(VolunteerInvitation)
        .where(VolunteerInvitation.id == inv.id, VolunteerInvitation.used_at.is_(None),
               VolunteerInvitation.revoked_at.is_(None), VolunteerInvitation.expires_at > now)
        .values(used_at=now, user_id=user.id)).rowcount
    if claimed != 1:
        db.session.rollback()
        return _refused("used", None)
    member.user_id = user.id
    audit.record("volunteer_account_created", user.id, invitation_id=inv.id, member_id=member.id,
                 group_id=member.group_id, target_user_id=user.id, username=username)
    audit.record("login", user.id, via="invitation")
    db.session.commit()
    _fresh_session()                # a new session, as at any sign-in
    login_user(user)
    flash("アカウントを作成しました。次回からはユーザーIDとパスワードでログインしてください。", "info")
    return redirect(url_for("volunteers.home"))
