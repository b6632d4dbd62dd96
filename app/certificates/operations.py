"""Issuing, revoking and checking certificates, and who may see or issue which. Operations
flush; the request handler commits."""
from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone

from flask import current_app, url_for
from sqlalchemy import select

from scoring import credentials
from scoring.jpdate import to_jst

from ..core import audit
from ..extensions import db
from ..models import (ACTIVITY_KINDS, CERTIFICATE_KINDS, Activity, ActivityMember, Affiliation,
                      Certificate, CourseCompletion, Member, User, VolunteerGroup, utcnow)
from ..volunteers import access
from . import signing

ISSUER_ORGANISATION = "愛知県警察"


class IssueError(ValueError):
    """A certificate that cannot be issued, with the reason in Japanese."""


class NotAllowed(Exception):
    """The user may not act for the member's group (a 403, logged)."""


# ---- who --------------------------------------------------------------------------------

def may_see(user: User, cert: Certificate) -> bool:
    """The member, their group's leader, the liaisons of the division in charge, the
    committee and the secretariat."""
    member = access.member_of(user)
    if member is not None and member.id == cert.member_id:
        return True
    return access.may_see_people(user, cert.member.group)


def may_issue(user: User, member: Member) -> bool:
    """A liaison of the division in charge of the member's group."""
    return access.is_liaison_of(user, member.group)


def visible(user: User) -> list[Certificate]:
    """The certificates the user may open, newest first."""
    query = select(Certificate).join(Member).order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    if user.has_role(*access.OVERSIGHT_ROLES):
        return list(db.session.scalars(query))
    group_ids = [g.id for g in access.visible_groups(user) if access.may_see_people(user, g)]
    member = access.member_of(user)
    condition = Member.group_id.in_(group_ids)
    if member is not None:
        condition = condition | (Certificate.member_id == member.id)
    return list(db.session.scalars(query.where(condition)))


def issuable_members(user: User) -> list[Member]:
    """The members of the groups the liaison's division is in charge of."""
    division = access.liaison_division(user)
    if division is None:
        return []
    return list(db.session.scalars(
        select(Member).join(VolunteerGroup).where(VolunteerGroup.division_id == division)
        .order_by(VolunteerGroup.name, Member.name_kana, Member.id)))


def issuable_completions(user: User) -> list[CourseCompletion]:
    """Completed courses of those members without a current completion certificate."""
    members = [m.id for m in issuable_members(user)]
    if not members:
        return []
    certified = select(Certificate.completion_id).where(
        Certificate.kind == "completion", Certificate.revoked_at.is_(None))
    return list(db.session.scalars(
        select(CourseCompletion).where(CourseCompletion.member_id.in_(members),
                                       CourseCompletion.id.not_in(certified))
        .order_by(CourseCompletion.completed_at.desc())))


# ---- what it states -----------------------------------------------------------------------

def _jst_day(moment: datetime) -> date:
    return to_jst(moment).date()


def _heading(member: Member) -> dict:
    division = member.group.division
    return {"member": {"name": member.name}, "group": {"name": member.group.name},
            "division": {"code": division.code, "name": division.name},
            "issuer_name": f"{ISSUER_ORGANISATION} {division.name}"}


def completion_statement(completion: CourseCompletion) -> dict:
    return {"kind": "completion", "title": CERTIFICATE_KINDS["completion"], **_heading(completion.member),
            "course": {"key": completion.course_key, "title": completion.course_title,
                       "completed_on": _jst_day(completion.completed_at).isoformat(),
                       "score": completion.score, "total": completion.total,
                       "minutes": completion.minutes}}


def activity_statement(member: Member, start: date, end: date) -> dict:
    """Hours by kind of activity within start..end (both included), the number of
    activities, and the courses completed within the period."""
    rows = db.session.execute(
        select(Activity.kind, Activity.held_on, ActivityMember.minutes)
        .join(ActivityMember, ActivityMember.activity_id == Activity.id)
        .where(ActivityMember.member_id == member.id,
               Activity.held_on >= start, Activity.held_on <= end))
    by_kind = credentials.activity_totals(
        [credentials.Participation(k, d, m) for k, d, m in rows], start, end, ACTIVITY_KINDS)
    courses = [c for c in db.session.scalars(
        select(CourseCompletion).where(CourseCompletion.member_id == member.id)
        .order_by(CourseCompletion.completed_at))
        if start <= _jst_day(c.completed_at) <= end]
    return {"kind": "activity", "title": CERTIFICATE_KINDS["activity"], **_heading(member),
            "period": {"from": start.isoformat(), "to": end.isoformat()},
            "by_kind": by_kind, "activities": sum(k["count"] for k in by_kind),
            "total_minutes": sum(k["minutes"] for k in by_kind),
            "courses": [{"title": c.course_title, "completed_on": _jst_day(c.completed_at).isoformat(),
                         "minutes": c.minutes} for c in courses]}


# ---- addresses --------------------------------------------------------------------------

def _external(endpoint: str, **values) -> str:
    """An address for outside the engine: under CERTIFICATE_BASE_URL when set (the public
    name of the site), else as the request reached it."""
    base = current_app.config.get("CERTIFICATE_BASE_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def verification_url(cert: Certificate) -> str:
    return _external("certificates.verify", public_id=cert.public_id)


def issuer_profile(division: Affiliation) -> dict:
    """The division as an Open Badges issuer Profile (public: a police division's name)."""
    return {"@context": [credentials.VC_CONTEXT, credentials.OB_CONTEXT],
            "id": _external("certificates.issuer", aff_id=division.id), "type": ["Profile"],
            "name": f"{ISSUER_ORGANISATION} {division.name}",
            "url": _external("certificates.jwks")}


# ---- issue and revoke -------------------------------------------------------------------

def _issue(kind: str, member: Member, statement: dict, by: User, **fields) -> Certificate:
    now = utcnow()
    issued_on = _jst_day(now)
    statement["issued_on"] = issued_on.isoformat()
    cert = Certificate(public_id=secrets.token_urlsafe(16), kind=kind, member_id=member.id,
                       statement_json=json.dumps(statement, ensure_ascii=False, sort_keys=True),
                       issued_at=now, issued_by=by.id, credential_jwt="", **fields)
    issuer = {"id": _external("certificates.issuer", aff_id=member.group.division_id),
              "name": statement["issuer_name"]}
    credential_id = "urn:uuid:" + str(uuid.uuid4())
    vc = credentials.open_badge(statement, credential_id=credential_id, issuer=issuer,
                                status_url=verification_url(cert), issued_on=issued_on)
    issued_ts = int(now.replace(tzinfo=timezone.utc).timestamp())
    # VC-JWT (OB 3.0 §8.2): the credential is the payload, with the registered claims.
    cert.credential_jwt = signing.sign({**vc, "iss": issuer["id"], "jti": credential_id,
                                        "nbf": issued_ts, "iat": issued_ts})
    db.session.add(cert)
    db.session.flush()
    audit.record("certificate_issued", by.id, certificate_id=cert.id, member_id=member.id,
                 kind=kind)
    return cert


def _may_certify(member: Member, by: User) -> None:
    """A liaison of the division certifies; a member who has left still may get a
    certificate of past work, a minor only with a guardian's consent on record."""
    if not may_issue(by, member):
        raise NotAllowed
    if member.minor and member.guardian_consent_on is None:
        raise IssueError(f"{member.name} さんは18歳未満で、保護者の同意が記録されていません。同意を記録してから発行してください。")


def issue_completion(completion: CourseCompletion, by: User) -> Certificate:
    member = completion.member
    _may_certify(member, by)
    current = db.session.scalar(select(Certificate.id).where(
        Certificate.completion_id == completion.id, Certificate.revoked_at.is_(None)))
    if current is not None:
        raise IssueError(f"「{completion.course_title}」の修了証は発行済みです。")
    return _issue("completion", member, completion_statement(completion), by,
                  completion_id=completion.id)


def issue_activity(member: Member, start: date, end: date, by: User) -> Certificate:
    _may_certify(member, by)
    if start > end:
        raise IssueError("期間の開始日が終了日より後になっています。")
    if end > _jst_day(utcnow()):
        raise IssueError("期間の終了日に未来の日付は指定できません。")
    statement = activity_statement(member, start, end)
    if statement["activities"] == 0:
        raise IssueError(f"{member.name} さんのこの期間の活動記録がありません。期間を確認してください。")
    return _issue("activity", member, statement, by, period_from=start, period_to=end)


def revoke(cert: Certificate, reason: str, by: User) -> None:
    if not may_issue(by, cert.member):
        raise NotAllowed
    if cert.revoked:
        raise IssueError("この証明書は既に失効しています。")
    cert.revoked_at, cert.revoked_by, cert.revoke_reason = utcnow(), by.id, reason
    db.session.flush()
    audit.record("certificate_revoked", by.id, certificate_id=cert.id, member_id=cert.member_id)


# ---- checking ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    genuine: bool          # the signature verifies with a published key and names this certificate
    revoked: bool
    statement: dict
    credential: dict       # the decoded payload


def _states_the_snapshot(claims: dict, statement: dict) -> bool:
    """The signed credential says exactly what the stored snapshot says: rebuilt from the
    snapshot with the credential's own id, issuer and status URL, it is the same."""
    try:
        rebuilt = credentials.open_badge(
            statement, credential_id=claims["id"],
            issuer={"id": claims["issuer"]["id"], "name": statement["issuer_name"]},
            status_url=claims["credentialStatus"]["id"],
            issued_on=date.fromisoformat(statement["issued_on"]))
    except (KeyError, TypeError, ValueError):
        return False
    signed = {k: v for k, v in claims.items() if k not in ("iss", "jti", "nbf", "iat")}
    return json.loads(json.dumps(rebuilt)) == signed


def check(cert: Certificate) -> Check:
    claims = signing.verify(cert.credential_jwt)
    statement = json.loads(cert.statement_json)
    genuine = (claims is not None
               and claims.get("credentialStatus", {}).get("id", "").endswith("/" + cert.public_id)
               and _states_the_snapshot(claims, statement))
    payload = claims or signing.unverified_parts(cert.credential_jwt)[1]
    return Check(genuine=genuine, revoked=cert.revoked, statement=statement, credential=payload)


def find(public_id: str) -> Certificate | None:
    if not public_id or len(public_id) > 32:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.public_id == public_id))
