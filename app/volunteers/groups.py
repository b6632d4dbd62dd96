"""Volunteer groups (団体): the list, a group's page, a new group and its changes, and the
volunteer's home page.

Who sees what (domain.md, access.py): the committee and the secretariat every group, a
liaison the groups of their division, a volunteer their own group. The members' personal
data only for may_see_people; a member who is not the leader reads the group and their
own record. A group is made and changed by the liaison of its division (in that division
only), the secretariat or the committee; moving a group to another division is for the
secretariat and the committee."""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from ..auth.routes import role_required
from ..core import audit
from ..extensions import db
from ..models import Affiliation, Member, Staff, User, UserRole, VolunteerGroup
from . import bp
from .access import (OVERSIGHT_ROLES, ParticipantRefused, is_leader_of, is_liaison_of, me,
                     liaison_division, may_see_people, member_of, require_participant,
                     visible_groups)
from .group_forms import GroupForm

VIEW_ROLES = ("liaison", "volunteer", *OVERSIGHT_ROLES)
MANAGE_ROLES = ("liaison", *OVERSIGHT_ROLES)


@dataclass(frozen=True)
class HomeLink:
    label: str
    endpoint: str
    description: str = ""


# The volunteer's home lists these (those whose page exists), in the order of a
# volunteer's year: learn, run quizzes, draft materials, record, get certified.
HOME_LINKS: list[HomeLink] = [
    HomeLink("研修", "training.index", "脅威と手口を学ぶ講座。各問の解説つき。修了すると時間数が記録されます"),
    HomeLink("啓発クイズ", "awareness.index", "高齢者向けなどのクイズを、コードとQRコードで会場の参加者に出題"),
    HomeLink("広報啓発資料", "materials.index", "クイズや配布資料を作成し、担当所属の監修（承認）を受けます"),
    HomeLink("活動の記録", "volunteers.activity_index", "教育・広報啓発・サイバーパトロールの実績と時間"),
    HomeLink("好事例", "volunteers.good_practices", "各団体の好事例"),
    HomeLink("要望と回答", "volunteers.request_index", "警察への要望と担当所属の回答"),
    HomeLink("証明書", "certificates.index", "修了証・活動証明書（大学の単位認定などに）"),
    HomeLink("氏名の公表", "volunteers.publication_consent", "賞揚を受けたときに氏名を公表するかどうか"),
    HomeLink("ボランティア団体", "volunteers.groups", "所属する団体の情報と、代表者には参加者の一覧"),
]



def refuse(reason: str):
    """403, with the refusal on record (the role check passed; the group's check did not)."""
    audit.record_now("forbidden", current_user.id, path=request.path, method=request.method,
                     reason=reason)
    abort(403)


def check_open(user: User, group: VolunteerGroup) -> None:
    """Refuse anyone who may not open the group's pages. A volunteer must also be one who
    may take part (a minor whose guardian's consent was withdrawn is refused, saying why)."""
    if user.has_role(*OVERSIGHT_ROLES) or is_liaison_of(user, group):
        return
    if user.has_role("volunteer") and require_participant().group_id == group.id:
        return
    refuse("not_of_group")


def group_or_404(group_id: int) -> VolunteerGroup:
    group = db.session.get(VolunteerGroup, group_id)
    if group is None:
        abort(404)
    return group


def may_manage(user: User, group: VolunteerGroup | None) -> bool:
    """Make or change a group: the oversight roles, or the liaison of its division."""
    return user.has_role(*OVERSIGHT_ROLES) or (group is not None and is_liaison_of(user, group))


def liaisons_of(division_id: int) -> list[tuple[User, Staff]]:
    """The division's liaison officers (担当所属の連絡担当): active accounts with the
    liaison role whose staff record belongs to the division."""
    rows = db.session.execute(
        select(User, Staff).join(Staff, Staff.user_id == User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "liaison", Staff.affiliation_id == division_id, User.active.is_(True))
        .order_by(Staff.staff_number))
    return [(u, s) for u, s in rows]


@bp.app_errorhandler(ParticipantRefused)
def participant_refused(exc: ParticipantRefused):
    return render_template("volunteers/refused.html", message=exc.message), 403


@bp.get("/")
@role_required(*VIEW_ROLES)
def groups():
    user = me()
    if not user.has_role(*MANAGE_ROLES):
        require_participant()           # a volunteer who may not take part is told why
    shown = visible_groups(user)
    counts = dict(db.session.execute(
        select(Member.group_id, func.count(Member.id)).where(Member.active.is_(True))
        .group_by(Member.group_id)).all())
    return render_template("volunteers/groups.html", group_list=shown, counts=counts,
                           may_create=user.has_role(*MANAGE_ROLES),
                           sees_people={g.id: may_see_people(user, g) for g in shown})


@bp.get("/groups/<int:group_id>")
@role_required(*VIEW_ROLES)
def group(group_id: int):
    user = me()
    grp = group_or_404(group_id)
    check_open(user, grp)
    people = may_see_people(user, grp)
    members = grp.members if people else []
    return render_template(
        "volunteers/group.html", group=grp, liaisons=liaisons_of(grp.division_id),
        people=people, active=[m for m in members if m.active], former=[m for m in members if not m.active],
        own=member_of(user), may_manage=may_manage(user, grp), is_liaison=is_liaison_of(user, grp),
        is_leader=is_leader_of(user, grp))


def _division_choices(user: User, group: VolunteerGroup | None) -> list[SelectChoice]:
    if user.has_role(*OVERSIGHT_ROLES):
        divisions = db.session.scalars(select(Affiliation).order_by(Affiliation.code))
    else:
        # A liaison keeps the group in their own division (and cannot move it out of it).
        wanted = group.division_id if group is not None else liaison_division(user)
        divisions = db.session.scalars(select(Affiliation).where(Affiliation.id == wanted))
    return [SelectChoice(str(a.id), f"{a.name}（{a.code}）") for a in divisions]


def _name_taken(name: str, group: VolunteerGroup | None) -> bool:
    query = select(VolunteerGroup.id).where(VolunteerGroup.name == name)
    if group is not None:
        query = query.where(VolunteerGroup.id != group.id)
    return db.session.scalar(query) is not None


def _group_form(user: User, group: VolunteerGroup | None):
    form = GroupForm(obj=group) if group is not None else GroupForm()
    form.division.choices = _division_choices(user, group)
    if not form.division.choices:
        flash("担当所属が登録されていません。庶務に職員情報の所属を確認してもらってください。", "error")
    if request.method == "GET":
        form.division.data = str(group.division_id) if group else \
            (form.division.choices[0].value if form.division.choices else "")
        form.active.data = group.active if group else True
    if form.validate_on_submit():
        name = form.name.data.strip()
        if _name_taken(name, group):
            form.name.errors.append(f"団体名「{name}」は既に登録されています。")
            return form, None
        return form, name
    return form, None


@bp.route("/groups/new", methods=["GET", "POST"])
@role_required(*MANAGE_ROLES)
def group_new():
    user = me()
    if not user.has_role(*OVERSIGHT_ROLES) and liaison_division(user) is None:
        refuse("no_division")
    form, name = _group_form(user, None)
    if name is None:
        return render_template("volunteers/group_form.html", form=form, group=None)
    grp = VolunteerGroup(name=name, kind=form.kind.data, division_id=int(form.division.data),
                         purpose=(form.purpose.data or "").strip(), active=form.active.data)
    db.session.add(grp)
    db.session.flush()
    audit.record("volunteer_group_created", user.id, group_id=grp.id, division_id=grp.division_id)
    db.session.commit()
    flash(f"団体「{grp.name}」を登録しました。" + ("参加者を追加してください。" if is_liaison_of(user, grp)
                                          else "参加者は担当所属の連絡担当が登録します。"), "info")
    return redirect(url_for("volunteers.group", group_id=grp.id))


@bp.route("/groups/<int:group_id>/edit", methods=["GET", "POST"])
@role_required(*MANAGE_ROLES)
def group_edit(group_id: int):
    user = me()
    grp = group_or_404(group_id)
    if not may_manage(user, grp):
        refuse("not_of_division")
    form, name = _group_form(user, grp)
    if name is None:
        return render_template("volunteers/group_form.html", form=form, group=grp)
    def fields():
        return {"name": grp.name, "kind": grp.kind, "division_id": grp.division_id,
                "purpose": grp.purpose, "active": grp.active}
    before = fields()
    grp.name, grp.kind, grp.division_id = name, form.kind.data, int(form.division.data)
    grp.purpose, grp.active = (form.purpose.data or "").strip(), form.active.data
    after = fields()
    audit.record("volunteer_group_updated", user.id, group_id=grp.id,
                 changes={k: [before[k], after[k]] for k in before if before[k] != after[k]})
    db.session.commit()
    flash("団体の情報を保存しました。", "info")
    return redirect(url_for("volunteers.group", group_id=grp.id))


@bp.get("/home")
@role_required("volunteer")
def home():
    member = require_participant()
    links = [link for link in HOME_LINKS if link.endpoint in current_app.view_functions]
    return render_template("volunteers/home.html", member=member, group=member.group,
                           liaisons=liaisons_of(member.group.division_id), links=links,
                           is_leader=member.is_leader)

