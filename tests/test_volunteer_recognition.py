"""Commendations (賞揚) and the public honours page: who records them, and who is named in
public (a member only with their own consent, a minor only with a guardian's consent on
record too); no contact data, ever."""
from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Commendation, Member, User
from scoring.volunteer_hours import may_name_in_public
from tests.test_volunteer_activities import HIGH_SCHOOL, UNIVERSITY, ids, move_liaison, refusals, signed_in


def commend(client, target: str, reason: str, **over):
    client.get("/volunteers/commendations")
    data = {"target": target, "kind": "thanks", "awarded_on": "2026-11-20", "awarded_by": "警察本部長",
            "reason": reason}
    data.update(over)
    return client.post_form("/volunteers/commendations", data)


def public_page(app) -> str:
    from tests.conftest import Client
    resp = Client(app).get("/honours/")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def add(app, member_name: str | None, group_name: str, reason: str) -> None:
    with app.app_context():
        recorder = db.session.scalar(select(User).where(User.username == "committee1"))
        member = db.session.scalar(select(Member).where(Member.name == member_name)) if member_name else None
        from app.models import VolunteerGroup
        group = db.session.scalar(select(VolunteerGroup).where(VolunteerGroup.name == group_name))
        db.session.add(Commendation(group_id=group.id, member_id=member.id if member else None, kind="award",
                                    awarded_on=date(2026, 10, 1), reason=reason, awarded_by="署長",
                                    recorded_by=recorder.id))
        db.session.commit()


def test_the_public_page_names_only_members_who_consented(app):
    n = ids(app)
    liaison = signed_in(app, "liaison1")
    assert commend(liaison, f"member:{n['港　健太']}", "SNS見守りで被害を未然に防いだ").status_code == 302
    assert commend(liaison, f"group:{n['uni']}", "高齢者向け講座を30回開催", kind="award").status_code == 302
    page = public_page(app)
    assert "高齢者向け講座を30回開催" in page and UNIVERSITY in page
    # No consent: neither the name nor anything that points to the member's commendation.
    assert "港　健太" not in page and "SNS見守り" not in page
    # The member consents on their own page; then they are named, still without contact data.
    member = signed_in(app, "volunteer2")
    assert "氏名を公表しません" in member.get("/volunteers/my/publication").get_data(as_text=True)
    assert member.post_form("/volunteers/my/publication", {"publish": "y"}).status_code == 302
    page = public_page(app)
    assert "港　健太さん" in page and "SNS見守りで被害を未然に防いだ" in page
    assert "kenta@example.jp" not in page and "法学部" not in page
    # And withdraws it: gone again.
    member.post_form("/volunteers/my/publication", {})
    assert "港　健太" not in public_page(app)
    with app.app_context():
        changes = [json.loads(d)["consent"] for d in db.session.scalars(
            select(AuditEvent.detail_json).where(AuditEvent.event == "publication_consent_changed"))]
    assert changes == [True, False]


def test_a_minor_is_named_only_with_a_guardians_consent_on_record(app):
    with app.app_context():
        for m in db.session.scalars(select(Member).where(Member.minor.is_(True))):
            m.publish_consent = True
        db.session.commit()
    add(app, "緑川　さくら", HIGH_SCHOOL, "動画で情報モラルを啓発")
    add(app, "青木　蓮", HIGH_SCHOOL, "校内でフィッシング対策を呼びかけ")
    page = public_page(app)
    assert "緑川　さくらさん" in page and "動画で情報モラルを啓発" in page
    assert "青木　蓮" not in page and "フィッシング対策を呼びかけ" not in page
    assert may_name_in_public(True, False, None) and not may_name_in_public(False, False, None)
    assert not may_name_in_public(True, True, None) and may_name_in_public(True, True, date(2026, 4, 1))


def test_who_records_commendations(app):
    n = ids(app)
    # The committee records for any group.
    assert commend(signed_in(app, "committee1"), f"group:{n['high']}", "部活動での啓発").status_code == 302
    # A liaison only for their division's groups: refused, logged, nothing written.
    move_liaison(app, HIGH_SCHOOL)
    liaison = signed_in(app, "liaison1")
    assert commend(liaison, f"member:{n['港　健太']}", "x").status_code == 403
    assert refusals(app)[-1]["group_id"] == n["uni"]
    # The form offers only what the liaison may commend.
    form = liaison.get("/volunteers/commendations").get_data(as_text=True)
    assert f'value="group:{n["high"]}"' in form and f'value="group:{n["uni"]}"' not in form
    # The secretariat reads the records but records none; a volunteer neither.
    secretariat = signed_in(app, "secretariat1")
    assert "部活動での啓発" in secretariat.get("/volunteers/commendations").get_data(as_text=True)
    assert commend(secretariat, f"group:{n['high']}", "x").status_code == 403
    assert signed_in(app, "volunteer1").get("/volunteers/commendations").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Commendation)) == 1


def test_bad_commendations_are_refused_in_japanese(app):
    n = ids(app)
    liaison = signed_in(app, "liaison1")
    for over, message in (({"target": "member:999999"}, "賞揚の対象（団体または会員）を選んでください"),
                          ({"target": "nonsense"}, "賞揚の対象（団体または会員）を選んでください"),
                          ({"awarded_on": "2999-01-01"}, "授与日が未来の日付です"),
                          ({"kind": "medal"}, "種類を選んでください"),
                          ({"awarded_by": ""}, "入力してください")):
        data = {"target": f"group:{n['uni']}", **over}
        resp = commend(liaison, data.pop("target"), "地域での啓発", **data)
        page = resp.get_data(as_text=True)
        assert resp.status_code == 400 and message in page, over
        assert "地域での啓発" in page          # what was typed is kept
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Commendation)) == 0


def test_deleting_a_commendation_is_audited(app):
    n = ids(app)
    liaison = signed_in(app, "liaison1")
    commend(liaison, f"group:{n['uni']}", "講座の開催")
    with app.app_context():
        cid = db.session.scalar(select(Commendation.id))
    assert signed_in(app, "secretariat1").post_form(f"/volunteers/commendations/{cid}/delete").status_code == 403
    assert liaison.post_form(f"/volunteers/commendations/{cid}/delete").status_code == 302
    assert "講座の開催" not in public_page(app)
    with app.app_context():
        detail = json.loads(db.session.scalar(select(AuditEvent.detail_json).where(
            AuditEvent.event == "commendation_deleted")))
    assert detail["reason"] == "講座の開催" and detail["commendation_id"] == cid
