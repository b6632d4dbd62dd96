"""A group's members (参加者): their record, additions and changes, a guardian's consent for
a member under 18, and leaving the group.

Who does what:
- the liaison of the group's division adds members, changes any field, records or
  withdraws a guardian's consent and records a member's leaving: the police keep the
  record (2(1) of the circular);
- the group's leader keeps the contact details and strengths of their members up to
  date (they know them first), and every member their own, with their consent to being
  named when commended; neither changes names, dates, the leader or the minor's consent;
- the committee and the secretariat read.
A minor takes part only once a guardian's consent is on record (Member.may_take_part):
no invitation before it, and access.require_participant refuses their pages."""
from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from scoring.jpdate import to_jst

from ..auth.routes import role_required
from ..core import audit
from ..extensions import db
from ..models import Member, User, VolunteerGroup, VolunteerInvitation, utcnow
from . import bp
from .access import is_leader_of, is_liaison_of, may_see_people, require_participant
from .group_forms import (ActionForm, ConsentForm, ContactForm, LeaveForm, MemberForm,
                          SelfContactForm, WithdrawConsentForm)
from .groups import VIEW_ROLES, group_or_404, liaisons_of, me, refuse

CONTACT_FIELDS = ("email", "phone", "strengths")
MEMBER_FIELDS = ("name", "name_kana", "organisation", "joined_on", "is_leader", "minor",
                 "publish_consent") + CONTACT_FIELDS


def today() -> date:
    return to_jst(utcnow()).date()


def member_or_404(member_id: int) -> Member:
    member = db.session.get(Member, member_id)
    if member is None:
        abort(404)
    return member


def _is_self(user: User, member: Member) -> bool:
    return member.user_id is not None and member.user_id == user.id


def _check_sees(user: User, member: Member) -> None:
    """The member's record: whoever sees the group's people, and the member themself."""
    if may_see_people(user, member.group):
        return
    if user.has_role("volunteer") and require_participant().id == member.id:
        return
    refuse("not_own_record")


def _liaison_only(user: User, group: VolunteerGroup) -> None:
    if not is_liaison_of(user, group):
        refuse("not_of_division")


def liaison_member(member_id: int) -> tuple[User, Member]:
    """The signed-in liaison and the member, refused unless they are of the member's division."""
    user = me()
    m = member_or_404(member_id)
    _liaison_only(user, m.group)
    return user, m


def revoke_open_invitations(member: Member, by: User) -> None:
    """A member has one open link at the most: a new one, or leaving, revokes the others."""
    now = utcnow()
    for inv in db.session.scalars(select(VolunteerInvitation).where(
            VolunteerInvitation.member_id == member.id, VolunteerInvitation.used_at.is_(None),
            VolunteerInvitation.revoked_at.is_(None))):
        inv.revoked_at, inv.revoked_by = now, by.id


def _clean(value):
    return value.strip() if isinstance(value, str) else value


def _apply(member: Member, form, fields) -> dict:
    """Copy the form's fields onto the member; the changes by field name (old, new), for
    the audit row (free text and contacts stay in the table, never on the log line)."""
    changes = {}
    for name in fields:
        value = _clean(getattr(form, name).data)
        if name in ("email", "phone"):
            value = value or None
        if getattr(member, name) != value:
            changes[name] = [str(getattr(member, name)) if getattr(member, name) is not None else None,
                             str(value) if value is not None else None]
            setattr(member, name, value)
    return changes


def _dates_refused(form, field_names) -> bool:
    """A date after today is a typo: refused on the field."""
    bad = False
    for name in field_names:
        field = getattr(form, name)
        if field.data and field.data > today():
            field.errors = list(field.errors) + [f"{field.label.text}に今日より後の日付は入力できません。"]
            bad = True
    return bad


def _one_leader(member: Member, user: User) -> None:
    """A group has one leader (代表者): naming a new one ends the previous one's."""
    if not member.is_leader:
        return
    for other in member.group.members:
        if other.id != member.id and other.is_leader:
            other.is_leader = False
            audit.record("volunteer_member_updated", user.id, member_id=other.id,
                         group_id=member.group_id, changes={"is_leader": ["True", "False"]})
            flash(f"代表者を{other.name}さんから{member.name}さんに変更しました。", "info")


@bp.get("/members/<int:member_id>")
@role_required(*VIEW_ROLES)
def member(member_id: int):
    user = me()
    m = member_or_404(member_id)
    _check_sees(user, m)
    liaison = is_liaison_of(user, m.group)
    invitations = list(db.session.scalars(select(VolunteerInvitation).where(
        VolunteerInvitation.member_id == m.id).order_by(VolunteerInvitation.id.desc()))) if liaison else []
    recorder = db.session.get(User, m.consent_recorded_by) if m.consent_recorded_by else None
    return render_template(
        "volunteers/member.html", member=m, group=m.group, is_liaison=liaison,
        may_edit=liaison or (m.active and (is_leader_of(user, m.group) or _is_self(user, m))),
        invitations=invitations, now=utcnow(), recorder=recorder, consent_form=ConsentForm(formdata=None),
        withdraw_form=WithdrawConsentForm(formdata=None), leave_form=LeaveForm(formdata=None, left_on=today()),
        action_form=ActionForm(formdata=None), liaisons=liaisons_of(m.group.division_id))


@bp.route("/groups/<int:group_id>/members/new", methods=["GET", "POST"])
@role_required("liaison")
def member_new(group_id: int):
    user = me()
    group = group_or_404(group_id)
    _liaison_only(user, group)
    form = MemberForm()
    if request.method == "GET":
        form.joined_on.data = today()
    if not form.validate_on_submit() or _dates_refused(form, ["joined_on"]):
        return render_template("volunteers/member_form.html", form=form, group=group, member=None, full=True)
    m = Member(group_id=group.id)
    _apply(m, form, MEMBER_FIELDS)
    db.session.add(m)
    db.session.flush()
    _one_leader(m, user)
    audit.record("volunteer_member_added", user.id, member_id=m.id, group_id=group.id)
    db.session.commit()
    flash(f"{m.name}さんを参加者に追加しました。", "info")
    if m.minor:
        flash("18歳未満の参加者です。保護者の同意を記録するまで、招待も活動への参加もできません。", "info")
    return redirect(url_for("volunteers.member", member_id=m.id))


@bp.route("/members/<int:member_id>/edit", methods=["GET", "POST"])
@role_required("liaison", "volunteer")
def member_edit(member_id: int):
    user = me()
    m = member_or_404(member_id)
    full, own = is_liaison_of(user, m.group), _is_self(user, m)
    if not full:
        if not user.has_role("volunteer"):
            refuse("not_of_division")
        require_participant()
        if not (own or is_leader_of(user, m.group)) or not m.active:
            refuse("not_own_record")
    form_class = MemberForm if full else (SelfContactForm if own else ContactForm)
    form = form_class(obj=m)
    fields = MEMBER_FIELDS if full else CONTACT_FIELDS + (("publish_consent",) if own else ())
    if not form.validate_on_submit() or (full and _dates_refused(form, ["joined_on"])):
        return render_template("volunteers/member_form.html", form=form, group=m.group, member=m, full=full)
    changes = _apply(m, form, fields)
    if full:
        _one_leader(m, user)
    if changes:
        audit.record("volunteer_member_updated", user.id, member_id=m.id, group_id=m.group_id,
                     changes=changes)
    db.session.commit()
    flash("参加者の情報を保存しました。" if changes else "変更はありませんでした。", "info")
    return redirect(url_for("volunteers.member", member_id=m.id))


@bp.post("/members/<int:member_id>/consent")
@role_required("liaison")
def member_consent(member_id: int):
    user, m = liaison_member(member_id)
    form = ConsentForm()
    if not m.minor:
        flash("18歳未満の参加者ではないため、保護者の同意は不要です。", "error")
    elif not form.validate_on_submit() or _dates_refused(form, ["consent_on"]):
        form.refusal_flashed()
    else:
        m.guardian_name, m.guardian_consent_on = form.guardian_name.data.strip(), form.consent_on.data
        m.consent_recorded_by = user.id
        audit.record("volunteer_consent_recorded", user.id, member_id=m.id, group_id=m.group_id,
                     guardian_name=m.guardian_name, consent_on=m.guardian_consent_on.isoformat())
        db.session.commit()
        flash(f"保護者（{m.guardian_name}さん）の同意を記録しました。{m.name}さんは活動に参加できます。", "info")
    return redirect(url_for("volunteers.member", member_id=m.id))


@bp.post("/members/<int:member_id>/consent/withdraw")
@role_required("liaison")
def member_consent_withdraw(member_id: int):
    user, m = liaison_member(member_id)
    form = WithdrawConsentForm()
    if not form.validate_on_submit():
        form.refusal_flashed()
    elif m.guardian_consent_on is None:
        flash("記録された保護者の同意はありません。", "error")
    else:
        # The guardian's name stays beside the withdrawal; only the consent's date goes.
        withdrawn = m.guardian_consent_on
        m.guardian_consent_on, m.consent_recorded_by = None, user.id
        audit.record("volunteer_consent_withdrawn", user.id, member_id=m.id, group_id=m.group_id,
                     consent_on=withdrawn.isoformat())
        db.session.commit()
        flash(f"保護者の同意の撤回を記録しました。{m.name}さんは活動に参加できなくなりました。", "info")
    return redirect(url_for("volunteers.member", member_id=m.id))


@bp.post("/members/<int:member_id>/leave")
@role_required("liaison")
def member_leave(member_id: int):
    user, m = liaison_member(member_id)
    form = LeaveForm()
    if not m.active:
        flash("この参加者は既に退会しています。", "error")
        return redirect(url_for("volunteers.member", member_id=m.id))
    if not form.validate_on_submit() or _dates_refused(form, ["left_on"]):
        form.refusal_flashed()
        return redirect(url_for("volunteers.member", member_id=m.id))
    if form.left_on.data < m.joined_on:
        flash("退会日は参加日より後の日付を入力してください。", "error")
        return redirect(url_for("volunteers.member", member_id=m.id))
    m.active, m.left_on, m.is_leader = False, form.left_on.data, False
    revoke_open_invitations(m, user)
    if m.user is not None:
        # The account was the member's only way in: its volunteer role goes, and with no
        # role left the account is closed; every session it has open ends now.
        account = m.user
        account.roles = [r for r in account.roles if r.role != "volunteer"]
        if not account.roles:
            account.active = False
        account.end_sessions()
    audit.record("volunteer_member_left", user.id, member_id=m.id, group_id=m.group_id,
                 left_on=m.left_on.isoformat(), target_user_id=m.user_id)
    db.session.commit()
    flash(f"{m.name}さんの退会を記録しました。", "info")
    return redirect(url_for("volunteers.group", group_id=m.group_id))
