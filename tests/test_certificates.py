"""Volunteers' certificates (3(3)): issue, hours by kind over a period, the PDF's embedded
font, URL and QR code, verification before and after revocation, the VC-JWT checked with an
independent JOSE library against the JWKS the app publishes, and who may do what."""
from __future__ import annotations

import base64
import io
import json
import os
import re
import stat
import warnings
from datetime import date, datetime

import pytest
import zxingcpp
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import func, select

from app.certificates import document, operations, signing
from app.extensions import db
from app.models import AuditEvent, Certificate, Member
from scoring import credentials
from tests.certificatetools import activity, completion, issue_demo_certificate, member, user
from tests.conftest import Client

OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


def signed_in(app, username) -> Client:
    c = Client(app)
    assert c.login(username).status_code == 302
    return c


def certificate(app, public_id) -> Certificate:
    with app.app_context():
        cert = db.session.scalar(select(Certificate).where(Certificate.public_id == public_id))
        db.session.expunge(cert)
        return cert


def public_id_of(resp) -> str:
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return resp.location.rsplit("/", 1)[1]


def joserfc_verify(token: str, jwks: dict) -> dict:
    """The credential's payload as joserfc (not the app's PyJWT) reads it with the JWKS."""
    with warnings.catch_warnings():
        # joserfc warns that RFC 9864 deprecates "EdDSA"; OB 3.0 verifiers still use it.
        warnings.simplefilter("ignore")
        keys = KeySet.import_key_set(jwks)
        obj = jws.deserialize_compact(token, keys, algorithms=["EdDSA"])
    return json.loads(obj.payload)


def audit_events(app, event):
    with app.app_context():
        return [json.loads(e.detail_json) | {"user_id": e.user_id} for e in
                db.session.scalars(select(AuditEvent).where(AuditEvent.event == event))]


# ---- hours by kind --------------------------------------------------------------------

def test_activity_totals_count_both_ends_of_the_period_and_nothing_outside():
    P = credentials.Participation
    rows = [P("education", date(2026, 3, 31), 600),       # the day before: out
            P("education", date(2026, 4, 1), 90),          # first day: in
            P("awareness", date(2026, 6, 15), 120),
            P("awareness", date(2026, 9, 30), 45),         # last day: in
            P("patrol", date(2026, 10, 1), 300)]           # the day after: out
    kinds = {"education": "教育活動", "awareness": "広報啓発活動", "patrol": "サイバーパトロール"}
    totals = credentials.activity_totals(rows, date(2026, 4, 1), date(2026, 9, 30), kinds)
    assert [(t["kind"], t["minutes"], t["count"]) for t in totals] == [
        ("education", 90, 1), ("awareness", 165, 2), ("patrol", 0, 0)]
    assert credentials.hours(165) == "2.8" and credentials.hours(120) == "2" and credentials.hours(90) == "1.5"


def test_activity_certificate_states_hours_by_kind_within_the_period(app):
    c = signed_in(app, "liaison1")
    with app.app_context():
        m, liaison = member("volunteer1"), user("liaison1")
        other = member("volunteer2")
        activity(m, "education", date(2026, 3, 31), 600, liaison)        # before
        activity(m, "education", date(2026, 4, 1), 90, liaison)
        activity(m, "awareness", date(2026, 6, 15), 120, liaison)
        activity(m, "patrol", date(2026, 9, 30), 60, liaison)
        activity(m, "patrol", date(2026, 10, 1), 300, liaison)           # after
        activity(other, "awareness", date(2026, 6, 16), 240, liaison)    # someone else's
        completion(m, at=datetime(2026, 5, 1, 1, 0))                     # in the period
        completion(m, key="advanced", title="応用研修", at=datetime(2026, 3, 31, 14, 59))  # 3/31 JST: out
        member_id = m.id
        db.session.commit()
    c.get("/certificates/")
    resp = c.post_form("/certificates/issue/activity", {
        "a-member": member_id, "a-period_from": "2026-04-01", "a-period_to": "2026-09-30"})
    pid = public_id_of(resp)
    statement = json.loads(certificate(app, pid).statement_json)
    assert statement["period"] == {"from": "2026-04-01", "to": "2026-09-30"}
    assert [(k["kind"], k["minutes"], k["count"]) for k in statement["by_kind"]] == [
        ("education", 90, 1), ("awareness", 120, 1), ("patrol", 60, 1)]
    assert statement["total_minutes"] == 270 and statement["activities"] == 3
    assert [x["title"] for x in statement["courses"]] == ["ボランティア基礎研修"]
    page = c.get(f"/certificates/issued/{pid}").get_data(as_text=True)
    assert "1.5時間（1回）" in page and "4.5時間（3回）" in page and "応用研修" not in page
    assert audit_events(app, "certificate_issued")[-1]["kind"] == "activity"
    assert "現在有効" in Client(app).get(f"/certificates/verify/{pid}").get_data(as_text=True)
    vc = joserfc_verify(certificate(app, pid).credential_jwt, c.get("/certificates/jwks.json").json)
    subject = vc["credentialSubject"]
    assert subject["achievement"]["achievementType"] == "CoCurricular"
    assert subject["achievement"]["supervised"] is True and subject["creditsEarned"] == 4.5
    assert subject["activityStartDate"].startswith("2026-04-01") and subject["activityEndDate"].startswith("2026-09-30")
    assert [(h["kind"], h["hours"], h["activities"]) for h in subject["activityHours"]] == [
        ("教育活動", 1.5, 1), ("広報啓発活動", 2.0, 1), ("サイバーパトロール", 1.0, 1)]


def test_activity_certificate_refusals_are_clear_and_keep_the_form(app):
    c = signed_in(app, "liaison1")
    with app.app_context():
        member_id = member("volunteer1").id
    c.get("/certificates/")
    resp = c.post_form("/certificates/issue/activity", {
        "a-member": member_id, "a-period_from": "2026-09-30", "a-period_to": "2026-04-01"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "開始日が終了日より後" in page and 'value="2026-09-30"' in page
    resp = c.post_form("/certificates/issue/activity", {
        "a-member": member_id, "a-period_from": "2026-04-01", "a-period_to": "2026-04-31"})
    assert resp.status_code == 422 and "日付を正しく入力してください" in resp.get_data(as_text=True)
    resp = c.post_form("/certificates/issue/activity", {
        "a-member": member_id, "a-period_from": "2020-04-01", "a-period_to": "2020-04-30"})
    assert resp.status_code == 422 and "活動記録がありません" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Certificate.id))) == 0


def test_minor_without_guardian_consent_gets_no_certificate(app):
    with app.app_context():
        m = member("volunteer2")
        m.minor = True
        c_id = completion(m).id
        db.session.commit()
    c = signed_in(app, "liaison1")
    c.get("/certificates/")
    resp = c.post_form("/certificates/issue/completion", {"c-completion": c_id})
    assert resp.status_code == 422 and "保護者の同意が記録されていません" in resp.get_data(as_text=True)


# ---- completion certificate, PDF, QR --------------------------------------------------

def test_completion_certificate_issued_once_with_pdf_font_url_and_qr(app):
    with app.app_context():
        c_id = completion(member("volunteer1")).id
        db.session.commit()
    c = signed_in(app, "liaison1")
    assert "ボランティア基礎研修" in c.get("/certificates/").get_data(as_text=True)
    pid = public_id_of(c.post_form("/certificates/issue/completion", {"c-completion": c_id}))
    # 128 random bits, URL-safe.
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", pid)
    again = c.post_form("/certificates/issue/completion", {"c-completion": c_id})
    assert again.status_code == 422 and "発行済み" in again.get_data(as_text=True)

    resp = c.get(f"/certificates/issued/{pid}/certificate.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(resp.data))
    fonts = [f.get_object() for f in reader.pages[0]["/Resources"]["/Font"].values()]
    embedded = [f for f in fonts if "IPAexGothic" in f["/BaseFont"]
                and "/FontFile2" in f["/FontDescriptor"].get_object()]
    assert embedded, [f["/BaseFont"] for f in fonts]
    text = reader.pages[0].extract_text()
    url = f"http://localhost/certificates/verify/{pid}"
    assert "修了証" in text and "桜丘" in text and url in text
    assert any(a.get_object()["/A"]["/URI"] == url for a in reader.pages[0]["/Annots"])

    # The QR code on the page and in the PDF encodes the verification URL.
    printed = c.get(f"/certificates/issued/{pid}/print").get_data(as_text=True)
    assert url in printed
    qr = document.qr(url)
    # The page shows exactly this code (the browser test decodes it from the screen).
    assert f'src="{qr.svg_data_uri(scale=4, border=4)}"' in printed
    png = io.BytesIO()
    qr.save(png, kind="png", scale=4, border=4)
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.getvalue())))
    assert [b.text for b in decoded] == [url]


def test_pdf_without_the_font_says_so(app):
    with app.app_context():
        pid = issue_demo_certificate(app)
    app.config["CERTIFICATE_FONT"] = "/nonexistent/font.ttf"
    from reportlab.pdfbase import pdfmetrics
    registered = pdfmetrics._fonts.pop("IPAexGothic", None)     # as in a fresh process
    try:
        resp = signed_in(app, "volunteer1").get(f"/certificates/issued/{pid}/certificate.pdf")
        assert resp.status_code == 503 and "fonts-ipaexfont-gothic" in resp.get_data(as_text=True)
    finally:
        if registered is not None:
            pdfmetrics._fonts["IPAexGothic"] = registered


# ---- verification and revocation ------------------------------------------------------

def test_verification_page_current_then_revoked_without_the_reason(app):
    pid = issue_demo_certificate(app)
    public = Client(app)
    resp = public.get(f"/certificates/verify/{pid}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "有効" in page and "失効" not in page
    assert "桜丘　未来" in page and "ボランティア基礎研修" in page
    # Only what the certificate states: no e-mail, no school, no strengths.
    assert "mirai@example.jp" not in page and "情報学部" not in page and "ネットワーク" not in page
    assert resp.headers["Cache-Control"] == "no-store" and "noindex" in resp.headers["X-Robots-Tag"]

    c = signed_in(app, "liaison1")
    c.get(f"/certificates/issued/{pid}")
    empty = c.post_form(f"/certificates/issued/{pid}/revoke", {"reason": "  "})
    assert empty.status_code == 422 and "失効の理由を入力してください" in empty.get_data(as_text=True)
    assert c.post_form(f"/certificates/issued/{pid}/revoke",
                       {"reason": "活動記録の誤りのため"}).status_code == 302
    page = public.get(f"/certificates/verify/{pid}").get_data(as_text=True)
    assert "失効" in page and "この証明書は本物ですが" in page and "活動記録の誤り" not in page
    assert "活動記録の誤り" in c.get(f"/certificates/issued/{pid}").get_data(as_text=True)
    revoked_pdf = PdfReader(io.BytesIO(c.get(f"/certificates/issued/{pid}/certificate.pdf").data))
    assert "この証明書は失効しています" in revoked_pdf.pages[0].extract_text()
    twice = c.post_form(f"/certificates/issued/{pid}/revoke", {"reason": "再度"})
    assert twice.status_code == 409 and "既に失効しています" in twice.get_data(as_text=True)
    [event] = audit_events(app, "certificate_revoked")
    assert event["user_id"] is not None and event["certificate_id"] == certificate(app, pid).id


def test_unknown_or_hostile_ids_are_not_found_without_detail(app):
    issue_demo_certificate(app)
    public = Client(app)
    for pid in ("A" * 22, "x", "%27%20OR%201=1", "a" * 200, "%E3%81%82"):
        for path in ("", "/credential.jwt"):
            resp = public.get(f"/certificates/verify/{pid}{path}")
            page = resp.get_data(as_text=True)
            assert resp.status_code == 404 and "証明書が見つかりません" in page, (pid, path)
            assert "桜丘" not in page and "eyJ" not in page


# ---- the Open Badges credential --------------------------------------------------------

def test_credential_verifies_with_an_independent_library_against_the_published_jwks(app):
    pid = issue_demo_certificate(app)
    public = Client(app)
    jwks = public.get("/certificates/jwks.json").json
    token = public.get(f"/certificates/verify/{pid}/credential.jwt").get_data(as_text=True)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"] == "EdDSA" and header["kid"] == jwks["keys"][0]["kid"]
    assert "d" not in jwks["keys"][0]                         # the public part only
    vc = joserfc_verify(token, jwks)
    assert vc["@context"][1] == OB_CONTEXT
    assert vc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert vc["jti"] == vc["id"] and vc["iss"] == vc["issuer"]["id"]
    assert vc["issuer"]["name"] == "愛知県警察 サイバー対策課"
    profile = public.get(vc["issuer"]["id"].replace("http://localhost", "")).json
    assert profile["name"] == vc["issuer"]["name"] and profile["type"] == ["Profile"]
    subject = vc["credentialSubject"]
    assert subject["identifier"][0]["identityHash"] == "桜丘　未来"
    achievement = subject["achievement"]
    assert achievement["creditsAvailable"] == 1.5 and achievement["supervised"] is False
    assert "オンライン" in achievement["criteria"]["narrative"] and achievement["assessmentType"]
    assert subject["result"][0]["value"] == "18"
    assert vc["credentialStatus"]["id"] == f"http://localhost/certificates/verify/{pid}"
    assert vc["validFrom"].endswith("+09:00")
    # The signed-in download is the same token.
    own = signed_in(app, "volunteer1").get(f"/certificates/issued/{pid}/credential.jwt")
    assert own.get_data(as_text=True) == token


def _tampered(token: str) -> str:
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["achievement"]["creditsAvailable"] = 40.0
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return ".".join((head, forged, sig))


def test_tampered_credential_is_rejected(app):
    pid = issue_demo_certificate(app)
    public = Client(app)
    jwks = public.get("/certificates/jwks.json").json
    token = certificate(app, pid).credential_jwt
    forged = _tampered(token)
    with pytest.raises(BadSignatureError):
        joserfc_verify(forged, jwks)
    with app.app_context():
        assert signing.verify(forged) is None and signing.verify(token) is not None
        cert = db.session.scalar(select(Certificate).where(Certificate.public_id == pid))
        cert.credential_jwt = forged
        db.session.commit()
    page = public.get(f"/certificates/verify/{pid}").get_data(as_text=True)
    assert "確認できません" in page and "現在有効" not in page
    with app.app_context():
        cert = db.session.scalar(select(Certificate).where(Certificate.public_id == pid))
        cert.credential_jwt = "not a token"
        db.session.commit()
    resp = public.get(f"/certificates/verify/{pid}")
    assert resp.status_code == 200 and "確認できません" in resp.get_data(as_text=True)


def test_snapshot_changed_after_signing_is_not_genuine(app):
    pid = issue_demo_certificate(app)
    public = Client(app)
    assert "現在有効" in public.get(f"/certificates/verify/{pid}").get_data(as_text=True)
    with app.app_context():
        cert = db.session.scalar(select(Certificate).where(Certificate.public_id == pid))
        statement = json.loads(cert.statement_json)
        statement["course"]["minutes"] = 2400
        cert.statement_json = json.dumps(statement, ensure_ascii=False)
        db.session.commit()
    page = public.get(f"/certificates/verify/{pid}").get_data(as_text=True)
    assert "確認できません" in page and "現在有効" not in page


def test_signing_key_stays_in_the_instance_folder_readable_by_its_owner(app):
    issue_demo_certificate(app)
    path = os.path.join(app.instance_path, "credential-signing-key.pem")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        assert "PRIVATE KEY" in f.read()
    assert not os.path.abspath(path).startswith(os.path.abspath("app"))


def test_statement_is_a_snapshot(app):
    pid = issue_demo_certificate(app)
    with app.app_context():
        member("volunteer1").name = "別の　名前"
        db.session.commit()
    page = Client(app).get(f"/certificates/verify/{pid}").get_data(as_text=True)
    assert "桜丘　未来" in page and "別の　名前" not in page and "現在有効" in page


# ---- who may do what ------------------------------------------------------------------

@pytest.mark.parametrize("username, sees", [
    ("volunteer1", True),      # the member
    ("liaison1", True),        # the division in charge
    ("committee1", True), ("secretariat1", True),
    ("volunteer2", False),     # same group, not the leader
])
def test_who_sees_a_certificate(app, username, sees):
    pid = issue_demo_certificate(app)
    c = signed_in(app, username)
    for path in ("", "/print", "/certificate.pdf", "/credential.jwt"):
        resp = c.get(f"/certificates/issued/{pid}{path}")
        assert resp.status_code == (200 if sees else 403), (path, resp.status_code)
    listed = pid in c.get("/certificates/").get_data(as_text=True)
    assert listed is sees
    if not sees:
        assert any(e.get("path") == f"/certificates/issued/{pid}" for e in audit_events(app, "forbidden"))


def test_leader_sees_the_groups_certificates_but_cannot_issue(app):
    with app.app_context():
        c_id = completion(member("volunteer2")).id
        db.session.commit()
    liaison = signed_in(app, "liaison1")
    liaison.get("/certificates/")
    pid = public_id_of(liaison.post_form("/certificates/issue/completion", {"c-completion": c_id}))
    leader = signed_in(app, "volunteer1")
    assert leader.get(f"/certificates/issued/{pid}").status_code == 200
    assert leader.post_form(f"/certificates/issued/{pid}/revoke", {"reason": "x"}).status_code == 403
    assert leader.post_form("/certificates/issue/completion", {"c-completion": c_id}).status_code == 403


def test_liaison_of_another_division_may_neither_issue_nor_revoke(app):
    pid = issue_demo_certificate(app)
    with app.app_context():
        c_id = completion(member("volunteer2")).id
        member_id = member("volunteer2").id
        high_school = db.session.scalar(select(Member).where(Member.name == "緑川　さくら")).group
        user("liaison1").staff.affiliation_id = high_school.division_id
        db.session.commit()
    c = signed_in(app, "liaison1")
    page = c.get("/certificates/").get_data(as_text=True)
    assert pid not in page and "港　健太" not in page
    assert c.get(f"/certificates/issued/{pid}").status_code == 403
    assert c.post_form(f"/certificates/issued/{pid}/revoke", {"reason": "x"}).status_code == 403
    assert c.post_form("/certificates/issue/completion", {"c-completion": c_id}).status_code == 403
    assert c.post_form("/certificates/issue/activity", {
        "a-member": member_id, "a-period_from": "2026-04-01", "a-period_to": "2026-09-30"}).status_code == 403
    paths = {e.get("path") for e in audit_events(app, "forbidden")}
    assert {"/certificates/issue/completion", "/certificates/issue/activity",
            f"/certificates/issued/{pid}/revoke"} <= paths
    assert certificate(app, pid).revoked_at is None


@pytest.mark.parametrize("username", ["head1", "candidate1", "author1", "proctor1"])
def test_other_roles_are_refused(app, username):
    pid = issue_demo_certificate(app)
    c = signed_in(app, username)
    assert c.get("/certificates/").status_code == 403
    assert c.get(f"/certificates/issued/{pid}").status_code == 403


def test_one_current_completion_certificate_per_course_in_the_database(app):
    """Two liaisons issuing at once cannot make two current certificates of one course."""
    import sqlalchemy as sa
    pid = issue_demo_certificate(app)
    with app.app_context():
        cert = db.session.scalar(select(Certificate).where(Certificate.public_id == pid))
        twin = Certificate(public_id="x" * 22, kind="completion", member_id=cert.member_id,
                           completion_id=cert.completion_id, statement_json="{}", credential_jwt="",
                           issued_by=cert.issued_by)
        db.session.add(twin)
        with pytest.raises(sa.exc.IntegrityError):
            db.session.flush()
        db.session.rollback()
        cert = db.session.scalar(select(Certificate).where(Certificate.public_id == pid))
        cert.revoked_at, cert.revoked_by, cert.revoke_reason = datetime(2026, 11, 1), cert.issued_by, "誤り"
        db.session.add(Certificate(public_id="y" * 22, kind="completion", member_id=cert.member_id,
                                   completion_id=cert.completion_id, statement_json="{}",
                                   credential_jwt="", issued_by=cert.issued_by))
        db.session.flush()        # a revoked one may be issued again
