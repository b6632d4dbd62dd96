"""The site's own pages: the landing redirect by role, the menu, the icon, and the health
checks a proxy asks."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, redirect, render_template, url_for
from flask_login import current_user

from ..db.health import check_writable
from ..extensions import db
from . import nav


ICON_MAX_AGE = 7 * 24 * 3600


def register(app: Flask) -> None:
    nav.register(app)

    icon = (Path(app.static_folder) / "favicon.ico").read_bytes()

    @app.get("/favicon.ico")
    def favicon():
        # Pages name the icon under /static/; a browser or a bookmark may still ask for
        # this address on its own. 228 bytes: kept in memory, no file to open.
        resp = Response(icon, mimetype="image/vnd.microsoft.icon")
        resp.headers["Cache-Control"] = f"public, max-age={ICON_MAX_AGE}"
        return resp

    # Chromium asks for the icon again at every change of the address, the exam page's
    # #q=N included: without a lifetime each question would cost the server a request
    # (a 304). The other static files keep Flask's revalidation (they change with a release).
    static_max_age = app.get_send_file_max_age

    def send_file_max_age(filename):
        return ICON_MAX_AGE if filename == "favicon.ico" else static_max_age(filename)
    app.get_send_file_max_age = send_file_max_age

    @app.get("/")
    def index():
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        # Each actor lands on the page of their main task.
        if current_user.has_role("vice_chair", "chair"):
            return redirect(url_for("sessions.index"))
        if current_user.has_role("committee"):
            return redirect(url_for("review.index"))
        if current_user.has_role("secretariat"):
            return redirect(url_for("admin.home"))
        if current_user.has_role("proctor"):
            return redirect(url_for("room.index"))
        if current_user.has_role("head"):
            return redirect(url_for("head.index"))
        if current_user.has_role("author"):
            return redirect(url_for("author.preview"))
        if current_user.has_role("liaison"):
            return redirect(url_for("volunteers.groups"))
        if current_user.has_role("volunteer"):
            return redirect(url_for("volunteers.home"))
        if current_user.has_role("candidate"):
            return redirect(url_for("candidate.home"))
        return render_template("home.html")

    @app.get("/healthz")
    def healthz():
        """The process serves (kept trivial: the load benchmark's ceiling)."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz():
        """The database takes writes too (a committed write of one row): what a proxy
        should route on. Not ready while saves would fail, ready again once they would not."""
        try:
            check_writable()
        except Exception as exc:    # any failure means 'not ready'; the log says why
            # A proxy asks every few seconds: one line with the cause, not a trace each time.
            app.logger.warning("not ready: %s: %s", type(exc).__name__, exc,
                               extra={"reason": "database_unavailable"})
            db.session.rollback()
            return {"status": "database unavailable"}, 503
        return {"status": "ok"}
