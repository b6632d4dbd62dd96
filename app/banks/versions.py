"""Bank versions in the database: load the YAML once, keep an immutable snapshot.

A snapshot is addressed by its content digest, so caching it per process is safe across
several app servers: the same digest always means the same questions.
"""
from __future__ import annotations

import json

from flask import current_app
from sqlalchemy import select

from scoring.bank import BankLoad, Question, default_bank_folder, load_banks
from scoring.blueprint import Blueprint

from ..extensions import db
from ..models import BankVersion


class BankError(Exception):
    def __init__(self, loaded: BankLoad):
        self.loaded = loaded
        lines = [str(p) for p in loaded.problems[:20]]
        super().__init__("the banks have problems:\n" + "\n".join(lines))


def bank_folder() -> str:
    return current_app.config.get("BANKS_DIR") or str(default_bank_folder())


def import_banks(folder: str | None = None) -> BankVersion:
    """Load the banks; store a new version if the content is new. A bank with any
    problem is refused whole, and the versions already stored stay as they were."""
    folder = folder or bank_folder()
    loaded = load_banks(folder)
    if not loaded.ok:
        raise BankError(loaded)
    digest = loaded.version()
    existing = db.session.scalar(select(BankVersion).where(BankVersion.digest == digest))
    if existing:
        return existing
    payload = {"blueprint": loaded.blueprint.to_dict(),
               "questions": [q.to_dict() for q in loaded.questions.values()]}
    version = BankVersion(digest=digest, source=folder, question_count=len(loaded.questions),
                          payload=json.dumps(payload, ensure_ascii=False))
    db.session.add(version)
    db.session.flush()
    return version


_cache: dict[str, tuple[Blueprint, dict[str, Question]]] = {}


def snapshot(version: BankVersion) -> tuple[Blueprint, dict[str, Question]]:
    """The parsed blueprint and questions of a version, parsed once per process."""
    hit = _cache.get(version.digest)
    if hit is None:
        data = json.loads(version.payload)
        questions = {d["id"]: Question.from_dict(d) for d in data["questions"]}
        hit = (Blueprint.from_dict(data["blueprint"]), questions)
        if len(_cache) > 32:
            _cache.clear()
        _cache[version.digest] = hit
    return hit


def current_version() -> BankVersion | None:
    """The newest stored version: what practice mode and previews draw from."""
    return db.session.scalar(select(BankVersion).order_by(BankVersion.id.desc()).limit(1))
