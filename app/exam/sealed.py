"""Questions sent ahead, sealed: the page in the lobby holds the questions encrypted
(AES-256-GCM), and the key comes with the start, so that the start costs the server almost
nothing and a candidate waiting in the lobby cannot read the questions from the page.

The key is derived from the app's secret key and the attempt (HMAC-SHA256), so nothing is
stored and every app server derives the same key."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

from ..models import Attempt


def question_key(attempt: Attempt) -> bytes:
    secret = current_app.secret_key
    secret = secret.encode() if isinstance(secret, str) else secret
    message = f"sealed-questions\0{attempt.id}\0{attempt.seed}".encode()
    return hmac.new(secret, message, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def seal(html: str, attempt: Attempt) -> dict:
    """{"iv", "data"} (base64) of the questions' HTML, for the page to open with the key."""
    iv = os.urandom(12)
    data = AESGCM(question_key(attempt)).encrypt(iv, html.encode("utf-8"), None)
    return {"iv": _b64(iv), "data": _b64(data)}


def key_b64(attempt: Attempt) -> str:
    return _b64(question_key(attempt))


def unseal(sealed: dict, key: str) -> str:
    """The page's work, for tests: the HTML back from a sealed payload and its key."""
    raw = AESGCM(base64.b64decode(key)).decrypt(base64.b64decode(sealed["iv"]),
                                                base64.b64decode(sealed["data"]), None)
    return raw.decode("utf-8")
