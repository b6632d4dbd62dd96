"""The affiliation head (所属の長): their own staff only (domain.md), the levels they hold,
their periodic training (第3-10), pass notices (第3-8), and the sessions still ahead that
the head can encourage them to sit (第3-11).

Every query is limited to the affiliations whose head is the signed-in user; anything
else (another affiliation's person or notice) is 404, as if it did not exist."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from scoring.eligibility import LEVEL_NAMES
from scoring.passrules import LEVEL_ORDER

from ..auth.routes import role_required
from ..core import audit
from ..extensions import db
from ..models import PASS_SOURCES, Affiliation, ExamSession, Notice, PassRecord, Staff, TrainingRecord, utcnow
from ..sessions.ops import OperationRefused
from . import head_bp as bp, invitations as invitation_ops, notices as notice_ops, training as training_ops
from .forms import InviteForm, MarkReadForm
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
                           upcoming=invitation_ops.upcoming_for(staff, utcnow()), read_form=MarkReadForm(),
                           invite_form=InviteForm(),
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


@bp.post("/sessions/<int:session_id>/invite")
@role_required("head")
def invite(session_id: int):
    """受検の奨励 (第3-11): invite the checked staff; e-mail them after the commit."""
    session = db.session.get(ExamSession, session_id)
    if session is None:
        abort(404)
    form = InviteForm()
    if not form.validate_on_submit():
        if not form.message.errors:             # a missing or stale CSRF token, not the words
            abort(400)
        for message in form.message.errors:
            flash(message, "error")
        return redirect(url_for(".index") + "#upcoming")
    try:
        outcome = invitation_ops.invite(session, form.staff_id.data or [], current_user,
                                        [a.id for a in my_affiliations()], form.message.data, utcnow())
        db.session.commit()
    except invitation_ops.NotOwnStaff as exc:
        # Another affiliation's person (or no one): refused and logged, as if not there.
        audit.record_now("invitation_refused", current_user.id, session_id=session.id, staff_ids=exc.staff_ids)
        abort(404)
    except OperationRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".index") + "#upcoming")
    invitation_ops.send_emails([i.id for i in outcome.invited], current_user.id)
    db.session.commit()
    parts = [f"{len(outcome.invited)}名に受検を奨励しました。"]
    if outcome.already:
        parts.append(f"{len(outcome.already)}名は奨励済みでした。")
    for person, reasons in outcome.refused:
        parts.append(f"{person.name_kanji}: {' '.join(reasons)}")
    flash(" ".join(parts), "error" if outcome.refused else "info")
    return redirect(url_for(".index") + "#upcoming")
