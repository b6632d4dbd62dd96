"""Commendations (賞揚, circular 3(1)) of a member or of a whole group: recorded by a liaison
of the group's division or by the committee (its chair and vice-chair included), read by
them and the secretariat; and each member's own consent to being named on the public
honours page (app/honours)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from sqlalchemy import select

from scoring.jpdate import format_date_jp
from scoring.volunteer_hours import may_name_in_public

from ..auth.routes import role_required
from ..core import audit
from ..extensions import db
from ..models import Commendation, Member, User, VolunteerGroup
from . import access, bp
from .activities import guarded, me, refuse, today_jst
from .activity_forms import CommendationForm, ConfirmForm, ConsentForm

COMMENDERS = ("liaison", "committee", "vice_chair", "chair")


def may_commend(user: User, group: VolunteerGroup) -> bool:
    return user.has_role("committee", "vice_chair", "chair") or access.is_liaison_of(user, group)


def _targets(user: User) -> list[tuple[str, str]]:
    out = []
    for g in access.visible_groups(user):
        if may_commend(user, g):
            out.append((f"group:{g.id}", f"{g.name}（団体として）"))
            out += [(f"member:{m.id}", f"{g.name} ・ {m.name}") for m in g.members if m.active]
    return out


def _parse_target(user: User, value: str) -> tuple[VolunteerGroup, Member | None] | None:
    kind, _, raw = (value or "").partition(":")
    if not raw.isdigit():
        return None
    if kind == "group":
        group = db.session.get(VolunteerGroup, int(raw))
        return (group, None) if group is not None else None
    if kind == "member":
        member = db.session.get(Member, int(raw))
        return (member.group, member) if member is not None else None
    return None


def _index_page(user: User, form: CommendationForm | None, status: int = 200):
    groups = access.visible_groups(user)
    items = list(db.session.scalars(
        select(Commendation).where(Commendation.group_id.in_([g.id for g in groups]))
        .order_by(Commendation.awarded_on.desc(), Commendation.id.desc())))
    targets = _targets(user)
    if form is not None:
        form.target.choices = [("", "選んでください")] + targets
    return render_template("volunteers/honour_commendations.html", items=items,
                           form=form if targets and user.has_role(*COMMENDERS) else None,
                           delete_form=ConfirmForm(), date_jp=format_date_jp,
                           may_delete={i.id: may_commend(user, i.group) and user.has_role(*COMMENDERS)
                                       for i in items},
                           public={i.id: i.member is None or may_name_in_public(
                               i.member.publish_consent, i.member.minor, i.member.guardian_consent_on)
                               for i in items}), status


@bp.get("/commendations")
@role_required("liaison", *access.OVERSIGHT_ROLES)
def commendation_index():
    form = CommendationForm()
    form.awarded_on.data = today_jst()
    return _index_page(me(), form)


@bp.post("/commendations")
@role_required(*COMMENDERS)
def commendation_record():
    user = me()
    form = CommendationForm()
    form.target.choices = _targets(user)
    valid = form.validate_on_submit()
    if form.csrf_token.errors:
        abort(400)
    target = _parse_target(user, form.target.data)
    if target is None:
        form.target.errors = list(form.target.errors) + ["賞揚の対象（団体または会員）を選んでください。"]
        valid = False
    elif not may_commend(user, target[0]):
        refuse(group_id=target[0].id)
    if valid and form.awarded_on.data > today_jst():
        form.awarded_on.errors = list(form.awarded_on.errors) + ["授与日が未来の日付です。授与した日を入力してください。"]
        valid = False
    if not valid:
        return _index_page(user, form, 400)
    group, member = target
    item = Commendation(group_id=group.id, member_id=member.id if member else None, kind=form.kind.data,
                        awarded_on=form.awarded_on.data, reason=form.reason.data.strip(),
                        awarded_by=form.awarded_by.data.strip(), recorded_by=user.id)
    db.session.add(item)
    db.session.flush()
    audit.record("commendation_recorded", user.id, group_id=group.id, member_id=item.member_id,
                 commendation_id=item.id, kind=item.kind, awarded_on=item.awarded_on)
    db.session.commit()
    flash(f"{member.name if member else group.name}への{item.kind_name}を記録しました。", "success")
    return redirect(url_for("volunteers.commendation_index"))


@bp.post("/commendations/<int:commendation_id>/delete")
@role_required(*COMMENDERS)
def commendation_delete(commendation_id: int):
    user, item = guarded(Commendation, commendation_id, may_commend)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    audit.record("commendation_deleted", user.id, group_id=item.group_id, member_id=item.member_id,
                 commendation_id=item.id, kind=item.kind, awarded_on=item.awarded_on,
                 awarded_by=item.awarded_by, reason=item.reason)
    db.session.delete(item)
    db.session.commit()
    flash("賞揚の記録を削除しました。", "success")
    return redirect(url_for("volunteers.commendation_index"))


@bp.route("/my/publication", methods=["GET", "POST"])
@role_required("volunteer")
def publication_consent():
    """The member's own switch: named on the public honours page, or not."""
    user = me()
    member = access.member_of(user)
    if member is None:
        abort(404)
    form = ConsentForm()
    if form.validate_on_submit():
        if form.publish.data != member.publish_consent:
            member.publish_consent = bool(form.publish.data)
            audit.record("publication_consent_changed", user.id, member_id=member.id,
                         group_id=member.group_id, consent=member.publish_consent)
            db.session.commit()
        flash("公表への同意を取り消しました。" if not member.publish_consent else
              "公表に同意しました。賞揚を受けたとき、公開のページに氏名が載ります。", "success")
        return redirect(url_for("volunteers.publication_consent"))
    if form.csrf_token.errors:
        abort(400)
    form.publish.data = member.publish_consent
    items = list(db.session.scalars(select(Commendation).where(Commendation.member_id == member.id)
                                    .order_by(Commendation.awarded_on.desc())))
    return render_template("volunteers/honour_consent.html", form=form, member=member, items=items,
                           date_jp=format_date_jp,
                           named=may_name_in_public(member.publish_consent, member.minor,
                                                    member.guardian_consent_on))
