"""Every route's role check, for every demo role and for anonymous visitors.

ROUTES lists, per endpoint, who may use it. A route added without an entry here fails
`test_every_route_is_in_the_table` (and the walk below): deciding who may call a new
route, and testing it, is part of adding it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app.cli.demo import DEMO_USERS
from app.extensions import db
from app.models import (AuditEvent, AwarenessEvent, BankVersion, ExamSession, Material, Member, User,
                        VolunteerGroup, VolunteerInvitation, utcnow)
from app.volunteers.invitations import token_hash
from tests.conftest import Client

# Who may use a route: role names (role_required), or one of these.
PUBLIC = "public"            # anyone, signed in or not
SIGNED_IN = "signed-in"      # any signed-in user, whatever the role

AUTHORS = ("author", "vice_chair", "chair")
STATS = ("committee", "vice_chair", "chair", "author")
COMMITTEE = ("committee", "vice_chair", "chair")
CHAIRS = ("vice_chair", "chair")
CHAIR = ("chair",)
REGISTER = ("committee", "vice_chair", "chair", "secretariat")     # personal data
SECRETARIAT = ("secretariat",)
HEAD = ("head",)
ADMIN = ("secretariat", "vice_chair", "chair")
ADMIN_VIEW = ADMIN + ("committee",)
ROOM = ("proctor", "vice_chair", "chair")      # and a proctor only of the sessions assigned
OVERSIGHT = ("committee", "vice_chair", "chair", "secretariat")
# Volunteer pages: and only of the groups access.py allows (tests/test_volunteer_groups.py).
VOLUNTEER_VIEW = ("liaison", "volunteer") + OVERSIGHT
VOLUNTEER_MANAGE = ("liaison",) + OVERSIGHT
LIAISON = ("liaison",)
# Volunteers: and only for the groups access.py allows (tests/test_volunteer_activities.py).
VOL_READERS = ("volunteer", "liaison", "committee", "vice_chair", "chair", "secretariat")
VOL_ACTORS = ("volunteer", "liaison")
VOL_DIVISION = ("liaison", "committee", "vice_chair", "chair", "secretariat")
COMMENDERS = ("liaison", "committee", "vice_chair", "chair")
TRAINEES = ("volunteer", "liaison")
TRAINING_READERS = TRAINEES + ("committee", "vice_chair", "chair", "secretariat")
AWARENESS_RUN = ("volunteer", "liaison")       # and only for their own group
AWARENESS_VIEW = AWARENESS_RUN + REGISTER
VOLUNTEER = ("volunteer",)                     # and only for their own group
MATERIAL_READERS = ("volunteer", "liaison", "committee", "vice_chair", "chair", "secretariat")
# Volunteers' certificates: the member, their group's leader and liaisons (checked per group),
# the committee and the secretariat read; a liaison of the group's division issues.
CERT_READERS = ("liaison", "volunteer", "committee", "vice_chair", "chair", "secretariat")


@dataclass(frozen=True)
class Route:
    access: str | tuple[str, ...]
    json: bool = False        # called by the page script: JSON in and out, 401 when signed out
    query: str = ""           # query string that makes the page do its real work
    signs_out: bool = False   # its allowed answer is the sign-in page (and the user is out)


ROUTES: dict[str, Route] = {
    "index": Route(SIGNED_IN),
    "healthz": Route(PUBLIC),
    "readyz": Route(PUBLIC),
    "favicon": Route(PUBLIC),
    "auth.login": Route(PUBLIC),
    "auth.logout": Route(SIGNED_IN, signs_out=True),
    "candidate.home": Route(("candidate",)),
    "candidate.start": Route(("candidate",)),
    "candidate.sit": Route(("candidate",)),
    "candidate.save": Route(("candidate",), json=True),
    "candidate.position": Route(("candidate",), json=True),
    "candidate.state": Route(("candidate",), json=True),
    "candidate.begin": Route(("candidate",), json=True),
    "candidate.pulse": Route(("candidate",), json=True),
    "candidate.confirm": Route(("candidate",)),
    "candidate.submit": Route(("candidate",)),
    "candidate.done": Route(("candidate",)),
    "candidate.review": Route(("candidate",)),
    "candidate.practice_home": Route(("candidate",)),
    "candidate.practice_question": Route(("candidate",), query="level=beginner"),
    "candidate.practice_answer": Route(("candidate",)),
    "author.preview": Route(AUTHORS),
    "author.sample": Route(AUTHORS, query="level=beginner&seed=7"),
    "author.versions": Route(AUTHORS),
    "author.load_version": Route(AUTHORS),
    "author.question_history": Route(AUTHORS),
    "committee.stats": Route(STATS, query="session={session_id}"),
    "committee.stats_export": Route(STATS, query="session={session_id}"),
    # Scored-sheet review and certification: the committee reads, the (vice-)chair acts.
    "review.index": Route(COMMITTEE),
    "review.session_page": Route(COMMITTEE),
    "review.export": Route(COMMITTEE),
    "review.sheet": Route(COMMITTEE),
    "review.written": Route(COMMITTEE),
    "review.written_save": Route(CHAIRS),
    "review.written_import": Route(CHAIRS),
    "review.corrections": Route(COMMITTEE),
    "review.correction_add": Route(CHAIRS),
    "review.regrade": Route(CHAIRS),
    "review.certify": Route(CHAIRS),
    "review.revoke_certification": Route(CHAIRS),
    # Sessions and registrations: the committee reads, the (vice-)chair schedules, the
    # chair alone admits non-staff candidates.
    "sessions.index": Route(COMMITTEE),
    "sessions.detail": Route(COMMITTEE),
    "sessions.new": Route(CHAIRS),
    "sessions.edit": Route(CHAIRS),
    "sessions.candidates": Route(CHAIRS),
    "sessions.register": Route(CHAIRS),
    "sessions.unregister": Route(CHAIRS),
    # The exam room's settings, its proctors and accommodations: the (vice-)chair.
    "sessions.room_setup": Route(CHAIRS),
    "sessions.proctor_add": Route(CHAIRS),
    "sessions.proctor_remove": Route(CHAIRS),
    "sessions.accommodation": Route(CHAIRS),
    "sessions.admissions": Route(COMMITTEE),
    "sessions.admit": Route(CHAIR),
    "sessions.revoke": Route(CHAIR),
    # The register of passers, notices and training: the committee and the secretariat
    # read; the (vice-)chair records special passes and sends notices; the secretariat
    # records training.
    "register.index": Route(REGISTER),
    "register.export": Route(REGISTER),
    "register.special": Route(REGISTER),
    "register.special_record": Route(CHAIRS),
    "register.special_import": Route(CHAIRS),
    "register.special_revoke": Route(CHAIRS),
    "register.notices": Route(CHAIRS),
    "register.notice_print": Route(CHAIRS),
    "register.notice_css": Route(CHAIRS),
    "register.notice_resend": Route(CHAIRS),
    "register.training": Route(REGISTER),
    "register.training_record": Route(SECRETARIAT),
    "register.training_import": Route(SECRETARIAT),
    # The affiliation head: their own staff only.
    "head.index": Route(HEAD),
    "head.staff_detail": Route(HEAD),
    "head.notice_read": Route(HEAD),
    "head.invite": Route(HEAD),
    # Administration (庶務): affiliations, staff, accounts, imports, the audit log.
    "admin.home": Route(ADMIN_VIEW),
    "admin.affiliations": Route(ADMIN_VIEW),
    "admin.staff_list": Route(ADMIN_VIEW),
    "admin.affiliation_new": Route(ADMIN),
    "admin.affiliation_edit": Route(ADMIN),
    "admin.staff_new": Route(ADMIN),
    "admin.staff_edit": Route(ADMIN),
    "admin.staff_create_login": Route(ADMIN),
    "admin.staff_link_login": Route(ADMIN),
    "admin.import_upload": Route(ADMIN),
    "admin.import_confirm": Route(ADMIN),
    "admin.import_template": Route(ADMIN),
    "admin.users": Route(ADMIN),
    "admin.user_edit": Route(ADMIN),
    "admin.user_reset_password": Route(ADMIN),
    "admin.appointments": Route(REGISTER),
    "admin.appointment_new": Route(REGISTER),       # the operation refuses who may not appoint
    "admin.appointment_end": Route(REGISTER),
    "admin.audit_log": Route(REGISTER),
    "admin.audit_export": Route(REGISTER),
    # The exam room: its proctors (proctor1 is assigned to the demo sessions), the
    # vice-chair and the chair.
    "room.index": Route(ROOM),
    "room.room": Route(ROOM),
    "room.state": Route(ROOM, json=True),
    "room.signal": Route(ROOM, json=True),
    "room.room_pause": Route(ROOM, json=True),
    "room.room_resume": Route(ROOM, json=True),
    "room.room_time": Route(ROOM, json=True),
    "room.room_code": Route(ROOM, json=True),
    "room.seat_action": Route(ROOM, json=True),
    # Volunteer groups and members: the ids name the university's group, its leader
    # volunteer1's record and an open invitation of another of its members.
    "volunteers.groups": Route(VOLUNTEER_VIEW),
    "volunteers.group": Route(VOLUNTEER_VIEW),
    "volunteers.group_new": Route(VOLUNTEER_MANAGE),
    "volunteers.group_edit": Route(VOLUNTEER_MANAGE),
    "volunteers.home": Route(("volunteer",)),
    "volunteers.member": Route(VOLUNTEER_VIEW),
    "volunteers.member_new": Route(LIAISON),
    "volunteers.member_edit": Route(("liaison", "volunteer")),
    "volunteers.member_consent": Route(LIAISON),
    "volunteers.member_consent_withdraw": Route(LIAISON),
    "volunteers.member_leave": Route(LIAISON),
    "volunteers.invite": Route(LIAISON),
    "volunteers.invitation_revoke": Route(LIAISON),
    "volunteers.join": Route(PUBLIC, query="t={join_token}"),
    # Volunteer activities, requests, good practice and commendations.
    "volunteers.activity_index": Route(VOL_READERS),
    "volunteers.activity_list": Route(VOL_READERS),
    "volunteers.activity_new": Route(VOL_ACTORS),
    "volunteers.activity_edit": Route(VOL_ACTORS),
    "volunteers.activity_delete": Route(VOL_ACTORS),
    "volunteers.activity_export": Route(VOL_DIVISION),
    "volunteers.activity_good_practice": Route(("liaison",)),
    "volunteers.good_practices": Route(VOL_READERS),
    "volunteers.request_index": Route(VOL_READERS),
    "volunteers.request_file": Route(("volunteer",)),
    "volunteers.request_detail": Route(VOL_READERS),
    "volunteers.request_answer": Route(("liaison",)),
    "volunteers.commendation_index": Route(VOL_DIVISION),
    "volunteers.commendation_record": Route(COMMENDERS),
    "volunteers.commendation_delete": Route(COMMENDERS),
    "volunteers.publication_consent": Route(("volunteer",)),
    "honours.index": Route(PUBLIC),
    # Volunteers' training: volunteers and liaisons train; the progress of a group's
    # members is for its leader, its liaison division, the committee and the secretariat
    # (a volunteer who is not a leader is refused by the group check).
    "training.index": Route(TRAINING_READERS),
    "training.course": Route(TRAINEES),
    "training.start": Route(TRAINEES),
    "training.attempt": Route(TRAINEES),
    "training.answer": Route(TRAINEES),
    "training.progress": Route(TRAINING_READERS),
    # Awareness quizzes: volunteers and liaisons run them (and only for their own group,
    # tests/test_awareness.py); the committee and the secretariat read the counts. The
    # participants' pages are public and carry no personal data.
    "awareness.index": Route(AWARENESS_VIEW),
    "awareness.new": Route(AWARENESS_RUN),
    "awareness.detail": Route(AWARENESS_VIEW),
    "awareness.qr": Route(AWARENESS_VIEW),
    "awareness.handout": Route(AWARENESS_VIEW),
    "awareness.projector": Route(AWARENESS_RUN),
    "awareness.close": Route(AWARENESS_RUN),
    "quiz.enter": Route(PUBLIC),
    "quiz.start": Route(PUBLIC),
    "quiz.question": Route(PUBLIC),
    "quiz.result": Route(PUBLIC),
    # Awareness materials of volunteer groups: members draft, the division's liaisons
    # review, the committee and the secretariat read (and the group is checked per route).
    "materials.index": Route(MATERIAL_READERS),
    "materials.detail": Route(MATERIAL_READERS),
    "materials.revision": Route(MATERIAL_READERS),
    "materials.new": Route(VOLUNTEER),
    "materials.edit": Route(VOLUNTEER),
    "materials.question_new": Route(VOLUNTEER),
    "materials.question_edit": Route(VOLUNTEER),
    "materials.question_move": Route(VOLUNTEER),
    "materials.question_delete": Route(VOLUNTEER),
    "materials.submit": Route(VOLUNTEER),
    "materials.revise": Route(VOLUNTEER),
    "materials.publish": Route(VOLUNTEER),
    "materials.withdraw": Route(("volunteer", "liaison")),
    "materials.review": Route(("liaison",)),
    "materials.public": Route(PUBLIC),
    # Volunteers' certificates; the verification page, its credential, the JWKS and the
    # issuer profile are public (what the certificate states, nothing more).
    "certificates.index": Route(CERT_READERS),
    "certificates.issue_completion": Route(LIAISON),
    "certificates.issue_activity": Route(LIAISON),
    "certificates.detail": Route(CERT_READERS),
    "certificates.print_page": Route(CERT_READERS),
    "certificates.pdf_file": Route(CERT_READERS),
    "certificates.credential": Route(CERT_READERS),
    "certificates.revoke": Route(LIAISON),
    "certificates.verify": Route(PUBLIC),
    "certificates.verify_credential": Route(PUBLIC),
    "certificates.jwks": Route(PUBLIC),
    "certificates.issuer": Route(PUBLIC),
}
NOT_CHECKED = {"static"}      # files, no data behind them

ACCOUNTS = {username: set(roles) for username, _name, roles in DEMO_USERS
            if username in ("candidate1", "author1", "committee1", "vicechair", "chair", "head1",
                            "secretariat1", "proctor1", "liaison1", "volunteer1")}

# State-changing calls that would change what later calls see run last.
LAST = ("candidate.submit", "auth.logout")


def allowed(access, roles: set[str]) -> bool:
    if access in (PUBLIC, SIGNED_IN):
        return True
    return bool(roles & set(access))


def rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint not in NOT_CHECKED]


def calls(app):
    """(endpoint, method) pairs in a safe order: reads, then writes, LAST at the end."""
    pairs = [(r.endpoint, m) for r in rules(app) for m in sorted(r.methods - {"HEAD", "OPTIONS"})]
    return sorted(pairs, key=lambda p: (p[0] in LAST and LAST.index(p[0]) + 2 or p[1] == "POST",
                                        p[0], p[1]))


@pytest.fixture
def ids(app):
    """Ids for the URL parameters: the demo session, an attempt of candidate1, a registered
    candidate (candidate3). A route whose record does not exist may answer 404 to a
    permitted role: the role check comes first, so the others still get 403."""
    c = Client(app)
    c.login("candidate1")
    state = c.start()
    with app.app_context():
        session_id = db.session.scalar(select(ExamSession.id).where(ExamSession.level == "beginner"))
        version = db.session.scalar(select(BankVersion).order_by(BankVersion.id))
        from app.banks.versions import snapshot
        qid = sorted(snapshot(version)[1])[0]
        users = {u.username: u.id for u in db.session.scalars(select(User))}
        group_id, member_id, invitation_id, join_token = volunteer_ids()
        event_id, code = awareness_event()
        # The demo's published handout: its public page answers anyone.
        material_id = db.session.scalar(select(Material.id).where(Material.published.is_(True)))
    from tests.certificatetools import issue_demo_certificate
    public_id = issue_demo_certificate(app)
    return {"public_id": public_id, "group_id": group_id, "member_id": member_id, "invitation_id": invitation_id,
            "join_token": join_token, "event_id": event_id, "code": code, "number": 1,
            "material_id": material_id, "key": "q1",
            "attempt_id": state["attempt"], "session_id": session_id, "qid": qid, "fmt": "csv",
            "user_id": users["candidate3"], "admission_id": 1, "notice_id": 1, "record_id": 1,
            "certification_id": 1, "appointment_id": 1, "staff_id": 1, "aff_id": 1, "kind": "staff", "users": users,
            "action": "note", "activity_id": 1, "request_id": 1, "commendation_id": 1,
            "course_key": "basic", "module_key": "phishing"}


def volunteer_ids():
    """The university's group, volunteer1's record, and an open invitation of a member of
    the group who has no account yet (made here)."""
    group = db.session.scalar(select(VolunteerGroup).where(VolunteerGroup.name.like("桜丘大学%")))
    leader = db.session.scalar(select(Member).where(Member.group_id == group.id, Member.is_leader.is_(True)))
    invited = Member(group_id=group.id, name="招待　花子", joined_on=date(2026, 4, 1))
    db.session.add(invited)
    db.session.flush()
    token = "roles-test-invitation-token-0123456789"
    inv = VolunteerInvitation(member_id=invited.id, token_hash=token_hash(token), issued_by=leader.user_id,
                              expires_at=utcnow() + timedelta(days=7))
    db.session.add(inv)
    db.session.commit()
    return group.id, leader.id, inv.id, token


def awareness_event() -> tuple[int, str]:
    """An open awareness quiz of the university's group, which liaison1 is in charge of."""
    group = db.session.scalar(select(VolunteerGroup).where(VolunteerGroup.division.has(code="202")))
    event = AwarenessEvent(group_id=group.id, code="246802", title="クイズ", source_ref="bank:test",
                           questions_json='[{"id": "q", "stem": "問", "choices": ["a", "b"], "answer": 0,'
                                          ' "explanation": "解説"}]',
                           held_on=date(2026, 12, 1), minutes=30, created_by=1)
    db.session.add(event)
    db.session.commit()
    return event.id, event.code


def url_for_rule(app, rule, ids, route: Route | None = None) -> str:
    missing = [a for a in rule.arguments if a not in ids]
    assert not missing, f"{rule.endpoint}: add a test value for {missing} in the ids fixture"
    path = app.url_map.bind("localhost").build(rule.endpoint, {a: ids[a] for a in rule.arguments})
    query = (route or ROUTES[rule.endpoint]).query.format(**ids)
    return path + ("?" + query if query else "")


def call(client: Client, method: str, url: str, route: Route):
    if method == "GET":
        headers = {"Accept": "application/json"} if route.json else {}
        return client.get(url, headers=headers)
    if route.json:
        return client.http.post(url, json={}, headers={"X-CSRFToken": client.csrf,
                                                       "Accept": "application/json"})
    return client.post_form(url, {})


def last_audit_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))


def forbidden_logged(app, after_id: int, user_id: int, url: str, method: str) -> bool:
    import json
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.id > after_id,
                                                           AuditEvent.event == "forbidden"))
        return any(e.user_id == user_id and json.loads(e.detail_json).get("path") == urlsplit(url).path
                   and json.loads(e.detail_json).get("method") == method for e in rows)


def to_login(resp) -> bool:
    return resp.status_code == 302 and urlsplit(resp.location).path == "/login"


def test_every_route_is_in_the_table(app):
    endpoints = {r.endpoint for r in rules(app)}
    assert endpoints - set(ROUTES) == set(), "routes without an entry in ROUTES (who may use them?)"
    assert set(ROUTES) - endpoints == set(), "ROUTES lists endpoints that no longer exist"


def test_anonymous_visitors_are_sent_to_sign_in(app, ids):
    c = Client(app)
    c.get("/login")                              # a CSRF token, so the sign-in check is tested
    by_endpoint = {r.endpoint: r for r in rules(app)}
    problems = []
    for endpoint, method in calls(app):
        route = ROUTES.get(endpoint)
        if route is None:
            problems.append(f"{endpoint}: not in ROUTES")
            continue
        url = url_for_rule(app, by_endpoint[endpoint], ids)
        resp = call(c, method, url, route)
        if route.access == PUBLIC:
            ok = resp.status_code < 400
        elif route.json:
            ok = resp.status_code == 401 and resp.is_json and resp.json["ok"] is False
        else:
            ok = to_login(resp)
        if not ok:
            problems.append(f"anonymous {method} {url}: {resp.status_code} {resp.location or ''}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("username", sorted(ACCOUNTS))
def test_each_role_gets_exactly_its_routes(app, ids, username):
    roles = ACCOUNTS[username]
    c = Client(app)
    assert c.login(username).status_code == 302
    user_id = ids["users"][username]
    by_endpoint = {r.endpoint: r for r in rules(app)}
    problems = []
    for endpoint, method in calls(app):
        route = ROUTES.get(endpoint)
        if route is None:
            problems.append(f"{endpoint}: not in ROUTES")
            continue
        url = url_for_rule(app, by_endpoint[endpoint], ids)
        before = last_audit_id(app)
        resp = call(c, method, url, route)
        where = f"{username} {method} {url}: {resp.status_code}"
        if resp.status_code >= 500:
            problems.append(f"{where} (server error)")
        elif route.signs_out:
            if not to_login(resp) or c.get("/exam/").status_code != 302:
                problems.append(f"{where}, expected to sign out")
        elif allowed(route.access, roles):
            if resp.status_code in (401, 403) or to_login(resp):
                problems.append(f"{where}, expected to be allowed")
        else:
            if resp.status_code != 403:
                problems.append(f"{where}, expected 403")
            elif not forbidden_logged(app, before, user_id, url, method):
                problems.append(f"{where}: the refusal is not in the audit log")
            elif route.json and not (resp.is_json and resp.json["ok"] is False):
                problems.append(f"{where}: expected a JSON refusal")
    assert not problems, "\n".join(problems)


def test_the_table_keeps_candidates_and_heads_in_their_corner():
    """A guard on the table itself: a candidate reaches only the exam and practice, an
    affiliation head only their own pages; no role-restricted route is open to all."""
    def reachable(username):
        return {e for e, r in ROUTES.items()
                if r.access not in (PUBLIC, SIGNED_IN) and allowed(r.access, ACCOUNTS[username])}
    assert reachable("candidate1") and all(e.startswith("candidate.") for e in reachable("candidate1"))
    assert reachable("head1") and all(e.startswith("head.") for e in reachable("head1"))
    assert not any(e.startswith("candidate.") for u in ACCOUNTS if u != "candidate1"
                   for e in reachable(u))
    assert {e for e, r in ROUTES.items() if r.access in (PUBLIC, SIGNED_IN)} == \
        {"index", "healthz", "readyz", "favicon", "auth.login", "auth.logout", "volunteers.join",
         "honours.index", "quiz.enter", "quiz.start", "quiz.question", "quiz.result", "materials.public",
         "certificates.verify", "certificates.verify_credential", "certificates.jwks", "certificates.issuer"}
