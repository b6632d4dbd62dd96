"""A volunteer group's activities (活動実績, circular 2(1)): recorded, changed and deleted by
the group's leader or its liaison officers; read by the group's members, its division and
the oversight roles, with the hours by kind and fiscal year; exported as CSV for the
division; marked as good practice (好事例) by a liaison, and shared with every group."""
from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from scoring.jpdate import fiscal_year, fiscal_year_label, format_date_jp, to_jst
from scoring.volunteer_hours import hours_label, totals_by_year

from ..auth.routes import role_required
from ..core import audit
from ..core.exports import csv_response
from ..extensions import db
from ..models import ACTIVITY_KINDS, Activity, ActivityMember, Member, User, VolunteerGroup, utcnow
from . import access, bp
from .access import me
from .activity_forms import ActivityForm, ConfirmForm, GoodPracticeForm

# Who reads a group's activities: its members, its liaisons and the oversight roles.
READERS = ("volunteer", "liaison") + access.OVERSIGHT_ROLES
ACTORS = ("volunteer", "liaison")          # the leader or a liaison: access.may_act_for



def refuse(**detail):
    """Another group's record: refused and logged, like a missing role."""
    audit.record_now("volunteer_access_refused", current_user.id, path=request.path,
                     method=request.method, **detail)
    abort(403)


def group_or_404(group_id: int) -> VolunteerGroup:
    group = db.session.get(VolunteerGroup, group_id)
    if group is None:
        abort(404)
    return group


def may_read(user: User, group: VolunteerGroup) -> bool:
    return group.id in {g.id for g in access.visible_groups(user)}


def readable_group(group_id: int) -> tuple[User, VolunteerGroup]:
    user, group = me(), group_or_404(group_id)
    if not may_read(user, group):
        refuse(group_id=group.id)
    return user, group


def guarded(model, record_id: int, allowed):
    """(user, record) of one group's record (activity, request, commendation), for a user
    `allowed(user, group)`; 404 if there is no such record, 403 (logged) if not allowed."""
    record = db.session.get(model, record_id)
    if record is None:
        abort(404)
    user = me()
    if not allowed(user, record.group):
        refuse(group_id=record.group_id, record=f"{model.__tablename__}:{record.id}")
    return user, record


def _acting_on(activity_id: int, allowed=access.may_act_for) -> tuple[User, Activity]:
    """The activity, for its group's leader or liaisons (or whom `allowed` names)."""
    return guarded(Activity, activity_id, allowed)


def today_jst() -> date:
    return to_jst(utcnow()).date()


# ---- who took part ----------------------------------------------------------------------

def _eligible(group: VolunteerGroup, activity: Activity | None) -> list[Member]:
    """Members offered on the form: those who may take part, and those already recorded
    (a member who left later stays on the activities they took part in)."""
    recorded = {p.member_id for p in activity.members} if activity else set()
    return [m for m in group.members if m.may_take_part or m.id in recorded]


def _parts_from_form(members: list[Member], activity_minutes: int | None,
                     activity: Activity | None) -> tuple[dict[int, int], list[str]]:
    """{member id: minutes} from the per-member checkbox and minutes box; errors name the
    member. A blank minutes box means the whole activity."""
    offered = {m.id: m for m in members}
    recorded = {p.member_id for p in activity.members} if activity else set()
    parts, errors = {}, []
    for key in request.form:
        if key.startswith("part-") and key[5:].isdigit() and int(key[5:]) not in offered:
            errors.append("この団体で活動に参加できない会員が選ばれています。画面を読み込み直してください。")
            break
    for m in members:
        if request.form.get(f"part-{m.id}") != "1":
            continue
        if not m.may_take_part and m.id not in recorded:
            errors.append(f"{m.name}さんは参加できません（18歳未満で保護者の同意が記録されていないか、退会済みです）。")
            continue
        raw = (request.form.get(f"minutes-{m.id}") or "").strip()
        if not raw:
            if activity_minutes:
                parts[m.id] = activity_minutes
            continue
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 24 * 60:
            errors.append(f"{m.name}さんの参加時間: 1以上の分数を半角数字で入力してください（空欄なら活動時間と同じ）。")
        elif activity_minutes and int(raw) > activity_minutes:
            errors.append(f"{m.name}さんの参加時間（{raw}分）が活動時間（{activity_minutes}分）を超えています。")
        else:
            parts[m.id] = int(raw)
    return parts, errors


def _save(form: ActivityForm, activity: Activity, parts: dict[int, int]) -> dict:
    """Copy the form onto the activity and set who took part; returns what changed."""
    before = {"kind": activity.kind, "held_on": activity.held_on, "minutes": activity.minutes,
              "participants": activity.participants,
              "members": {p.member_id: p.minutes for p in activity.members}}
    activity.kind, activity.held_on = form.kind.data, form.held_on.data
    activity.place, activity.audience = form.place.data.strip(), (form.audience.data or "").strip()
    activity.participants, activity.minutes = form.participants.data, form.minutes.data
    activity.summary = form.summary.data.strip()
    existing = {p.member_id: p for p in activity.members}
    for member_id, part in existing.items():
        if member_id not in parts:
            activity.members.remove(part)
    for member_id, minutes in parts.items():
        if member_id in existing:
            existing[member_id].minutes = minutes
        else:
            activity.members.append(ActivityMember(member_id=member_id, minutes=minutes))
    after = {"kind": activity.kind, "held_on": activity.held_on, "minutes": activity.minutes,
             "participants": activity.participants, "members": dict(parts)}
    return {k: [before[k], after[k]] for k in after if before[k] != after[k]}


def _form_page(group: VolunteerGroup, form: ActivityForm, activity: Activity | None,
               errors: list[str], status: int = 200):
    members = _eligible(group, activity)
    if request.method == "POST":
        chosen = {m.id for m in members if request.form.get(f"part-{m.id}") == "1"}
        minutes = {m.id: request.form.get(f"minutes-{m.id}", "") for m in members}
    else:
        parts = {p.member_id: p.minutes for p in activity.members} if activity else {}
        chosen = set(parts)
        minutes = {k: str(v) for k, v in parts.items()}
    waiting = [m for m in group.members if m.active and not m.may_take_part]
    return render_template("volunteers/activity_form.html", group=group, form=form, activity=activity,
                           members=members, chosen=chosen, minutes=minutes, errors=errors,
                           waiting=waiting, today=today_jst()), status


def _handle(group: VolunteerGroup, form: ActivityForm, activity: Activity | None):
    """Validate the form and the members; None when saved, else the page with the errors."""
    valid = form.validate_on_submit()
    if form.csrf_token.errors:
        abort(400)
    errors = [e for f in form for e in f.errors]
    if valid and form.held_on.data > today_jst():
        form.held_on.errors.append("実施日が未来の日付です。実施した日を入力してください。")
        errors.append(form.held_on.errors[-1])
    members = _eligible(group, activity)
    parts, part_errors = _parts_from_form(members, form.minutes.data if valid else None, activity)
    errors += part_errors
    if errors:
        return None, errors
    return parts, []


@bp.get("/activities")
@role_required(*READERS)
def activity_index():
    """The groups whose activities the user may read, with this fiscal year's hours."""
    user = me()
    groups = access.visible_groups(user)
    year = fiscal_year(today_jst())
    rows = db.session.execute(
        select(Activity.group_id, Activity.kind, Activity.held_on, Activity.minutes)
        .where(Activity.group_id.in_([g.id for g in groups]),
               Activity.held_on >= date(year, 4, 1), Activity.held_on < date(year + 1, 4, 1))).all()
    totals = {}
    for g in groups:
        this = totals_by_year([(r.kind, r.held_on, r.minutes) for r in rows if r.group_id == g.id])
        totals[g.id] = this[0] if this else None
    return render_template("volunteers/activity_index.html", vol_groups=groups, totals=totals,
                           year=year, year_label=fiscal_year_label(year), hours=hours_label,
                           may_act={g.id: access.may_act_for(user, g) for g in groups})


@bp.get("/groups/<int:group_id>/activities")
@role_required(*READERS)
def activity_list(group_id: int):
    user, group = readable_group(group_id)
    activities = list(db.session.scalars(select(Activity).where(Activity.group_id == group.id)
                                         .order_by(Activity.held_on.desc(), Activity.id.desc())))
    years = totals_by_year([(a.kind, a.held_on, a.minutes) for a in activities])
    return render_template("volunteers/activity_list.html", group=group, activities=activities,
                           years=years, kinds=ACTIVITY_KINDS, hours=hours_label,
                           fiscal_year_label=fiscal_year_label, date_jp=format_date_jp,
                           may_act=access.may_act_for(user, group),
                           see_people=access.may_see_people(user, group),
                           liaison=access.is_liaison_of(user, group),
                           may_export=access.is_liaison_of(user, group) or user.has_role(*access.OVERSIGHT_ROLES),
                           gp_form=GoodPracticeForm(), delete_form=ConfirmForm())


@bp.route("/groups/<int:group_id>/activities/new", methods=["GET", "POST"])
@role_required(*ACTORS)
def activity_new(group_id: int):
    user, group = me(), group_or_404(group_id)
    if not access.may_act_for(user, group):
        refuse(group_id=group.id)
    form = ActivityForm()
    if request.method == "GET":
        form.held_on.data = today_jst()
        return _form_page(group, form, None, [])
    parts, errors = _handle(group, form, None)
    if errors:
        return _form_page(group, form, None, errors, 400)
    activity = Activity(group_id=group.id, recorded_by=user.id, members=[])
    _save(form, activity, parts)
    db.session.add(activity)
    db.session.flush()
    audit.record("activity_recorded", user.id, group_id=group.id, activity_id=activity.id,
                 kind=activity.kind, held_on=activity.held_on, minutes=activity.minutes,
                 member_ids=sorted(parts))
    db.session.commit()
    flash(f"{format_date_jp(activity.held_on)}の{activity.kind_name}を記録しました。", "success")
    return redirect(url_for("volunteers.activity_list", group_id=group.id))


@bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@role_required(*ACTORS)
def activity_edit(activity_id: int):
    user, activity = _acting_on(activity_id)
    group = activity.group
    form = ActivityForm(obj=activity)
    if request.method == "GET":
        return _form_page(group, form, activity, [])
    parts, errors = _handle(group, form, activity)
    if errors:
        return _form_page(group, form, activity, errors, 400)
    changes = _save(form, activity, parts)
    audit.record("activity_updated", user.id, group_id=group.id, activity_id=activity.id,
                 changes=changes)
    db.session.commit()
    flash(f"{format_date_jp(activity.held_on)}の{activity.kind_name}の記録を変更しました。", "success")
    return redirect(url_for("volunteers.activity_list", group_id=group.id))


@bp.post("/activities/<int:activity_id>/delete")
@role_required(*ACTORS)
def activity_delete(activity_id: int):
    user, activity = _acting_on(activity_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    group_id = activity.group_id
    audit.record("activity_deleted", user.id, group_id=group_id, activity_id=activity.id,
                 kind=activity.kind, held_on=activity.held_on, minutes=activity.minutes,
                 place=activity.place, summary=activity.summary,
                 members={p.member_id: p.minutes for p in activity.members})
    label = f"{format_date_jp(activity.held_on)}の{activity.kind_name}"
    db.session.delete(activity)
    db.session.commit()
    flash(f"{label}の記録を削除しました。", "success")
    return redirect(url_for("volunteers.activity_list", group_id=group_id))


@bp.get("/groups/<int:group_id>/activities.csv")
@role_required("liaison", *access.OVERSIGHT_ROLES)
def activity_export(group_id: int):
    """For the division in charge: one row per activity, with who took part and for how
    long (personal data: the liaison division and the oversight roles only)."""
    user, group = me(), group_or_404(group_id)
    if not (access.is_liaison_of(user, group) or user.has_role(*access.OVERSIGHT_ROLES)):
        refuse(group_id=group.id)
    activities = db.session.scalars(select(Activity).where(Activity.group_id == group.id)
                                    .order_by(Activity.held_on, Activity.id))
    header = ["実施日", "年度", "活動の種類", "場所", "対象", "参加者数", "活動時間（分）",
              "概要", "参加した会員（分）", "好事例"]
    rows = [[a.held_on, fiscal_year(a.held_on), a.kind_name, a.place, a.audience, a.participants,
             a.minutes, a.summary,
             "、".join(f"{p.member.name}（{p.minutes}）" for p in sorted(a.members, key=lambda p: p.member_id)),
             "○" if a.good_practice else ""] for a in activities]
    audit.record("activities_exported", user.id, group_id=group.id, rows=len(rows), format="csv")
    db.session.commit()
    # The group's number, not its name: a name is free text and the file name goes into a header.
    return csv_response(f"活動実績_団体{group.id}_{today_jst().isoformat()}.csv", header, rows)


@bp.post("/activities/<int:activity_id>/good-practice")
@role_required("liaison")
def activity_good_practice(activity_id: int):
    """A liaison of the group's division marks (or unmarks) the activity as good practice."""
    user, activity = _acting_on(activity_id, access.is_liaison_of)
    form = GoodPracticeForm()
    if not form.validate_on_submit():
        form.refusal_flashed()
        return redirect(url_for("volunteers.activity_list", group_id=activity.group_id))
    if form.unmark.data:
        activity.good_practice, activity.good_practice_note = False, None
        activity.good_practice_by = activity.good_practice_at = None
        audit.record("good_practice_unmarked", user.id, group_id=activity.group_id, activity_id=activity.id)
        flash("好事例の指定を取り消しました。", "success")
    else:
        activity.good_practice = True
        activity.good_practice_note = (form.note.data or "").strip() or None
        activity.good_practice_by, activity.good_practice_at = user.id, utcnow()
        audit.record("good_practice_marked", user.id, group_id=activity.group_id, activity_id=activity.id)
        flash("好事例に指定しました。すべての団体の「好事例」に表示されます。", "success")
    db.session.commit()
    return redirect(url_for("volunteers.activity_list", group_id=activity.group_id) + f"#activity-{activity.id}")


@bp.get("/good-practices")
@role_required(*READERS)
def good_practices():
    """Shared with every group: what was done, by which group, and the liaison's note; no
    member is named."""
    rows = db.session.scalars(select(Activity).where(Activity.good_practice.is_(True))
                              .order_by(Activity.held_on.desc(), Activity.id.desc()))
    return render_template("volunteers/activity_good_practices.html", activities=list(rows),
                           hours=hours_label, date_jp=format_date_jp)
