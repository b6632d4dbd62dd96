"""Extensions, created once and bound to the app in the factory."""
from flask import current_app, g, request, session
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from flask_wtf.csrf import same_origin
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints, so migrations can refer to them on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class _CSRFProtect(CSRFProtect):
    """Flask-WTF's CSRF protection, cheaper for the page script's JSON posts (every answer
    save is one), which carry the token in a header: the header is read without parsing
    the body as a form, and a token already verified for the session's value is not
    verified again. Validity depends only on the secret key, the token and that value
    (WTF_CSRF_TIME_LIMIT is None: tokens do not expire), so remembering the pairs that
    passed changes no answer. Only passes are remembered, at most 50,000 per process; the
    checks after the token (the referrer under TLS) run every time."""

    _valid: dict[tuple, bool] = {}

    def _get_csrf_token(self):
        if request.is_json:
            for name in current_app.config["WTF_CSRF_HEADERS"]:
                token = request.headers.get(name)
                if token:
                    return token
        return super()._get_csrf_token()

    def _memo_key(self):
        config = current_app.config
        if config["WTF_CSRF_TIME_LIMIT"] is not None or not request.is_json \
                or request.method not in config["WTF_CSRF_METHODS"]:
            return None
        token = self._get_csrf_token()
        expected = session.get(config["WTF_CSRF_FIELD_NAME"])
        if not token or not expected:
            return None
        return (token, expected, config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key)

    def protect(self, apply_exemptions=False):
        key = self._memo_key()
        if key is None or key not in self._valid:
            super().protect(apply_exemptions)         # aborts on a bad token
            if key is not None and g.get("csrf_valid"):
                if len(self._valid) >= 50_000:
                    self._valid.clear()
                self._valid[key] = True
            return
        # The token is known good; what protect() checks after it:
        if request.is_secure and current_app.config["WTF_CSRF_SSL_STRICT"]:
            if not request.referrer:
                self._error_response("The referrer header is missing.")
            if not same_origin(request.referrer, f"https://{request.host}/"):
                self._error_response("The referrer does not match the host.")
        g.csrf_valid = True


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = _CSRFProtect()
