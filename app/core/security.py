"""What every response carries for safety (headers, cookie flags, the content security
policy), and how the app trusts a reverse proxy."""
from __future__ import annotations

from flask import Flask, request

# Browser features no page needs: refused for the whole site.
PERMISSIONS_POLICY = ", ".join(f"{f}=()" for f in (
    "accelerometer", "autoplay", "camera", "display-capture", "geolocation", "gyroscope",
    "magnetometer", "microphone", "midi", "payment", "publickey-credentials-get",
    "screen-wake-lock", "usb", "xr-spatial-tracking"))
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'")


def _proxies(value) -> int:
    """CBT_PROXY_FIX: a number of proxies, or on/off (on = one proxy)."""
    text = str(value or "").strip().lower()
    if text.isdigit():
        return int(text)
    return 1 if text in ("on", "true", "yes") else 0


def configure(app: Flask) -> None:
    """Cookie flags and proxy handling, after every config source is read.

    Secure cookies are off by default because `make run` serves plain http on 127.0.0.1,
    where a browser would drop them and sign-in would fail. Production behind TLS sets
    CBT_SECURE_COOKIES=1 (or SECURE_COOKIES = True, or PREFERRED_URL_SCHEME = "https")."""
    secure = app.config.get("SECURE_COOKIES")
    if secure is None:
        secure = app.config.get("PREFERRED_URL_SCHEME") == "https"
    secure = bool(secure)
    app.config["SECURE_COOKIES"] = secure
    app.config["SESSION_COOKIE_SECURE"] = secure or bool(app.config.get("SESSION_COOKIE_SECURE"))
    app.config["REMEMBER_COOKIE_SECURE"] = secure or bool(app.config.get("REMEMBER_COOKIE_SECURE"))
    proxies = _proxies(app.config.get("PROXY_FIX"))
    if proxies > 0:
        # Behind N reverse proxies: the client's address (the per-address sign-in limit)
        # and the scheme (https) come from their X-Forwarded-* headers.
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)


def register(app: Flask) -> None:
    """The response headers of every page."""
    @app.after_request
    def security_headers(resp):
        h = resp.headers
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        h.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if app.config["SECURE_COOKIES"]:
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.endpoint not in ("static", "favicon"):
            # Nothing dynamic is kept by the browser or a proxy: an exam page, a result or
            # a download must not be shown again from the cache of a shared PC.
            h["Cache-Control"] = "no-store"
            h.setdefault("Pragma", "no-cache")
        return resp
