"""A candidate's result: the committee's corrections applied to a sheet, and the parts of a
session combined (第3-5-(3), 第3-6). Pure: no Flask, no SQLAlchemy.

- Corrections are kept in the order they were made; for each question the latest one
  decides: `void` takes the question out of every sheet (it counts for no one), `rekey`
  grades every sheet against the corrected key. A later rekey after a void brings the
  question back with that key.
- A session's format decides which parts count: `cbt` the computer part, `written` the
  written part, `both` each part must reach 70% on its own. A part that is missing
  leaves the result undecided (None), never a fail, so nobody is certified on half a
  result.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from .grading import GradedItem, Tally, grade, passes

VOID, REKEY = "void", "rekey"


@dataclass(frozen=True)
class AnsweredItem:
    """One question of a sheet with the candidate's current answer (None: unanswered)."""
    question_id: str
    area: str
    topic: str
    qtype: str
    answer: object                     # the bank's key
    response: object = None


@dataclass(frozen=True)
class CorrectionRule:
    question_id: str
    action: str                        # void | rekey
    answer: object = None              # the corrected key (rekey), in the bank's form


def effective_rules(corrections: list[CorrectionRule]) -> dict[str, CorrectionRule]:
    """The correction in force for each question: the latest one made."""
    rules: dict[str, CorrectionRule] = {}
    for c in corrections:
        rules[c.question_id] = c
    return rules


def apply_corrections(items: list[AnsweredItem], corrections: list[CorrectionRule]) -> list[GradedItem]:
    """Grade each item against its key as corrected; voided items count for no one."""
    rules = effective_rules(corrections)
    graded = []
    for i in items:
        rule = rules.get(i.question_id)
        if rule is not None and rule.action == VOID:
            graded.append(GradedItem(i.question_id, i.area, i.topic, False, voided=True))
            continue
        key = rule.answer if rule is not None and rule.action == REKEY else i.answer
        graded.append(GradedItem(i.question_id, i.area, i.topic, grade(i.qtype, key, i.response)))
    return graded


def key_as_stored(qtype: str, key) -> object:
    """A key in the form the grader expects (JSON gives lists where the bank has tuples)."""
    if qtype in ("multiple", "text") and isinstance(key, list):
        return tuple(key)
    return key


def parse_key(qtype: str, choice_keys: list[str], text: str) -> object:
    """A corrected key as the committee types it, checked against the question.

    single: one choice key (`b`); multiple: choice keys separated by commas (`a,c`);
    true_false: 正/誤 (or ○/×, true/false); text: accepted answers separated by `|`.
    Raises ValueError with a Japanese message."""
    s = unicodedata.normalize("NFKC", text or "").strip()
    if not s:
        raise ValueError("正答を入力してください。")
    if qtype == "single":
        if s not in choice_keys:
            raise ValueError(f"「{s}」はこの問題の選択肢にありません（選択肢: {', '.join(choice_keys)}）。")
        return s
    if qtype == "multiple":
        keys = [k.strip() for k in s.replace("、", ",").split(",") if k.strip()]
        unknown = [k for k in keys if k not in choice_keys]
        if unknown:
            raise ValueError(f"「{'、'.join(unknown)}」はこの問題の選択肢にありません（選択肢: {', '.join(choice_keys)}）。")
        if len(set(keys)) != len(keys):
            raise ValueError("同じ選択肢が重複しています。")
        return tuple(sorted(keys))
    if qtype == "true_false":
        low = s.casefold()
        if low in ("正", "○", "true", "正しい"):
            return True
        if low in ("誤", "×", "false", "誤り"):
            return False
        raise ValueError("正誤問題の正答は「正」か「誤」で入力してください。")
    if qtype == "text":
        answers = tuple(a.strip() for a in s.split("|") if a.strip())
        if not answers:
            raise ValueError("正答を入力してください。")
        return answers
    raise ValueError("不明な問題形式です。")


def same_key(qtype: str, a, b) -> bool:
    if qtype == "multiple":
        return set(a) == set(b)
    if qtype == "text":
        return list(a) == list(b)
    return a == b


# --- combining the parts -------------------------------------------------------------

@dataclass(frozen=True)
class Part:
    score: int
    max: int

    @property
    def rate(self) -> int:
        return Tally(self.score, self.max).rate

    @property
    def passed(self) -> bool:
        return passes(self.score, self.max)


@dataclass(frozen=True)
class Result:
    format: str
    cbt: Part | None
    written: Part | None
    passed: bool | None              # None: a part the format needs is missing
    missing: tuple[str, ...] = ()    # "cbt" / "written"

    @property
    def decided(self) -> bool:
        return self.passed is not None


def parts_needed(fmt: str) -> tuple[str, ...]:
    return {"cbt": ("cbt",), "written": ("written",), "both": ("cbt", "written")}[fmt]


def combine(fmt: str, cbt: Part | None, written: Part | None) -> Result:
    """第3-6 with 第3-5-(3): every part the session's format has must reach 70%."""
    have = {"cbt": cbt, "written": written}
    needed = parts_needed(fmt)
    missing = tuple(p for p in needed if have[p] is None)
    if missing:
        return Result(fmt, cbt, written, None, missing)
    return Result(fmt, cbt, written, all(have[p].passed for p in needed))


# --- charts ---------------------------------------------------------------------------

def histogram(rates: list[int], width: int = 10) -> list[tuple[int, int, int]]:
    """(low, high, count) bins of `width` percent; 100% joins the last bin."""
    bins = [[low, min(low + width - 1, 100), 0] for low in range(0, 100, width)]
    bins[-1][1] = 100
    for r in rates:
        bins[min(r // width, len(bins) - 1)][2] += 1
    return [tuple(b) for b in bins]


def pooled(breakdowns: list[dict[str, tuple[int, int]]]) -> dict[str, tuple[int, int]]:
    """Per key (area), all sheets' (correct, total) added up."""
    sums: dict[str, list[int]] = {}
    for b in breakdowns:
        for key, (c, t) in b.items():
            cell = sums.setdefault(key, [0, 0])
            cell[0] += c
            cell[1] += t
    return {k: (c, t) for k, (c, t) in sums.items()}


def pooled_rates(breakdowns: list[dict[str, tuple[int, int]]]) -> dict[str, int]:
    """Per key (area), all sheets' correct over all sheets' total, floor %."""
    return {k: Tally(c, t).rate for k, (c, t) in pooled(breakdowns).items() if t}


# --- what a candidate is shown --------------------------------------------------------

@dataclass(frozen=True)
class AreaRate(Part):
    """One area's part of a sheet (Table 2), so a candidate knows where to study; `passed`
    reads the 70% of 第3-6 within the area, a guide only (the pass is on the whole)."""
    key: str = ""
    name: str = ""


def area_rates(by_area: dict[str, tuple[int, int]], names: list[tuple[str, str]]) -> list[AreaRate]:
    """A sheet's (correct, total) per area in the blueprint's order, `names` being (key,
    name) pairs; an area with no question counted (none drawn, or all voided) is left out,
    an area the blueprint does not name comes last under its key."""
    named = dict(names)
    order = [k for k, _n in names] + sorted(k for k in by_area if k not in named)
    return [AreaRate(*by_area[k], key=k, name=named.get(k, k)) for k in order
            if k in by_area and by_area[k][1] > 0]
