"""Sign-in and sign-out for every actor."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from urllib.parse import urlsplit

from .. import audit
from ..extensions import db, login_manager
from ..models import User
from .forms import LoginForm

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str):
    return db.session.get(User, int(user_id))


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
        return wrapped
    return decorator


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == form.username.data.strip()))
        if user is None or not user.active or not user.check_password(form.password.data):
            audit.record_now("login_failed", None, username=form.username.data[:64])
            flash("ユーザーIDまたはパスワードが正しくありません。", "error")
            return render_template("auth/login.html", form=form), 401
        login_user(user)
        audit.record("login", user.id)
        db.session.commit()
        target = request.args.get("next", "")
        # Only same-site paths: never an open redirect.
        if not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
            target = url_for("index")
        return redirect(target)
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    audit.record("logout", current_user.id)
    db.session.commit()
    logout_user()
    flash("ログアウトしました。", "info")
    return redirect(url_for("auth.login"))
