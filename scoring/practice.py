"""Practice mode (第3-11, 十分な事前学習): which questions may be practised, and progress."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from .bank import Question
from .blueprint import Blueprint


def practice_pool(blueprint: Blueprint, questions: dict[str, Question], level: str,
                  topic: str | None = None) -> list[Question]:
    """Approved practice-pool questions for a level (and topic): never an exam-pool one."""
    if level not in blueprint.levels:
        return []
    scope = blueprint.levels[level].topics
    return sorted((q for q in questions.values()
                   if q.pool == "practice" and q.status == "approved" and level in q.levels
                   and q.topic in scope and (topic is None or q.topic == topic)),
                  key=lambda q: q.id)


def pick(pool: list[Question], rng: random.Random, avoid: set[str] = frozenset()) -> Question | None:
    """A random question, preferring ones not answered recently."""
    fresh = [q for q in pool if q.id not in avoid]
    choices = fresh or pool
    return rng.choice(choices) if choices else None


@dataclass(frozen=True)
class TopicProgress:
    topic: str
    answered: int
    correct: int
    last: date | None
    recent_rate: int | None      # last 10 answers, percent (floor)
    earlier_rate: int | None     # the 10 before those

    @property
    def rate(self) -> int | None:
        return self.correct * 100 // self.answered if self.answered else None


def progress(history: list[tuple[str, bool, date]], topics: list[str]) -> list[TopicProgress]:
    """history: (topic, correct, day) oldest first. Per topic totals and the recent trend."""
    out = []
    for topic in topics:
        rows = [(ok, day) for t, ok, day in history if t == topic]
        recent, earlier = rows[-10:], rows[-20:-10]
        rate = (lambda rs: sum(ok for ok, _ in rs) * 100 // len(rs) if rs else None)
        out.append(TopicProgress(topic, len(rows), sum(ok for ok, _ in rows),
                                 rows[-1][1] if rows else None, rate(recent), rate(earlier)))
    return out
