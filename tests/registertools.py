"""A small world for the register tests: two affiliations with their heads, staff in each,
and helpers to add passes. Used by test_register, test_notices, test_training, test_head."""
from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from app.extensions import db
from app.models import Affiliation, PassRecord, Staff, User, UserRole
from app.register.passes import current_fiscal_year
from tests.conftest import Client

DEMO_USERS = ("candidate1", "author1", "committee1", "vicechair", "chair", "head1", "secretariat1")


@dataclass
class World:
    """Everything here is the test's own (codes R.., staff numbers R....), so the demo's
    affiliations and staff never change what a test sees."""
    central: int          # 栄警察署, head: head1 (the demo head)
    north: int            # 港警察署, head: head2 (made here)
    s1: int               # 熱田 一郎, central
    s2: int               # 瑞穂　花子, central
    s3: int               # 守山 次郎, north
    head1_staff: int
    head2_staff: int
    vicechair: int        # user ids
    head1: int
    head2: int
    secretariat: int


def user_id(username: str) -> int:
    return db.session.scalar(select(User.id).where(User.username == username))


HEAD2_PASSWORD = "head2-password"


def make_world(app, head2_signs_in: bool = False) -> World:
    with app.app_context():
        # No hash unless the test signs head2 in: scrypt is what makes tests slow.
        head2 = User(username="head2", display_name="港警察署長（所属の長）", password_hash="!")
        if head2_signs_in:
            head2.set_password(HEAD2_PASSWORD)
        head2.roles.append(UserRole(role="head"))
        db.session.add(head2)
        db.session.flush()
        central = Affiliation(code="R01", name="栄警察署", head_user_id=user_id("head1"))
        north = Affiliation(code="R02", name="港警察署", head_user_id=head2.id)
        db.session.add_all([central, north])
        db.session.flush()

        def staff(number, kanji, kana, born, post, aff, user=None, email=None, category="警察官"):
            uid = user_id(user) if user else None
            existing = db.session.scalar(select(Staff).where(Staff.user_id == uid)) if uid else None
            if existing is not None:          # the demo linked this account already: give it the address
                existing.email = email
                db.session.flush()
                return existing.id
            s = Staff(staff_number=number, name_kanji=kanji, name_kana=kana, birth_date=born, post=post,
                      employment_category=category, affiliation_id=aff.id, user_id=uid, email=email)
            db.session.add(s)
            db.session.flush()
            return s.id

        w = World(
            central=central.id, north=north.id,
            s1=staff("R00001", "熱田 一郎", "あつた いちろう", date(1985, 4, 1), "巡査部長", central),
            s2=staff("R00002", "瑞穂\u3000花子", "みずほ はなこ", date(1990, 12, 24), "巡査", central),
            s3=staff("R00003", "守山 次郎", "もりやま じろう", date(1978, 7, 7), "警部補", north),
            head1_staff=staff("R90001", "栄 署長", "さかえ しょちょう", date(1965, 1, 1), "警視",
                              central, "head1", email="head1@example.jp"),
            head2_staff=staff("R90002", "港 署長", "みなと しょちょう", date(1966, 2, 2), "警視",
                              north, "head2", email="head2@example.jp"),
            vicechair=user_id("vicechair"), head1=user_id("head1"), head2=head2.id,
            secretariat=user_id("secretariat1"))
        db.session.commit()
        return w


def add_pass(app, staff_id: int, level: str, fiscal_year: int | None = None, source: str = "exam",
             source_detail: str | None = None, by: str = "vicechair", affiliation_at_pass: int | None = None,
             recorded_at: datetime | None = None) -> int:
    with app.app_context():
        staff = db.session.get(Staff, staff_id)
        r = PassRecord(staff_id=staff_id, level=level, fiscal_year=fiscal_year or current_fiscal_year(),
                       source=source, source_detail=source_detail, recorded_by=user_id(by),
                       affiliation_at_pass_id=affiliation_at_pass or staff.affiliation_id,
                       post_at_pass=staff.post)
        if recorded_at is not None:         # when the engine learnt of the pass (default: now)
            r.recorded_at = recorded_at
        db.session.add(r)
        db.session.commit()
        return r.id


def signed_in(app, username: str, password: str | None = None) -> Client:
    c = Client(app)
    resp = c.login(username, password) if password else c.login(username)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    c.get("/")          # a page carrying the session's CSRF token
    return c


def free_port() -> int:
    """A port nothing listens on (bound and released at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
