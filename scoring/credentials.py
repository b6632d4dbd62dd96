"""What a volunteer's certificate states, and the Open Badges 3.0 credential built from it.

Pure data: the app takes the snapshot from the database, signs the credential and serves
it. The credential is an `OpenBadgeCredential` (VC data model 2.0, OB 3.0.3 context);
OB 3.0 has no field for how the achievement was assessed or whether it was supervised,
so the achievement carries both in `criteria.narrative` (for people) and in two extension
terms (for machines): `assessmentType` and `supervised` (true when a police officer
watched or confirmed what is certified). The VC 2.0 context's `@vocab` gives such terms
their issuer-dependent IRIs. Hours are the achievement's `creditsAvailable` (one credit =
one hour of learning or activity; a university converts them to its own credits)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
# A fixed namespace, so an achievement's (and a learner's) URN is the same at every issue.
_NAMESPACE = uuid.UUID("6f1d6c1e-3b3a-4f0e-9d55-2a4c3b0e7a11")


@dataclass(frozen=True)
class Participation:
    """A member's part in one activity: its kind, date and the member's minutes."""
    kind: str
    held_on: date
    minutes: int


def activity_totals(rows: list[Participation], start: date, end: date,
                    kinds: dict[str, str]) -> list[dict]:
    """Minutes and number of activities per kind, within start..end (both days included),
    in the order of `kinds` (kind -> Japanese name); kinds with nothing are kept at zero so
    the certificate shows every kind."""
    totals = {k: {"kind": k, "name": name, "minutes": 0, "count": 0} for k, name in kinds.items()}
    for row in rows:
        if start <= row.held_on <= end and row.kind in totals:
            totals[row.kind]["minutes"] += row.minutes
            totals[row.kind]["count"] += 1
    return list(totals.values())


def hours(minutes: int) -> str:
    """Minutes as hours for people: 90 -> "1.5", 120 -> "2", 100 -> "1.7" (tenths)."""
    text = f"{minutes / 60:.1f}"
    return text[:-2] if text.endswith(".0") else text


def urn(*parts: str) -> str:
    return "urn:uuid:" + str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def _iso(day: date) -> str:
    return day.isoformat() + "T00:00:00+09:00"


def _achievement(key: str, kind: str, name: str, description: str, narrative: str,
                 minutes: int, assessment: str, supervised: bool) -> dict:
    return {"id": urn("achievement", key), "type": ["Achievement"], "achievementType": kind,
            "name": name, "description": description, "criteria": {"narrative": narrative},
            "creditsAvailable": float(hours(minutes)), "fieldOfStudy": "サイバー防犯",
            "inLanguage": "ja", "assessmentType": assessment, "supervised": supervised}


def achievement(statement: dict) -> dict:
    """The OB Achievement of a statement: what was achieved, how it was assessed."""
    if statement["kind"] == "completion":
        course = statement["course"]
        narrative = (f"研修「{course['title']}」の各単元の確認テスト（オンライン、合格点あり、"
                     "解説つき、再受験可）にすべて合格したこと。受験は本人がオンラインで行い、"
                     "試験監督は付かない。")
        return {**_achievement(
            "course/" + course["key"], "Course", f"{course['title']} 修了",
            "サイバー防犯ボランティアの専門性向上のための研修（フィッシング、サポート詐欺、"
            "アカウント乗っ取り、違法・有害情報の通報など）を修了した。",
            narrative, course["minutes"], "オンラインの確認テスト（合格点あり）", False),
            "resultDescription": [{
                "id": urn("achievement", "course/" + course["key"], "score"),
                "type": ["ResultDescription"], "name": "得点", "resultType": "RawScore",
                "valueMax": str(course["total"]), "valueMin": "0"}]}
    period = statement["period"]
    narrative = (f"{period['from']}から{period['to']}までの間に、サイバー防犯ボランティア団体の"
                 "一員として行った教育活動、広報啓発活動及びサイバーパトロールの時間。"
                 "団体の活動記録に基づき、警察の担当所属が確認して発行する。")
    return _achievement(
        "activity/" + statement["division"]["code"], "CoCurricular", "サイバー防犯ボランティア活動",
        "警察と連携したサイバー防犯ボランティア活動（教育活動、広報啓発活動、サイバーパトロール）に従事した。",
        narrative, statement["total_minutes"], "活動記録（警察の担当所属が確認）", True)


def open_badge(statement: dict, *, credential_id: str, issuer: dict, status_url: str,
               issued_on: date) -> dict:
    """The OpenBadgeCredential of a statement. `issuer` is the division's OB Profile
    (id, name); `status_url` the public verification page."""
    subject = {
        "type": ["AchievementSubject"],
        # The learner by name only: no e-mail, school or date of birth leaves the engine.
        "identifier": [{"type": "IdentityObject", "identityType": "name", "hashed": False,
                        "identityHash": statement["member"]["name"]}],
        "achievement": achievement(statement),
    }
    if statement["kind"] == "completion":
        course = statement["course"]
        subject["result"] = [{"type": ["Result"], "resultDescription": subject["achievement"]
                              ["resultDescription"][0]["id"], "value": str(course["score"])}]
        subject["creditsEarned"] = float(hours(course["minutes"]))
    else:
        subject["activityStartDate"] = _iso(date.fromisoformat(statement["period"]["from"]))
        subject["activityEndDate"] = _iso(date.fromisoformat(statement["period"]["to"]))
        subject["creditsEarned"] = float(hours(statement["total_minutes"]))
        subject["activityHours"] = [{"kind": k["name"], "hours": float(hours(k["minutes"])),
                                     "activities": k["count"]} for k in statement["by_kind"]]
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": statement["title"],
        "issuer": {"id": issuer["id"], "type": ["Profile"], "name": issuer["name"]},
        "validFrom": _iso(issued_on),
        "credentialSubject": subject,
        # Where anyone finds whether the credential is current or revoked.
        "credentialStatus": {"id": status_url, "type": "VerificationPage"},
    }
