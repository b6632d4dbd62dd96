"""The committee's decision a certification is recorded with (第2-2), as the certify form
sends it: today's meeting of the demo's chair and vice-chair."""
from __future__ import annotations

from datetime import timedelta, timezone

from sqlalchemy import select

from app.extensions import db
from app.models import User, utcnow


def decision(app, members=("chair", "vicechair"), procedure="meeting") -> dict:
    with app.app_context():
        ids = [str(db.session.scalar(select(User.id).where(User.username == m))) for m in members]
    today = (utcnow().replace(tzinfo=timezone.utc) + timedelta(hours=9)).date()     # Japan date
    return {"procedure": procedure, "held_on": today.isoformat(), "member": ids}
