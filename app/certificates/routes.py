"""Certificate pages: the list and the liaison's issue forms, one certificate (print, PDF,
credential), revocation, and the public verification page, JWKS and issuer profile.

Every signed-in route checks the role, then the certificate's group (operations.may_see,
may_issue); a refusal is a 403 on the audit log. Public routes show only what the
certificate itself states."""
from __future__ import annotations

import json

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth.routes import role_required
from ..core import audit
from ..extensions import db
from ..models import Affiliation, CourseCompletion, Member
from ..volunteers.access import OVERSIGHT_ROLES, me as _me
from . import bp, document, operations, pdf, signing
from .forms import ActivityForm, CompletionForm, RevokeForm

READERS = ("liaison", "volunteer") + OVERSIGHT_ROLES
ISSUERS = ("liaison",)



def _forbidden():
    audit.record_now("forbidden", current_user.id, path=request.path, method=request.method,
                     needs=["certificate_group"])
    abort(403)


def _certificate(public_id: str, *, issuing: bool = False):
    cert = operations.find(public_id)
    if cert is None:
        abort(404)
    allowed = operations.may_issue(_me(), cert.member) if issuing else \
        operations.may_see(_me(), cert)
    if not allowed:
        _forbidden()
    return cert


def _forms():
    completion = CompletionForm(prefix="c")
    completion.completion.choices = [
        (c.id, f"{c.member.name}（{c.member.group.name}）: {c.course_title}")
        for c in operations.issuable_completions(_me())]
    activity = ActivityForm(prefix="a")
    activity.member.choices = [(m.id, f"{m.name}（{m.group.name}）")
                               for m in operations.issuable_members(_me())]
    return completion, activity


def _index(completion=None, activity=None, status=200):
    issuer = current_user.has_role(*ISSUERS)
    if issuer:
        fresh = _forms()
        completion, activity = completion or fresh[0], activity or fresh[1]
    return render_template("certificates/index.html", certificates=operations.visible(_me()),
                           issuer=issuer, completion_form=completion, activity_form=activity), status


@bp.context_processor
def _helpers():
    return {"revoked_line": document.revoked_line}


@bp.get("/")
@role_required(*READERS)
def index():
    return _index()


def _issue(form, which: str, field: str, operation):
    """Validate the issue form, run the operation; a refusal goes beside `field`."""
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _index(**{which: form}, status=422)
    try:
        cert = operation(form)
    except operations.NotAllowed:
        _forbidden()
    except operations.IssueError as exc:
        getattr(form, field).errors.append(str(exc))
        return _index(**{which: form}, status=422)
    db.session.commit()
    flash(f"{cert.kind_name}を発行しました。", "success")
    return redirect(url_for("certificates.detail", public_id=cert.public_id))


def _record(model, key):
    record = db.session.get(model, key)
    if record is None:
        raise operations.IssueError("選択された記録が見つかりません。ページを読み込み直してください。")
    return record


@bp.post("/issue/completion")
@role_required(*ISSUERS)
def issue_completion():
    return _issue(_forms()[0], "completion", "completion", lambda form: operations.issue_completion(
        _record(CourseCompletion, form.completion.data), _me()))


@bp.post("/issue/activity")
@role_required(*ISSUERS)
def issue_activity():
    return _issue(_forms()[1], "activity", "period_from", lambda form: operations.issue_activity(
        _record(Member, form.member.data), form.period_from.data, form.period_to.data,
        _me()))


def _detail(cert, form=None, status=200):
    result = operations.check(cert)
    url = operations.verification_url(cert)
    return render_template(
        "certificates/detail.html", cert=cert, check=result, url=url,
        rows=document.rows(result.statement), lead=document.lead(result.statement),
        issued=document.issued_line(result.statement), qr=document.qr(url),
        revoke_form=form or RevokeForm(),
        may_revoke=operations.may_issue(_me(), cert.member)), status


@bp.get("/issued/<public_id>")
@role_required(*READERS)
def detail(public_id):
    return _detail(_certificate(public_id))


@bp.get("/issued/<public_id>/print")
@role_required(*READERS)
def print_page(public_id):
    cert = _certificate(public_id)
    statement = json.loads(cert.statement_json)
    url = operations.verification_url(cert)
    return render_template("certificates/print.html", cert=cert, statement=statement, url=url,
                           rows=document.rows(statement), lead=document.lead(statement),
                           issued=document.issued_line(statement), qr=document.qr(url))


@bp.get("/issued/<public_id>/certificate.pdf")
@role_required(*READERS)
def pdf_file(public_id):
    cert = _certificate(public_id)
    try:
        data = pdf.render(json.loads(cert.statement_json), operations.verification_url(cert),
                          cert.public_id, cert.revoked)
    except pdf.FontMissing as exc:
        return render_template("certificates/font_missing.html", path=str(exc)), 503
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="certificate-{cert.public_id}.pdf"'})


def _jwt_response(cert):
    return Response(cert.credential_jwt, mimetype="application/jwt", headers={
        "Content-Disposition": f'attachment; filename="credential-{cert.public_id}.jwt"'})


@bp.get("/issued/<public_id>/credential.jwt")
@role_required(*READERS)
def credential(public_id):
    return _jwt_response(_certificate(public_id))


@bp.post("/issued/<public_id>/revoke")
@role_required(*ISSUERS)
def revoke(public_id):
    cert = _certificate(public_id, issuing=True)
    form = RevokeForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _detail(cert, form, 422)
    try:
        operations.revoke(cert, form.reason.data.strip(), _me())
    except operations.IssueError as exc:
        flash(str(exc), "error")        # the page shows no revocation form any more
        return _detail(cert, form, 409)
    db.session.commit()
    flash("証明書を失効させました。", "success")
    return redirect(url_for("certificates.detail", public_id=cert.public_id))


# ---- public ------------------------------------------------------------------------------

def _public(resp, status=200):
    resp = Response(resp, status=status) if isinstance(resp, str) else resp
    # The status can change (revocation); names are not for search engines.
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Robots-Tag"] = "noindex, nofollow"
    return resp


@bp.get("/verify/<public_id>")
def verify(public_id):
    cert = operations.find(public_id)
    if cert is None:
        return _public(render_template("certificates/not_found.html"), 404)
    result = operations.check(cert)
    header, _ = signing.unverified_parts(cert.credential_jwt)
    return _public(render_template(
        "certificates/verify.html", cert=cert, check=result, rows=document.rows(result.statement),
        issued=document.issued_line(result.statement), header=header,
        credential_json=json.dumps(result.credential, ensure_ascii=False, indent=2)))


@bp.get("/verify/<public_id>/credential.jwt")
def verify_credential(public_id):
    cert = operations.find(public_id)
    if cert is None:
        return _public(render_template("certificates/not_found.html"), 404)
    return _public(_jwt_response(cert))


@bp.get("/jwks.json")
def jwks():
    resp = jsonify(signing.jwks())
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


@bp.get("/issuer/<int:aff_id>")
def issuer(aff_id):
    division = db.session.get(Affiliation, aff_id)
    if division is None:
        abort(404)
    return jsonify(operations.issuer_profile(division))
