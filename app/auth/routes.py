"""Sign-in and sign-out for every actor, the role check every page uses, and the sign-in
limits (see throttle.py for the policy)."""
from __future__ import annotations

import logging
import secrets
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from flask_login.utils import login_url
from sqlalchemy import bindparam, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ..core import audit
from ..core.errors import error_response, wants_json
from ..extensions import db, login_manager
from ..models import User, UserRole, parse_session_id, session_id, utcnow
from . import bp, throttle
from .forms import LoginForm

log = logging.getLogger("cbt.auth")

BAD_CREDENTIALS = "ユーザーIDまたはパスワードが正しくありません。"
# Checked against when the user name does not exist, with the same scheme and cost as
# real passwords (made once per process, at start-up, so no request pays for it).
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))


class Principal(UserMixin):
    """The signed-in user as a request sees it: who it is and its roles, read in one Core
    query. Every request loads it (the answer saves of 2,000 candidates included), and the
    ORM's User with its roles relationship cost four times as much; code that needs the
    User itself (to change it) loads it with `db.session.get(User, current_user.id)`."""
    __slots__ = ("id", "epoch", "username", "display_name", "role_set")

    def __init__(self, id: int, epoch: int, username: str, display_name: str,
                 roles: frozenset[str]):
        self.id, self.epoch, self.username, self.display_name, self.role_set = \
            id, epoch, username, display_name, roles

    def has_role(self, *roles: str) -> bool:
        return not self.role_set.isdisjoint(roles)

    def get_id(self) -> str:
        return session_id(self.id, self.epoch)


# The session's epoch is part of the one query every request makes anyway: a session the
# user has ended (sign-out, new password, deactivation) costs no extra round trip to refuse.
_PRINCIPAL = (select(User.id, User.username, User.display_name, UserRole.role)
              .outerjoin(UserRole, UserRole.user_id == User.id)
              .where(User.id == bindparam("uid"), User.active.is_(True),
                     User.session_epoch == bindparam("epoch")))


@login_manager.user_loader
def load_user(user_id: str):
    """None (signed out) for an unknown or deactivated user, or a session the user has
    ended since: deactivating someone, a new password or signing out ends the sessions
    they have open, on every server, a cookie copied before included."""
    named = parse_session_id(user_id)
    if named is None:
        return None
    uid, epoch = named
    rows = db.session.connection().execute(_PRINCIPAL, {"uid": uid, "epoch": epoch}).all()
    if not rows:
        return None
    return Principal(rows[0].id, epoch, rows[0].username, rows[0].display_name,
                     frozenset(r.role for r in rows if r.role))


def session_user() -> tuple[int, int] | None:
    """(user id, session epoch) the signed session cookie names, without loading the user:
    for the one route (the answer save) whose own statement checks the user (active, role,
    epoch) as it writes. Flask-Login keeps it under "_user_id"; session protection is
    "basic", which never signs anyone out, so the cookie and the user's row decide, as
    for load_user."""
    return parse_session_id(session.get("_user_id"))


def _fresh_session() -> None:
    """A new session at sign-in and sign-out: nothing of the previous one (its CSRF token
    above all) carries over into the next, so a token read before cannot be replayed."""
    session.clear()
    g.pop("csrf_token", None)       # Flask-WTF's per-request copy of the token


@login_manager.unauthorized_handler
def unauthorized():
    """Pages go to the sign-in page; the exam's JSON calls get 401, which the page script
    reads as 'signed out' instead of following a redirect to an HTML page."""
    if wants_json():
        return error_response(401, code="unauthorized")
    flash(login_manager.login_message, "info")
    return redirect(login_url(login_manager.login_view, next_url=request.url))


def role_required(*roles: str):
    """Refuse (403, logged) anyone without one of the roles."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                audit.record_now("forbidden", current_user.id, path=request.path,
                                 method=request.method, needs=list(roles))
                abort(403)
            return view(*args, **kwargs)
        # Read by the menu (app/core/nav.py) and its tests: a link shows to exactly the roles
        # the page lets in.
        wrapped.allowed_roles = frozenset(roles)
        return wrapped
    return decorator


def _check_password(user: User | None, password: str) -> bool:
    """The same work whether or not the user exists: an unknown user name costs one hash
    check against a dummy, so timing does not tell which names exist."""
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return user.check_password(password)


def _refuse(message: str, status: int, form: LoginForm, until=None):
    """The sign-in page again with the reason; a lock says when to retry (Retry-After)."""
    flash(message, "error")
    headers = {"Retry-After": str(throttle.retry_after(until, utcnow()))} if until else {}
    return render_template("auth/login.html", form=form), status, headers


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("index"))
    form = LoginForm()
    policy = throttle.Policy.current()
    ip = request.remote_addr or ""
    if request.method == "POST" and policy.enabled:
        # An address over its limit is refused before anything else: no hash work for it.
        until = throttle.ip_locked_until(ip, utcnow(), policy)
        if until:
            log.warning("sign-in refused: address locked",
                        extra={"reason": "address_locked", "until": until.isoformat()})
            return _refuse(throttle.ip_lock_message(until), 429, form, until)
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    username = form.username.data.strip()
    now = utcnow()
    if policy.enabled:
        until = throttle.user_locked_until(username, now, policy)
        if until:
            # the typed name stays out of the log: it may be someone's staff number
            log.warning("sign-in refused: user name locked",
                        extra={"reason": "user_locked", "until": until.isoformat()})
            return _refuse(throttle.user_lock_message(until), 429, form, until)
    user = db.session.scalar(select(User).where(User.username == username))
    if not _check_password(user, form.password.data) or not user.active:
        return _failed(form, username, user, ip, policy)
    if policy.enabled:
        throttle.clear_user(username)
    if not user.password_hash.startswith("scrypt:"):
        user.set_password(form.password.data)       # an older scheme: upgrade it now
    audit.record("login", user.id)
    db.session.commit()
    _fresh_session()
    login_user(user)        # after the commit: the session names the epoch stored
    target = request.args.get("next", "")
    # Only same-site paths: never an open redirect.
    if not target.startswith("/") or target.startswith("//") or target.startswith("/\\") \
            or urlsplit(target).netloc:
        target = url_for("index")
    return redirect(target)


def _failed(form: LoginForm, username: str, user: User | None, ip: str, policy):
    now = utcnow()
    audit.record("login_failed", None, username=username)
    if not policy.enabled:
        db.session.commit()
        return _refuse(BAD_CREDENTIALS, 401, form)
    throttle.add_failure(username, ip, now, policy)
    ip_until = throttle.ip_locked_until(ip, now, policy)
    user_until = throttle.user_locked_until(username, now, policy)
    # Only the failure that starts a lock gets here with one (a locked name or address is
    # refused before its password is checked), so each lock is recorded once.
    if ip_until:
        audit.record("login_locked", None, scope="ip", locked_ip=ip, until=ip_until,
                     username=username, failures=policy.ip_max)
    if user_until:
        audit.record("login_locked", user.id if user else None, scope="user", username=username,
                     until=user_until, failures=policy.user_max)
    db.session.commit()
    if ip_until:
        return _refuse(throttle.ip_lock_message(ip_until), 429, form, ip_until)
    if user_until:
        return _refuse(throttle.user_lock_message(user_until), 429, form, user_until)
    return _refuse(BAD_CREDENTIALS, 401, form)


@bp.post("/logout")
@login_required
def logout():
    """Ends every session of the user, not only this browser's: a cookie copied from a
    shared PC before sign-out is worth nothing afterwards, on any server."""
    db.session.execute(update(User).where(User.id == current_user.id)
                       .values(session_epoch=User.session_epoch + 1))
    audit.record("logout", current_user.id)
    db.session.commit()
    logout_user()
    _fresh_session()
    flash("ログアウトしました。", "info")
    return redirect(url_for("auth.login"))
