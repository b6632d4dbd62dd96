"""Exam sessions (検定の実施回) and who may sit them: the vice-chair and chair schedule
sessions and register candidates, the chair admits non-staff candidates (第3-2 ただし書),
committee members see it all. Operations are in ops.py and registrations.py."""
from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from scoring.jpdate import fiscal_year_label

from ..auth.routes import role_required
from ..banks.versions import current_version, snapshot
from ..core.filters import jst
from ..exam.lobby import forget_room
from ..extensions import db
from ..models import (SESSION_FORMATS, Admission, Affiliation, BankVersion, ExamSession, Staff,
                      User, utcnow)
from ..register import invitations as invitation_ops
from ..room.ops import may_proctor
from . import bp, registrations, room_settings
from .eligibility import holders_of, refusals_for
from .forms import (DATETIME_FORMATS, AccommodationForm, AdmissionForm, ProctorForm, RegisterForm,
                    RemoveProctorForm, RevokeForm, RoomSettingsForm, SessionForm, UnregisterForm,
                    options)
from .ops import (FIELD_NAMES, OperationRefused, SessionValues, check_session, create_session,
                  current_fiscal_year, dashboard, detail_of, has_attempts, jst_to_utc,
                  locked_fields, update_session, utc_to_jst, values_of)

VIEW = ("committee", "vice_chair", "chair")
MANAGE = ("vice_chair", "chair")
ADMIT = ("chair",)


def _session_or_404(session_id: int) -> ExamSession:
    session = db.session.get(ExamSession, session_id)
    if session is None:
        abort(404)
    return session


def _can_manage() -> bool:
    return current_user.has_role(*MANAGE)


@bp.get("/")
@role_required(*VIEW)
def index():
    board = dashboard(utcnow())
    return render_template("sessions/index.html", board=board, formats=SESSION_FORMATS,
                           can_manage=_can_manage(), can_admit=current_user.has_role(*ADMIT))


# ---------------------------------------------------------------- create and edit

def _version_label(v: BankVersion) -> str:
    return f"{v.short}（{jst(v.created_at)} 登録、{v.question_count}問）"


def _prepare(form: SessionForm, session: ExamSession | None):
    """Fill the choices: stored bank versions (newest first), the levels of the chosen
    version, fiscal years around this one. Returns (the chosen version, its blueprint)."""
    versions = list(db.session.scalars(select(BankVersion).order_by(BankVersion.id.desc())))
    if not versions:
        return None, None
    form.bank_version_id.choices = options((v.id, _version_label(v)) for v in versions)
    chosen = next((v for v in versions if v.id == form.bank_version_id.data), versions[0])
    if form.bank_version_id.data is None and not form.is_submitted():
        form.bank_version_id.data = chosen.id
    blueprint = snapshot(chosen)[0]
    levels = {k: lv.name for k, lv in snapshot(versions[0])[0].levels.items()}
    levels.update({k: lv.name for k, lv in blueprint.levels.items()})
    if session is not None:
        levels.setdefault(session.level, session.level)
    form.level.choices = options(levels.items())
    this_year = current_fiscal_year()
    years = set(range(this_year - 1, this_year + 2))
    if session is not None:
        years.add(session.fiscal_year)
    form.fiscal_year.choices = options((y, fiscal_year_label(y)) for y in sorted(years))
    return chosen, blueprint


def _fill_from(form: SessionForm, values: SessionValues, names, posted: bool = False) -> None:
    """Put stored values into fields. For a post, locked fields (disabled, so not posted)
    get the exact stored values and the raw text a browser would have sent, so the
    required-field checks pass and a re-shown page shows them."""
    for name in names:
        value = getattr(values, name)
        if name in ("opens_at", "closes_at"):
            value = utc_to_jst(value)
        field = getattr(form, name)
        field.data = value
        if posted:
            text = value.strftime(DATETIME_FORMATS[0]) if isinstance(value, datetime) else value
            field.raw_data = ["" if text is None else str(text)]


def _values(form: SessionForm) -> SessionValues:
    return SessionValues(
        title=form.title.data, level=form.level.data, fiscal_year=form.fiscal_year.data,
        opens_at=jst_to_utc(form.opens_at.data), closes_at=jst_to_utc(form.closes_at.data),
        duration_minutes=form.duration_minutes.data, format=form.format.data,
        written_max=form.written_max.data, bank_version_id=form.bank_version_id.data,
        show_review=form.show_review.data)


def _render_form(form, session, locked, blueprint, status=200):
    return render_template("sessions/form.html", form=form, session=session, locked=locked,
                           blueprint=blueprint, has_attempts=session is not None and has_attempts(session),
                           names=FIELD_NAMES), status


def _save(form: SessionForm, session: ExamSession | None):
    """Validate the form and the rules across fields; errors go beside their fields."""
    locked = locked_fields(session)
    if form.is_submitted() and session is not None:
        # Locked fields are shown disabled and not posted: they keep the stored values.
        _fill_from(form, values_of(session), locked, posted=True)
    _chosen, blueprint = _prepare(form, session)
    if blueprint is None:
        flash("問題バンクが登録されていません。先に問題バージョンを登録してください。", "error")
        return redirect(url_for(".index"))
    if not form.validate_on_submit():
        return _render_form(form, session, locked, blueprint, 400 if form.is_submitted() else 200)
    values = _values(form)
    errors = check_session(values, session)
    if errors:
        for name, message in errors.items():
            getattr(form, name).errors = list(getattr(form, name).errors) + [message]
        return _render_form(form, session, locked, blueprint, 400)
    try:
        if session is None:
            session = create_session(values, current_user)
            flash("実施回を作成しました。受検者を登録してください。", "info")
        else:
            changed = update_session(session, values, current_user)
            flash("実施回を更新しました。" if changed else "変更はありませんでした。", "info")
        db.session.commit()
    except OperationRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _render_form(form, session, locked, blueprint, 409)
    return redirect(url_for(".detail", session_id=session.id))


@bp.route("/new", methods=["GET", "POST"])
@role_required(*MANAGE)
def new():
    form = SessionForm()
    if not form.is_submitted():
        version = current_version()
        form.fiscal_year.data = current_fiscal_year()
        form.format.data = "cbt"
        if version is not None:
            form.bank_version_id.data = version.id
            levels = snapshot(version)[0].levels
            first = next((k for k, lv in levels.items() if lv.delivered), next(iter(levels), None))
            form.level.data = first
    return _save(form, None)


@bp.route("/<int:session_id>/edit", methods=["GET", "POST"])
@role_required(*MANAGE)
def edit(session_id: int):
    session = _session_or_404(session_id)
    form = SessionForm()
    if not form.is_submitted():
        _fill_from(form, values_of(session), FIELD_NAMES)
    return _save(form, session)


@bp.get("/<int:session_id>")
@role_required(*VIEW)
def detail(session_id: int):
    session = _session_or_404(session_id)
    blueprint = snapshot(session.bank_version)[0]
    return render_template("sessions/detail.html", session=session, detail=detail_of(session),
                           rows=registrations.registrations(session), formats=SESSION_FORMATS,
                           level_name=_level_name(session, blueprint), can_manage=_can_manage(), now=utcnow(),
                           proctors=room_settings.proctors_of(session), start_modes=room_settings.START_MODES,
                           can_proctor=may_proctor(current_user, session.id),
                           invited=invitation_ops.invited_to(session),
                           requirements=invitation_ops.requirements(session))


def _level_name(session: ExamSession, blueprint) -> str:
    lv = blueprint.levels.get(session.level)
    return lv.name if lv else session.level


# ---------------------------------------------------------------- registration

def _candidates_page(session: ExamSession, form: RegisterForm, outcome=None, status=200):
    q = request.args.get("q", "")
    affiliation_id = request.args.get("affiliation", type=int)
    found, total = registrations.search_staff(q, affiliation_id)
    blueprint = snapshot(session.bank_version)[0]
    return render_template(
        "sessions/candidates.html", session=session, form=form, outcome=outcome, found=found,
        total=total, q=q, affiliation_id=affiliation_id,
        affiliations=list(db.session.scalars(select(Affiliation).where(Affiliation.active)
                                             .order_by(Affiliation.code))),
        registered=registrations.registered_user_ids(session),
        rules=refusals_for(session.level, found), holders=holders_of(session.level, found),
        accounts={s.id: registrations.account_refusals(s) for s in found},
        level_name=_level_name(session, blueprint), closed=session.closes_at <= utcnow()), status


@bp.get("/<int:session_id>/candidates")
@role_required(*MANAGE)
def candidates(session_id: int):
    session = _session_or_404(session_id)
    return _candidates_page(session, RegisterForm())


@bp.post("/<int:session_id>/candidates")
@role_required(*MANAGE)
def register(session_id: int):
    session = _session_or_404(session_id)
    form = RegisterForm()
    if not form.validate_on_submit():
        abort(400)
    if form.affiliation_id.data:
        if db.session.get(Affiliation, form.affiliation_id.data) is None:
            abort(404)
        people = list(db.session.scalars(select(Staff).where(
            Staff.affiliation_id == form.affiliation_id.data, Staff.user_id.is_not(None))
            .order_by(Staff.staff_number)))
    else:
        ids = form.staff_id.data or []
        people = list(db.session.scalars(select(Staff).where(Staff.id.in_(ids)).order_by(Staff.staff_number))) \
            if ids else []
        if len(people) != len(set(ids)):
            abort(404)
    if not people:
        flash("登録する職員を選んでください。", "error")
        return _candidates_page(session, form, status=400)
    try:
        outcome = registrations.register_staff(session, people, current_user, utcnow(),
                                               frozenset(form.confirm_held.data or ()))
        db.session.commit()
    except OperationRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _candidates_page(session, form, status=409)
    return _candidates_page(session, RegisterForm(formdata=None), outcome)


@bp.post("/<int:session_id>/registrations/<int:user_id>/delete")
@role_required(*MANAGE)
def unregister(session_id: int, user_id: int):
    session = _session_or_404(session_id)
    if not UnregisterForm().validate_on_submit():
        abort(400)
    try:
        registrations.unregister(session, user_id, current_user)
        db.session.commit()
        flash("登録を解除しました。", "info")
    except OperationRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for(".detail", session_id=session.id))


# ---------------------------------------------------------------- admissions (chair)

def _admissions_page(form: AdmissionForm, status=200):
    form.staff_id.choices = options((s.id, f"{s.name_kanji}（{s.staff_number}、{s.employment_category}）")
                                    for s in registrations.admissible_staff())
    return render_template("sessions/admissions.html", form=form, admissions=registrations.admissions(),
                           can_admit=current_user.has_role(*ADMIT)), status


@bp.get("/admissions")
@role_required(*VIEW)
def admissions():
    return _admissions_page(AdmissionForm())


@bp.post("/admissions")
@role_required(*ADMIT)
def admit():
    form = AdmissionForm()
    if not form.validate_on_submit():
        return _admissions_page(form, 400)
    staff = db.session.get(Staff, form.staff_id.data)
    if staff is None:
        form.staff_id.errors = ["選んだ者が見つかりません。"]
        return _admissions_page(form, 404)
    try:
        registrations.admit(staff, form.reason.data, current_user)
        db.session.commit()
    except OperationRefused as exc:
        db.session.rollback()
        form.staff_id.errors = list(form.staff_id.errors) + [str(exc)]
        return _admissions_page(form, 409)
    flash(f"{staff.name_kanji}さんの受検を許可しました。", "info")
    return redirect(url_for(".admissions"))


@bp.post("/admissions/<int:admission_id>/revoke")
@role_required(*ADMIT)
def revoke(admission_id: int):
    admission = db.session.get(Admission, admission_id)
    if admission is None:
        abort(404)
    if not RevokeForm().validate_on_submit():
        abort(400)
    try:
        registrations.revoke(admission, current_user, utcnow())
        db.session.commit()
        flash("受検の許可を取り消しました。", "info")
    except OperationRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for(".admissions"))


# ---------------------------------------------------------------- the exam room's settings

def _room_page(session: ExamSession, form: RoomSettingsForm, status=200):
    proctor_form = ProctorForm(formdata=None)
    proctor_form.user_id.choices = options((u.id, u.display_name)
                                           for u in room_settings.assignable(session))
    return render_template("sessions/room.html", session=session, form=form, proctor_form=proctor_form,
                           remove_form=RemoveProctorForm(formdata=None),
                           proctors=room_settings.proctors_of(session),
                           started=room_settings.room_started(session)), status


@bp.route("/<int:session_id>/room", methods=["GET", "POST"])
@role_required(*MANAGE)
def room_setup(session_id: int):
    """試験会場の設定: the start mode, the access rules, the proctors."""
    session = _session_or_404(session_id)
    form = RoomSettingsForm()
    if not form.is_submitted():
        values = room_settings.settings_of(session)
        for name in ("start_mode", "access_code", "allowed_networks", "seb_config_keys"):
            getattr(form, name).data = getattr(values, name)
        db.session.commit()           # settings_of may have made the session's settings row
        return _room_page(session, form)
    if not form.validate_on_submit():
        return _room_page(session, form, 400)
    values = room_settings.RoomSettings(form.start_mode.data, form.access_code.data or "",
                                        form.allowed_networks.data or "", form.seb_config_keys.data or "")
    errors = room_settings.check_settings(values)
    if errors:
        for name, messages in errors.items():
            getattr(form, name).errors = list(getattr(form, name).errors) + messages
        return _room_page(session, form, 400)
    try:
        changed = room_settings.save_settings(session, values, current_user)
        db.session.commit()
    except OperationRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _room_page(session, form, 409)
    forget_room(session.id)
    flash("試験会場の設定を保存しました。" if changed else "変更はありませんでした。", "info")
    return redirect(url_for(".room_setup", session_id=session.id))


def _proctor_change(session_id: int, form, change, message: str):
    session = _session_or_404(session_id)
    if not form.validate_on_submit():
        abort(400)
    try:
        change(session)
        db.session.commit()
        flash(message, "info")
    except OperationRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for(".room_setup", session_id=session.id) + "#proctors")


@bp.post("/<int:session_id>/proctors")
@role_required(*MANAGE)
def proctor_add(session_id: int):
    form = ProctorForm()
    return _proctor_change(session_id, form,
                           lambda s: room_settings.assign_proctor(s, form.user_id.data, current_user),
                           "試験監督者を割り当てました。")


@bp.post("/<int:session_id>/proctors/<int:user_id>/delete")
@role_required(*MANAGE)
def proctor_remove(session_id: int, user_id: int):
    return _proctor_change(session_id, RemoveProctorForm(),
                           lambda s: room_settings.remove_proctor(s, user_id, current_user),
                           "試験監督者の割り当てを外しました。")


# ---------------------------------------------------------------- accommodations (合理的配慮)

@bp.route("/<int:session_id>/registrations/<int:user_id>/accommodation", methods=["GET", "POST"])
@role_required(*MANAGE)
def accommodation(session_id: int, user_id: int):
    session = _session_or_404(session_id)
    registration = registrations.registration_of(session.id, user_id)
    if registration is None:
        abort(404)
    form = AccommodationForm()
    if not form.is_submitted():
        form.extra_minutes.data = registration.extra_minutes
        form.extra_percent.data = registration.extra_percent
        form.reason.data = registration.accommodation_reason
    refusal = room_settings.accommodation_refusal(registration)
    status = 200
    if form.is_submitted():
        status = 400
        if form.validate_on_submit():
            try:
                changed = room_settings.set_accommodation(
                    registration, form.extra_minutes.data or 0, form.extra_percent.data or 0,
                    form.reason.data, current_user, utcnow())
                db.session.commit()
                flash("延長時間を保存しました。" if changed else "変更はありませんでした。", "info")
                return redirect(url_for(".detail", session_id=session.id) + "#registered")
            except OperationRefused as exc:
                db.session.rollback()
                flash(str(exc), "error")
                status = 409
    staff = db.session.scalar(select(Staff).where(Staff.user_id == user_id))
    return render_template("sessions/accommodation.html", session=session, registration=registration,
                           person=db.session.get(User, user_id), staff=staff, form=form,
                           refusal=refusal, set_by=db.session.get(User, registration.accommodation_by)
                           if registration.accommodation_by else None), status
