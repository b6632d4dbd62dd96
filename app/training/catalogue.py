"""The training bank and its courses file, read from the folder and kept per process
until a file in it changes. A bank or courses file with any problem is not served."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from scoring.bank import BankLoad, bank_files, load_banks
from scoring.courses import COURSES_FILE, CourseLoad, load_courses


def default_training_folder() -> Path:
    return Path(__file__).resolve().parent.parent.parent / "volunteer_banks" / "training"


@dataclass(frozen=True)
class Catalogue:
    bank: BankLoad
    courses: CourseLoad

    @property
    def ok(self) -> bool:
        return self.bank.ok and self.courses.ok

    @property
    def problems(self):
        return self.bank.problems + self.courses.problems

    @property
    def digest(self) -> str:
        return self.bank.version()


_cache: dict[str, tuple[tuple, Catalogue]] = {}


def folder() -> str:
    """The app's TRAINING_BANKS_DIR, else CBT_TRAINING_BANKS, else the bundled folder."""
    return (current_app.config.get("TRAINING_BANKS_DIR") or os.environ.get("CBT_TRAINING_BANKS")
            or str(default_training_folder()))


def _signature(where: str) -> tuple:
    paths = bank_files(where) + [os.path.join(where, n) for n in ("blueprint.yaml", COURSES_FILE)]
    out = []
    for p in paths:
        try:
            st = os.stat(p)
            out.append((p, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((p, None, None))
    return tuple(out)


def catalogue() -> Catalogue:
    where = folder()
    sig = _signature(where)
    hit = _cache.get(where)
    if hit is None or hit[0] != sig:
        bank = load_banks(where)
        hit = (sig, Catalogue(bank, load_courses(where, bank)))
        _cache[where] = hit
    return hit[1]
