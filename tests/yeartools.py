"""Shared by the scripted fiscal year (tests/test_fiscal_year.py over HTTP and
tests/test_browser_fiscal_year.py in Chromium): a short-form bank, the keys a test reads
from it, the staff CSV the secretariat imports, and the session window for "now".

The short form is the committee's own choice (第5: details are set separately): the same
starter questions, with a blueprint of 10 questions for 初級 and 11 for 中級 (one per
in-scope topic), so a whole sitting is a handful of requests or clicks. 70% of 10 is 7: 7/10
passes, 6/10 fails."""
from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from scoring.bank import Question, load_banks
from scoring.jpdate import fiscal_year, to_jst
from tests.test_review import wrong_answer

from app.models import utcnow

ROOT = Path(__file__).resolve().parent.parent
BANKS = ROOT / "question_banks"

SHORT_BLUEPRINT = """\
# The committee's short forms for this year's sessions (same areas and topics as Table 2).
levels:
  beginner: {name: 初級, questions: 10, minutes: 15}
  intermediate: {name: 中級, questions: 11, minutes: 20}
  advanced: {name: 上級, questions: 50, minutes: 90, delivered: false}
"""


def short_banks(folder: Path) -> Path:
    """The starter questions under `folder`, with the short blueprint (areas kept)."""
    shutil.copytree(BANKS, folder)
    text = (BANKS / "blueprint.yaml").read_text(encoding="utf-8")
    areas = text[text.index("\nareas:") + 1:]
    (folder / "blueprint.yaml").write_text(SHORT_BLUEPRINT + "\n" + areas, encoding="utf-8")
    return folder


@lru_cache(maxsize=1)
def questions() -> dict[str, Question]:
    """The bank's questions by id: where a test reads the keys (the questions are the same
    in the short and the full version)."""
    loaded = load_banks(str(BANKS))
    assert loaded.ok, loaded.problems[:5]
    return dict(loaded.questions)


def right(q: Question):
    """The keyed response, in the bank's keys (the page posts them as shown positions:
    tests/choicetools.py)."""
    if q.type == "multiple":
        return sorted(q.answer)
    if q.type == "text":
        return q.answer[0]
    return q.answer


def wrong(q: Question):
    """A wrong response; for a single-choice question always the first choice that is not
    the key, so every candidate who got it wrong chose the same one."""
    return wrong_answer(q)


def telltale(q: Question) -> str:
    """A piece of the explanation that a page showing it would contain word for word (no
    Markdown or HTML-escaped characters in it); '' if the explanation has none."""
    for part in re.split(r"[`*_\[\]<>&\"'|#\n]", q.explanation):
        part = re.sub(r"^(?:[-+]|\d+\.)\s+", "", part.strip())      # list markers
        if len(part) >= 12:
            return part[:30]
    return ""


def key_leaks(page: str, form: list[Question]) -> list[str]:
    """Questions of the form whose explanation shows on the page (the stems and choices
    on it are allowed to say the same words, so those do not count)."""
    shown = "\n".join(q.stem + "\n" + "\n".join(c.text for c in q.choices) for q in form)
    return [q.id for q in form if telltale(q) and telltale(q) in page and telltale(q) not in shown]


STAFF_HEADER = "staff_number,name_kanji,name_kana,birth_date,post,affiliation_code,employment_category,email"


def staff_csv(rows: list[str], encoding: str = "utf-8-sig") -> bytes:
    """A staff CSV as an HR extract gives it (CRLF; UTF-8 with BOM or Shift_JIS)."""
    return ("\r\n".join([STAFF_HEADER, *rows]) + "\r\n").encode(encoding)


def window() -> tuple[int, str, str]:
    """(this fiscal year, opens, closes) for a session open now, as the form takes them
    (Japan time, YYYY-MM-DDTHH:MM): opened an hour ago (never before 1 April), closes in
    two weeks."""
    now = to_jst(utcnow()).replace(tzinfo=None)
    fy = fiscal_year(now.date())
    opens = max(now - timedelta(hours=1), datetime(fy, 4, 1))
    closes = now + timedelta(days=14)
    fmt = "%Y-%m-%dT%H:%M"
    return fy, opens.strftime(fmt), closes.strftime(fmt)
