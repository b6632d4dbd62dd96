"""The engine's Ed25519 signing key for credentials, its public JWKS, and VC-JWT signing
and checking (PyJWT: a well-kept JOSE library that signs EdDSA through `cryptography`).

The private key lives in the instance folder (CERTIFICATE_KEY_FILE, by default
instance/credential-signing-key.pem), created on first use readable by its owner only; it
is never in the repository. Its `kid` is the key's RFC 7638 thumbprint, so a replaced key
gets a new kid, and credentials signed with the old one no longer verify unless the old
public key is kept in CERTIFICATE_EXTRA_JWKS (a list of JWKs) for them."""
from __future__ import annotations

import base64
import hashlib
import json
import os

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app

ALGORITHM = "EdDSA"


def _key_file() -> str:
    return current_app.config.get("CERTIFICATE_KEY_FILE") or os.path.join(
        current_app.instance_path, "credential-signing-key.pem")


def _create(path: str) -> None:
    """A new key, written with mode 0600; a key another worker wrote first wins."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def private_key() -> Ed25519PrivateKey:
    path = _key_file()
    if not os.path.exists(path):
        _create(path)
    with open(path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise RuntimeError(f"{path}: not an Ed25519 private key")
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key: Ed25519PublicKey) -> dict:
    x = _b64(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    # RFC 7638: the thumbprint hashes the required members in lexicographic order.
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    kid = _b64(hashlib.sha256(canonical.encode()).digest())
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": ALGORITHM, "use": "sig"}


def jwks() -> dict:
    """The published keys: the current one, and any retired ones kept for old credentials."""
    keys = [public_jwk(private_key().public_key())]
    keys += [k for k in current_app.config.get("CERTIFICATE_EXTRA_JWKS", ())
             if k.get("kid") != keys[0]["kid"]]
    return {"keys": keys}


def sign(claims: dict) -> str:
    key = private_key()
    kid = public_jwk(key.public_key())["kid"]
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid, "typ": "JWT"})


def verify(token: str) -> dict | None:
    """The claims of a token signed by one of the published keys; None if the signature,
    the algorithm or the key is not right."""
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            return None
        match = [k for k in jwks()["keys"] if k.get("kid") == header.get("kid")]
        if not match:
            return None
        key = jwt.PyJWK.from_dict(match[0]).key
        # A credential does not expire: its status page says whether it is revoked.
        return jwt.decode(token, key, algorithms=[ALGORITHM],
                          options={"verify_exp": False, "verify_aud": False})
    except jwt.PyJWTError:
        return None


def unverified_parts(token: str) -> tuple[dict, dict]:
    """Header and payload as they are written, for showing a credential's JSON; empty
    when the token is not even a JWT."""
    try:
        return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}, {}
