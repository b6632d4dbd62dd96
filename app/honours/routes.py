"""Public: what every visitor may read of the commendations. A group's commendation is
always shown; a member's only when they consented to being named (a member under 18 also
needs a guardian's consent on record: scoring/volunteer_hours.may_name_in_public); one
without consent is left out altogether, so no reason or date can point to them."""
from __future__ import annotations

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from scoring.jpdate import format_date_jp
from scoring.volunteer_hours import may_name_in_public

from ..extensions import db
from ..models import Commendation
from . import bp


@bp.get("/")
def index():
    rows = db.session.scalars(select(Commendation)
                              .options(selectinload(Commendation.group), selectinload(Commendation.member))
                              .order_by(Commendation.awarded_on.desc(), Commendation.id.desc()))
    shown = [c for c in rows if c.member is None or may_name_in_public(
        c.member.publish_consent, c.member.minor, c.member.guardian_consent_on)]
    return render_template("volunteers/honour_public.html", items=shown, date_jp=format_date_jp)
