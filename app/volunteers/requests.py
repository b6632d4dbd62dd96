"""Requests from a volunteer group to the police (要望, circular 2(1)) and the answer of
the division in charge. A member who may take part files one for their group; a liaison
of the group's division answers; the group, its division and the oversight roles read
them, each with its dates and who wrote it."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from ..auth.routes import role_required
from ..core import audit
from ..extensions import db
from ..models import User, VolunteerGroup, VolunteerRequest, utcnow
from . import access, bp
from .activities import READERS, group_or_404, guarded, may_read, me, refuse
from .activity_forms import AnswerForm, RequestForm


def may_file(user: User, group: VolunteerGroup) -> bool:
    """The group's leader or any member who may take part."""
    member = access.member_of(user)
    return member is not None and member.group_id == group.id and member.may_take_part


def _readable(request_id: int) -> tuple[User, VolunteerRequest]:
    return guarded(VolunteerRequest, request_id, may_read)


def filer_label(user: User, item: VolunteerRequest) -> str:
    """Who filed it: by name for those who see the group's people, or for the filer."""
    if item.filed_by == user.id or access.may_see_people(user, item.group):
        member = item.filer.volunteer
        return member.name if member is not None else item.filer.display_name
    return "団体の会員"


def _index_page(user: User, form: RequestForm | None, status: int = 200):
    groups = access.visible_groups(user)
    show = request.args.get("show", "")
    query = (select(VolunteerRequest).where(VolunteerRequest.group_id.in_([g.id for g in groups]))
             .order_by(VolunteerRequest.filed_at.desc(), VolunteerRequest.id.desc()))
    if show == "open":
        query = query.where(VolunteerRequest.answer.is_(None))
    items = list(db.session.scalars(query))
    own = access.member_of(user)
    may = own is not None and may_file(user, own.group)
    return render_template("volunteers/request_index.html", items=items, show=show,
                           form=form if may else None, own_group=own.group if may else None,
                           filer=lambda i: filer_label(user, i)), status


@bp.get("/requests")
@role_required(*READERS)
def request_index():
    return _index_page(me(), RequestForm())


@bp.post("/groups/<int:group_id>/requests")
@role_required("volunteer")
def request_file(group_id: int):
    user, group = me(), group_or_404(group_id)
    if not may_file(user, group):
        refuse(group_id=group.id)
    form = RequestForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _index_page(user, form, 400)
    item = VolunteerRequest(group_id=group.id, subject=form.subject.data.strip(),
                            body=form.body.data.strip(), filed_by=user.id)
    db.session.add(item)
    db.session.flush()
    audit.record("volunteer_request_filed", user.id, group_id=group.id, request_id=item.id)
    db.session.commit()
    flash("要望を担当所属へ送りました。回答はこのページに表示されます。", "success")
    return redirect(url_for("volunteers.request_detail", request_id=item.id))


def _detail_page(user: User, item: VolunteerRequest, form: AnswerForm | None, status: int = 200):
    liaison = access.is_liaison_of(user, item.group)
    if liaison and form is None:
        form = AnswerForm(answer=item.answer)
    return render_template("volunteers/request_detail.html", item=item, filer=filer_label(user, item),
                           form=form if liaison else None), status


@bp.get("/requests/<int:request_id>")
@role_required(*READERS)
def request_detail(request_id: int):
    user, item = _readable(request_id)
    return _detail_page(user, item, None)


@bp.post("/requests/<int:request_id>/answer")
@role_required("liaison")
def request_answer(request_id: int):
    """The division's answer; a later answer replaces it (the audit log keeps the first)."""
    user, item = _readable(request_id)
    if not access.is_liaison_of(user, item.group):
        refuse(group_id=item.group_id, request_id=item.id)
    form = AnswerForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _detail_page(user, item, form, 400)
    previous = item.answer
    item.answer, item.answered_by, item.answered_at = form.answer.data.strip(), user.id, utcnow()
    audit.record("volunteer_request_answered", user.id, group_id=item.group_id, request_id=item.id,
                 previous=previous, answer=item.answer)
    db.session.commit()
    flash("回答を記録しました。団体の会員に表示されます。", "success")
    return redirect(url_for("volunteers.request_detail", request_id=item.id))
