"""The affiliation head (所属の長): their own staff only (domain.md), the levels they hold,
their periodic training (第3-10), pass notices (第3-8), and the sessions still ahead that
the head can encourage them to sit (第3-11).

Every query is limited to the affiliations whose head is the signed-in user; anything
else (another affiliation's person or notice) is 404, as if it did not exist."""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from scoring.eligibility import LEVEL_NAMES, refusals
from scoring.passrules import LEVEL_ORDER

from ..auth.routes import role_required
from ..core import audit
from ..extensions import db
from ..models import (PASS_SOURCES, Admission, Affiliation, ExamSession, Notice, PassRecord,
                      Registration, Staff, TrainingRecord, utcnow)
from . import head_bp as bp, notices as notice_ops, training as training_ops
from .forms import MarkReadForm
from .passes import current_fiscal_year


def my_affiliations() -> list[Affiliation]:
    return list(db.session.scalars(select(Affiliation).where(Affiliation.head_user_id == current_user.id)
                                   .order_by(Affiliation.code)))


def _staff_of(affiliation_ids: list[int]) -> list[Staff]:
    if not affiliation_ids:
        return []
    return list(db.session.scalars(select(Staff).where(Staff.affiliation_id.in_(affiliation_ids))
                                   .order_by(Staff.affiliation_id, Staff.name_kana, Staff.staff_number)))


def _passes_of(staff_ids: list[int]) -> dict[int, dict[str, PassRecord]]:
    out: dict[int, dict[str, PassRecord]] = {}
    if staff_ids:
        for r in db.session.scalars(select(PassRecord).where(PassRecord.staff_id.in_(staff_ids))):
            out.setdefault(r.staff_id, {})[r.level] = r
    return out


@dataclass(frozen=True)
class Upcoming:
    session: ExamSession
    eligible: list[Staff]        # may sit and have not passed this level yet
    registered: set[int]         # staff ids already registered for the session


def _upcoming(staff: list[Staff], passes: dict[int, dict[str, PassRecord]]) -> list[Upcoming]:
    now = utcnow()
    sessions = list(db.session.scalars(select(ExamSession).where(ExamSession.closes_at > now)
                                       .order_by(ExamSession.opens_at)))
    admitted = set(db.session.scalars(select(Admission.staff_id).where(
        Admission.staff_id.in_([s.id for s in staff]), Admission.revoked_at.is_(None)))) if staff else set()
    out = []
    for session in sessions:
        user_ids = {s.user_id for s in staff if s.user_id}
        registered_users = set(db.session.scalars(select(Registration.user_id).where(
            Registration.session_id == session.id, Registration.user_id.in_(user_ids)))) if user_ids else set()
        eligible = []
        for s in staff:
            held = set(passes.get(s.id, {}))
            if session.level in held:
                continue
            if not refusals(session.level, s.employment_category, s.id in admitted, held):
                eligible.append(s)
        out.append(Upcoming(session, eligible, {s.id for s in staff if s.user_id in registered_users}))
    return out


@bp.get("/")
@role_required("head")
def index():
    mine = my_affiliations()
    ids = [a.id for a in mine]
    staff = _staff_of(ids)
    passes = _passes_of([s.id for s in staff])
    year = current_fiscal_year()
    training = training_ops.training_rows(affiliation_ids=ids, current_year=year)
    notices = notice_ops.notices_for(ids)
    return render_template("head/index.html", affiliations=mine, staff=staff, passes=passes,
                           levels=LEVEL_ORDER, level_names=LEVEL_NAMES, training=training, year=year,
                           due_count=sum(1 for t in training if t.status.due_this_year),
                           notices=notices, unread=sum(1 for n in notices if n.read_at is None),
                           upcoming=_upcoming(staff, passes), read_form=MarkReadForm(),
                           names={a.id: a.name for a in mine})


def _own_staff(staff_id: int) -> Staff:
    staff = db.session.get(Staff, staff_id)
    if staff is None or staff.affiliation_id not in {a.id for a in my_affiliations()}:
        # Another affiliation's person: refused and logged, and shown as not found.
        audit.record_now("head_access_refused", current_user.id, staff_id=staff_id)
        abort(404)
    return staff


@bp.get("/staff/<int:staff_id>")
@role_required("head")
def staff_detail(staff_id: int):
    staff = _own_staff(staff_id)
    records = sorted(_passes_of([staff.id]).get(staff.id, {}).values(),
                     key=lambda r: LEVEL_ORDER.index(r.level))
    attended = list(db.session.scalars(select(TrainingRecord).where(TrainingRecord.staff_id == staff.id)
                                       .order_by(TrainingRecord.attended_on.desc())))
    status = next((t for t in training_ops.training_rows(affiliation_ids=[staff.affiliation_id])
                   if t.staff.id == staff.id), None)
    return render_template("head/staff.html", staff=staff, records=records, attended=attended,
                           status=status, year=current_fiscal_year(), sources=PASS_SOURCES)


@bp.post("/notices/<int:notice_id>/read")
@role_required("head")
def notice_read(notice_id: int):
    notice = db.session.get(Notice, notice_id)
    if notice is None or notice.affiliation_id not in {a.id for a in my_affiliations()}:
        audit.record_now("head_access_refused", current_user.id, notice_id=notice_id)
        abort(404)
    if not MarkReadForm().validate_on_submit():
        abort(400)
    if notice_ops.mark_read(notice, current_user.id):
        db.session.commit()
        flash("既読にしました。", "info")
    return redirect(url_for(".index") + "#notices")
