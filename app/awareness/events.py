"""The runners' pages: a volunteer or a liaison creates an event for their group, shows its
code and QR code, runs it on a projector, prints the handout, and closes it."""
from __future__ import annotations

import io
from datetime import date

import segno
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from scoring.jpdate import to_jst

from ..auth.routes import role_required
from ..core import audit
from ..extensions import db
from ..models import AwarenessEvent, VolunteerGroup, utcnow
from ..volunteers.access import OVERSIGHT_ROLES, me as _me, visible_groups
from . import bp, operations, sources
from .forms import CloseForm, EventForm
from .sources import SourceError

RUNNERS = ("volunteer", "liaison")
VIEWERS = RUNNERS + OVERSIGHT_ROLES


def _today() -> date:
    return to_jst(utcnow()).date()



def _event(event_id: int, run: bool = False) -> AwarenessEvent:
    """The event, if the user may see it (or run it); a refusal is logged."""
    event = db.session.get(AwarenessEvent, event_id) or abort(404)
    allowed = (operations.may_run if run else operations.may_view)(_me(), event.group)
    if not allowed:
        audit.record_now("awareness_access_refused", current_user.id, path=request.path,
                         method=request.method, event_id=event.id, group=event.group_id)
        abort(403)
    return event


def _runnable_groups() -> list[VolunteerGroup]:
    me = _me()
    return [g for g in visible_groups(me) if g.active and operations.may_run(me, g)]


@bp.route("/")
@role_required(*VIEWERS)
def index():
    me = _me()
    groups = [g for g in visible_groups(me) if operations.may_view(me, g)]
    events = list(db.session.scalars(
        select(AwarenessEvent).where(AwarenessEvent.group_id.in_([g.id for g in groups]))
        .order_by(AwarenessEvent.status.desc(), AwarenessEvent.held_on.desc(), AwarenessEvent.id.desc())))
    return render_template("awareness/index.html", events=events,
                           may_create=bool(_runnable_groups()))


@bp.route("/new", methods=["GET", "POST"])
@role_required(*RUNNERS)
def new():
    groups = _runnable_groups()
    if not groups:
        audit.record_now("awareness_access_refused", current_user.id, path=request.path,
                         method=request.method)
        abort(403, "啓発クイズを実施できる団体がありません（18歳未満の人は保護者の同意の記録が必要です）。")
    # Every group may use the bank's quizzes; other sources may be a group's own.
    quizzes = {c.ref: c for g in groups for c in sources.quiz_choices(g)}
    form = EventForm()
    form.group_id.choices = [(g.id, g.name) for g in groups]
    form.source.choices = [(ref, f"{c.title}（{c.count}問・約{c.minutes}分）") for ref, c in quizzes.items()]
    if request.method == "GET":
        form.held_on.data = _today()
    status = 200
    if form.validate_on_submit():
        group = next(g for g in groups if g.id == form.group_id.data)
        try:
            event = operations.create_event(group, form.source.data, form.held_on.data,
                                            form.place.data, form.audience.data,
                                            form.minutes.data, _me())
        except SourceError as exc:
            form.source.errors = [str(exc)]
            status = 400
        else:
            db.session.commit()
            flash(f"クイズを作成しました。参加コードは {event.code} です。", "ok")
            return redirect(url_for("awareness.detail", event_id=event.id))
    elif request.method == "POST":
        status = 400
    return render_template("awareness/new.html", form=form), status


@bp.route("/<int:event_id>")
@role_required(*VIEWERS)
def detail(event_id: int):
    event = _event(event_id)
    form = CloseForm(minutes=event.minutes)
    return render_template("awareness/detail.html", event=event, counts=operations.counts(event),
                           questions=event.questions, form=form,
                           may_run=operations.may_run(_me(), event.group),
                           public_url=url_for("quiz.start", code=event.code, _external=True))


@bp.route("/<int:event_id>/qr.svg")
@role_required(*VIEWERS)
def qr(event_id: int):
    """The QR code of the public address (segno: pure Python, SVG, no image library)."""
    event = _event(event_id)
    code = segno.make(url_for("quiz.start", code=event.code, _external=True), error="m")
    out = io.BytesIO()
    code.save(out, kind="svg", scale=8, border=2, dark="#000", light="#fff")
    return Response(out.getvalue(), mimetype="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=300"})


@bp.route("/<int:event_id>/close", methods=["POST"])
@role_required(*RUNNERS)
def close(event_id: int):
    event = _event(event_id, run=True)
    form = CloseForm()
    if not event.is_open:
        flash("このクイズは既に終了しています。", "error")
    elif not form.validate_on_submit():
        form.refusal_flashed()
    else:
        activity = operations.close(event, _me(), form.record.data, form.minutes.data)
        db.session.commit()
        flash("クイズを終了しました。" + ("活動実績に記録しました。" if activity else "活動実績には記録していません。"), "ok")
    return redirect(url_for("awareness.detail", event_id=event.id))


@bp.route("/<int:event_id>/projector")
@role_required(*RUNNERS)
def projector(event_id: int):
    """Large display for the room: the code first, then one question at a time; the answer,
    the explanation and the per-choice counts only when the runner asks for them."""
    event = _event(event_id, run=True)
    questions = event.questions
    number = request.args.get("q", type=int) or 0
    number = min(max(number, 0), len(questions))
    show = request.args.get("show") == "1" and number > 0
    counts = operations.counts(event)
    return render_template("awareness/projector.html", event=event, number=number,
                           question=questions[number - 1] if number else None,
                           total=len(questions), show=show, started=counts.started,
                           tally=counts.questions[number - 1] if show else None,
                           public_url=url_for("quiz.start", code=event.code, _external=True))


@bp.route("/<int:event_id>/handout")
@role_required(*VIEWERS)
def handout(event_id: int):
    event = _event(event_id)
    return render_template("awareness/handout.html", event=event, questions=event.questions)
