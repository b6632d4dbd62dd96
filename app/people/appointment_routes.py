"""The appointments page (任命の記録): the committee and the question authors today, and
past appointments; the chair and the vice-chair record appointments and their ends here.
The secretariat reads it; an appointment it tries is refused and logged."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from scoring.jpdate import format_date_jp

from ..auth.routes import role_required
from ..extensions import db
from ..models import APPOINTED_ROLES, POSTS, ROLE_NAMES, Appointment, Staff, User
from . import bp
from .appointments import (APPOINTERS, ENDERS, POST_TITLES, appoint, current, end_appointment, history,
                           it_strategy_affiliation)
from .forms import AppointForm, EndAppointmentForm
from .routes import commit_or_flash
from .rules import APPOINTMENT_VIEW_ROLES, PeopleError


def _find_user(key: str) -> User:
    key = key.strip()
    user = db.session.scalar(select(User).where(User.username == key))
    if user is None:
        user = db.session.scalar(select(User).join(Staff, Staff.user_id == User.id)
                                 .where(Staff.staff_number == key))
    if user is None:
        raise PeopleError(f"ユーザーID又は職員番号「{key}」のアカウントは見つかりません。")
    return user


def _page(form: AppointForm, status: int = 200):
    now, past = current(), history()
    ids = {i for a in now + past for i in (a.user_id, a.appointed_by, a.ended_by) if i}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    staff_of = {s.user_id: s for s in db.session.scalars(select(Staff).where(Staff.user_id.in_(ids)))} \
        if ids else {}
    may = [r for r in APPOINTED_ROLES if current_user.has_role(*APPOINTERS[r])]
    form.role.choices = [c for c in form.role.choices if c.value == "" or c.value in may]
    return render_template(
        "admin/appointments.html", form=form, end_form=EndAppointmentForm(formdata=None),
        committee=[a for a in now if a.role != "author"], authors=[a for a in now if a.role == "author"],
        past=past, users=users, staff_of=staff_of, may_appoint=bool(may), posts=POSTS,
        post_titles=POST_TITLES, division=it_strategy_affiliation(),
        may_end=lambda a: current_user.has_role(*ENDERS[a.role]) and a.user_id != current_user.id), status


@bp.get("/appointments")
@role_required(*APPOINTMENT_VIEW_ROLES)
def appointments():
    return _page(AppointForm(formdata=None))


@bp.post("/appointments")
@role_required(*APPOINTMENT_VIEW_ROLES)
def appointment_new():
    form = AppointForm()
    # Every appointed role is accepted here: the operation refuses (and logs) whoever may not
    # appoint to it; the page's choices only help.
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _page(form, 400)
    made = {}

    def save():
        user = _find_user(form.user.data)
        made["a"] = appoint(user, form.role.data, current_user, form.started_on.data, form.note.data or "")
    if not commit_or_flash(save):
        return _page(form, 400)
    a = made["a"]
    flash(f"{a.user.display_name}さんを{ROLE_NAMES[a.role]}に任命しました（{format_date_jp(a.started_on)}から）。", "info")
    return redirect(url_for("admin.appointments"))


@bp.post("/appointments/<int:appointment_id>/end")
@role_required(*APPOINTMENT_VIEW_ROLES)
def appointment_end(appointment_id: int):
    appointment = db.session.get(Appointment, appointment_id) or abort(404)
    form = EndAppointmentForm()
    if not form.validate_on_submit():
        form.refusal_flashed()
        return redirect(url_for("admin.appointments"))
    if commit_or_flash(lambda: end_appointment(appointment, current_user, form.reason.data, form.ended_on.data)):
        flash(f"{appointment.user.display_name}さんの{ROLE_NAMES[appointment.role]}の任命を終了しました。"
              "記録は残ります。", "info")
    return redirect(url_for("admin.appointments"))
