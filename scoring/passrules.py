"""Rules of the register, special passes and periodic training: pure functions shared by
the web pages and the `cbt` commands (no Flask, no database).

- 第3-7 なお書: a special pass deems every level below it passed, unless already held.
- 第3-10: an intermediate passer attends the periodic course at least once in every fiscal
  year ("年に1回以上"), from the fiscal year after the pass was recorded in the engine, or
  after the pass's own year when that is later. A special pass recorded years late thus
  owes nothing for the years before the engine knew of it, and a pass in March is not
  overdue by 31 March. A year with no attendance is missed; the current year is "not yet
  attended" until its last day, and that is the list the secretariat chases.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .eligibility import LEVEL_NAMES, implied_levels

LEVEL_ORDER = ("beginner", "intermediate", "advanced")
# Sources a special or transitional pass may have (第3-7, 第4); "exam" comes from a
# certified sheet and "deemed" from a higher special pass, never from a form or a file.
SPECIAL_SOURCES = ("npa", "imperial_guard", "other_prefecture", "designation", "former_exam")
SOURCE_NEEDS_DETAIL = ("other_prefecture",)
FORMER_EXAM_REFERENCE = "令和元年生戦発甲第126号"
REGULATION_REFERENCE = "愛知県警察サイバー対処能力検定実施要綱（令和7年9月16日付け生戦発甲第147号）"

_LEVEL_ALIASES = {**{k: k for k in LEVEL_ORDER}, **{v: k for k, v in LEVEL_NAMES.items()}}
_ERA_FIRST_YEAR = {"令和": 2019, "平成": 1989, "昭和": 1926}
# Last fiscal year an era names (平成31年度 = 2019年度 is still written; 昭和64年 began FY1988).
_ERA_LAST_FY = {"平成": 2019, "昭和": 1988}
_ERA_LETTER = {"R": "令和", "H": "平成", "S": "昭和"}


def parse_level(text: str) -> str:
    """'beginner' / '初級' (and the other levels) -> the level key."""
    s = unicodedata.normalize("NFKC", str(text)).strip()
    key = _LEVEL_ALIASES.get(s.lower()) or _LEVEL_ALIASES.get(s)
    if key is None:
        raise ValueError(f"級位「{text}」は不明です（beginner、intermediate、advanced または 初級、中級、上級）")
    return key


def parse_special_source(text: str) -> str:
    s = unicodedata.normalize("NFKC", str(text)).strip().lower()
    if s not in SPECIAL_SOURCES:
        raise ValueError(f"合格の根拠「{text}」は不明です（{', '.join(SPECIAL_SOURCES)} のいずれか）")
    return s


def parse_fiscal_year(text: str) -> int:
    """A fiscal year as offices write it: 2025, 2025年度, 令和7, 令和7年度, R7, 令和元年度,
    H30 (full- or half-width). An era year outside its era (令和0, 平成32) is refused."""
    s = unicodedata.normalize("NFKC", str(text)).strip().upper().replace(" ", "")
    s = re.sub(r"年度?$", "", s)
    if re.fullmatch(r"\d{4}", s):
        year = int(s)
        if not 1926 <= year <= 2100:
            raise ValueError(f"年度「{text}」は範囲外です")
        return year
    m = re.fullmatch(r"(令和|平成|昭和|[RHS])\.?(元|\d{1,2})", s)
    if not m:
        raise ValueError(f"年度「{text}」は読めません（例: 2025、令和7、R7）")
    era = _ERA_LETTER.get(m.group(1), m.group(1))
    n = 1 if m.group(2) == "元" else int(m.group(2))
    year = _ERA_FIRST_YEAR[era] + n - 1
    if n < 1 or year > _ERA_LAST_FY.get(era, 9999):
        raise ValueError(f"年度「{text}」は{era}の期間外です")
    return year


def deemed_levels(level: str, held: set[str]) -> list[str]:
    """Levels a special pass at `level` deems passed: every lower one not already held."""
    return [lv for lv in implied_levels(level, LEVEL_ORDER) if lv not in held]


@dataclass(frozen=True)
class TrainingStatus:
    pass_year: int                 # fiscal year of the intermediate pass
    attended_this_year: bool
    missed_years: tuple[int, ...]  # past fiscal years (first_year on) without attendance
    due_this_year: bool            # the list of who is due: owed this year, not attended yet
    first_year: int                # the first fiscal year the course is owed
    current_year: int

    @property
    def overdue_past(self) -> bool:
        return bool(self.missed_years)

    @property
    def owed_this_year(self) -> bool:
        return self.first_year <= self.current_year


def training_first_year(pass_year: int, recorded_year: int) -> int:
    """The first fiscal year 第3-10 asks for the course: the year after the later of the
    pass's own year and the year the engine recorded it."""
    return max(pass_year, recorded_year) + 1


def training_status(pass_year: int, recorded_year: int, attended_years: set[int],
                    current_year: int) -> TrainingStatus:
    """第3-10 for one intermediate passer (see the module docstring for the reading)."""
    first = training_first_year(pass_year, recorded_year)
    missed = tuple(y for y in range(first, current_year) if y not in attended_years)
    this_year = current_year in attended_years
    due = first <= current_year and not this_year
    return TrainingStatus(pass_year, this_year, missed, due, first, current_year)


def kana_variants(text: str) -> set[str]:
    """A search word in hiragana and katakana, so ふりがな matches however it was typed."""
    s = unicodedata.normalize("NFKC", text)
    hira = "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in s)
    kata = "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in s)
    return {s, hira, kata}
