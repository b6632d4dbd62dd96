"""Where the quizzes of awareness events come from: a small registry of providers.

A provider answers two things: the quizzes a group may run (`choices`) and, for a source
reference such as `bank:support_scam` or `material:12`, the questions (`questions`). The
bundled awareness bank is registered here; other features register theirs (approved
materials of a group) with `register`."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from flask import current_app

from scoring import awareness
from scoring.bank import BankLoad, load_banks

from ..models import VolunteerGroup


@dataclass(frozen=True)
class QuizChoice:
    ref: str                  # e.g. bank:support_scam
    title: str
    count: int                # questions
    minutes: int              # the usual length of an event with it


class SourceError(LookupError):
    """A reference no provider knows, or whose questions are unusable (message in Japanese)."""


class Provider(Protocol):
    def choices(self, group: VolunteerGroup) -> list[QuizChoice]: ...

    def questions(self, key: str, group: VolunteerGroup) -> tuple[str, list[dict]] | None:
        """(title, questions) for the part of the reference after the prefix, or None when
        the group may not use it or it does not exist."""


_PROVIDERS: dict[str, Provider] = {}


def register(prefix: str, provider: Provider) -> None:
    _PROVIDERS[prefix] = provider


def quiz_choices(group: VolunteerGroup) -> list[QuizChoice]:
    return [c for provider in _PROVIDERS.values() for c in provider.choices(group)]


def resolve(ref: str, group: VolunteerGroup) -> tuple[str, list[dict]]:
    """The title and questions of a reference, checked; SourceError says why not."""
    prefix, _, key = (ref or "").partition(":")
    provider = _PROVIDERS.get(prefix)
    found = provider.questions(key, group) if provider and key else None
    if found is None:
        raise SourceError("選んだクイズが見つかりません。一覧から選び直してください。")
    title, questions = found
    problems = awareness.problems(questions)
    if problems:
        raise SourceError("このクイズは使えません: " + " ".join(problems))
    return title, questions


def default_bank_folder() -> Path:
    return Path(__file__).resolve().parent.parent.parent / "volunteer_banks" / "awareness"


class BankProvider:
    """The bundled awareness bank: each blueprint level is a named quiz, open to every group.
    Read again when a file changes, so the bank's authors need no restart."""

    def __init__(self):
        self._cache: tuple[tuple, BankLoad] | None = None

    def _folder(self) -> str:
        return os.fspath(current_app.config.get("AWARENESS_BANKS") or default_bank_folder())

    def _load(self) -> BankLoad | None:
        folder = self._folder()
        stamp = (folder, tuple((p.name, p.stat().st_mtime_ns) for p in sorted(Path(folder).rglob("*.yaml"))))
        if self._cache is None or self._cache[0] != stamp:
            self._cache = (stamp, load_banks(folder))
        load = self._cache[1]
        if not load.ok:
            current_app.logger.warning("awareness bank has problems: %s", load.folder)
            return None
        return load

    def choices(self, group: VolunteerGroup) -> list[QuizChoice]:
        load = self._load()
        if load is None:
            return []
        return [QuizChoice(f"bank:{key}", level.name, level.questions, level.minutes)
                for key, level in load.blueprint.levels.items()]

    def questions(self, key: str, group: VolunteerGroup) -> tuple[str, list[dict]] | None:
        load = self._load()
        if load is None or key not in load.blueprint.levels:
            return None
        return load.blueprint.levels[key].name, awareness.bank_quiz(load, key)


register("bank", BankProvider())
