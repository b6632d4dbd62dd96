"""Graders, one small pure function per question type, and the 70% pass rule (第3-6)."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from . import controlchars

PASS_NUMERATOR, PASS_DENOMINATOR = 7, 10     # 70%: compared with integers, never floats
_SPACE = re.compile(r"\s+")


def normalize_text(value: str) -> str:
    """NFKC (全角→半角), trimmed, inner runs of space folded, case folded."""
    folded = unicodedata.normalize("NFKC", value).casefold()
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", folded)).strip()


def _single(answer, response) -> bool:
    return isinstance(response, str) and response == answer


def _multiple(answer, response) -> bool:
    # All or nothing: exactly the keyed set, no more and no fewer.
    return isinstance(response, (list, tuple)) and set(response) == set(answer) \
        and len(response) == len(set(response))


def _true_false(answer, response) -> bool:
    return isinstance(response, bool) and response is answer


def _text(answer, response) -> bool:
    if not isinstance(response, str):
        return False
    given = normalize_text(response)
    return bool(given) and any(given == normalize_text(a) for a in answer)


GRADERS = {"single": _single, "multiple": _multiple, "true_false": _true_false, "text": _text}


def grade(qtype: str, answer, response) -> bool:
    """True when `response` (None if unanswered) earns the mark."""
    if response is None:
        return False
    return GRADERS[qtype](answer, response)


def passes(correct: int, total: int) -> bool:
    """第3-6: a correct rate of 70% or more. 28/40 passes, 27/40 fails."""
    return total > 0 and correct * PASS_DENOMINATOR >= total * PASS_NUMERATOR


def rate_percent_floor(correct: int, total: int) -> int:
    """Rate shown to people, rounded down so 69.9% never reads as 70%."""
    return correct * 100 // total if total else 0


@dataclass(frozen=True)
class GradedItem:
    question_id: str
    area: str
    topic: str
    correct: bool
    voided: bool = False


@dataclass(frozen=True)
class Tally:
    correct: int
    total: int

    @property
    def rate(self) -> int:
        return rate_percent_floor(self.correct, self.total)


@dataclass(frozen=True)
class SheetScore:
    correct: int
    total: int
    passed: bool
    by_area: dict[str, Tally] = field(default_factory=dict)
    by_topic: dict[str, Tally] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "correct": self.correct, "total": self.total, "passed": self.passed,
            "by_area": {k: [t.correct, t.total] for k, t in self.by_area.items()},
            "by_topic": {k: [t.correct, t.total] for k, t in self.by_topic.items()},
        }


def score_sheet(items: list[GradedItem]) -> SheetScore:
    """Totals and per-area/topic breakdown; voided questions count for no one."""
    counted = [i for i in items if not i.voided]
    by_area: dict[str, list[int]] = {}
    by_topic: dict[str, list[int]] = {}
    for i in counted:
        for table, key in ((by_area, i.area), (by_topic, i.topic)):
            cell = table.setdefault(key, [0, 0])
            cell[0] += i.correct
            cell[1] += 1
    correct = sum(1 for i in counted if i.correct)
    return SheetScore(correct, len(counted), passes(correct, len(counted)),
                      {k: Tally(*v) for k, v in by_area.items()},
                      {k: Tally(*v) for k, v in by_topic.items()})


MAX_TEXT_ANSWER = 200


class ResponseError(ValueError):
    """A response that cannot be an answer to this question (refused, never stored)."""


def coerce_response(qtype: str, choice_keys: list[str], raw):
    """Check a submitted response against the question; return its stored form.

    None clears the answer. single: one key; multiple: a list of distinct keys (sorted);
    true_false: a boolean; text: a string of at most MAX_TEXT_ANSWER characters."""
    if raw is None:
        return None
    if qtype == "single":
        if not isinstance(raw, str) or raw not in choice_keys:
            raise ResponseError("選択肢にない解答です。")
        return raw
    if qtype == "multiple":
        if not isinstance(raw, list) or not all(isinstance(k, str) for k in raw):
            raise ResponseError("複数選択の解答は選択肢の一覧で送ってください。")
        if len(set(raw)) != len(raw) or any(k not in choice_keys for k in raw):
            raise ResponseError("選択肢にない解答、または重複した解答です。")
        return sorted(raw) or None
    if qtype == "true_false":
        if not isinstance(raw, bool):
            raise ResponseError("正誤問題の解答は「正しい」か「誤り」です。")
        return raw
    if qtype == "text":
        if not isinstance(raw, str):
            raise ResponseError("記述式の解答は文字列で送ってください。")
        if len(raw) > MAX_TEXT_ANSWER:
            raise ResponseError(f"解答は{MAX_TEXT_ANSWER}文字以内で入力してください。")
        at = controlchars.find_forbidden(raw)
        if at >= 0:
            raise ResponseError(controlchars.message_ja(raw[at], "解答"))
        return raw if raw.strip() else None
    raise ResponseError("不明な問題形式です。")
