"""Form assembly (出題): one code path for `cbt form draw` and live sessions.

Per topic, exactly the quota, drawn uniformly without replacement from the approved
exam-pool questions eligible for the level (第3-5-(2): not biased toward particular items).
Everything comes from one seeded generator over id-sorted candidates, so the seed and the
bank content reproduce the form whatever the file layout.
"""
from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

from .bank import Question
from .blueprint import Blueprint


class AssemblyError(Exception):
    pass


@dataclass(frozen=True)
class FormItem:
    id: str
    area: str
    topic: str
    choice_order: tuple[str, ...]    # choice keys in the order shown; () for true_false/text

    def to_dict(self) -> dict:
        return {"id": self.id, "area": self.area, "topic": self.topic,
                "choice_order": list(self.choice_order)}

    @classmethod
    def from_dict(cls, d: dict) -> "FormItem":
        return cls(d["id"], d["area"], d["topic"], tuple(d.get("choice_order", ())))


@dataclass(frozen=True)
class Form:
    seed: int
    level: str
    items: tuple[FormItem, ...]


def new_seed() -> int:
    return secrets.randbits(63)


class Assembler:
    """Pre-sorts the eligible questions of one level so thousands of draws stay cheap."""

    def __init__(self, blueprint: Blueprint, questions: dict[str, Question], level: str):
        if level not in blueprint.levels:
            raise AssemblyError(f"unknown level '{level}' (levels: {', '.join(blueprint.levels)})")
        self.level = blueprint.levels[level]
        self.questions = questions
        self.pools: list[tuple[str, int, list[Question]]] = []
        for topic in self.level.topics:
            eligible = sorted((q for q in questions.values()
                               if q.topic == topic and q.drawable_for(level)), key=lambda q: q.id)
            quota = self.level.quotas[topic]
            if len(eligible) < quota:
                raise AssemblyError(f"level '{level}': topic '{topic}' needs {quota} approved "
                                    f"exam-pool questions but has {len(eligible)}")
            self.pools.append((topic, quota, eligible))

    def draw(self, seed: int) -> Form:
        rng = random.Random(seed)
        chosen: list[Question] = []
        for _topic, quota, eligible in self.pools:
            chosen.extend(rng.sample(eligible, quota))
        rng.shuffle(chosen)
        items = []
        for q in chosen:
            order = [c.key for c in q.choices]
            if q.shuffle:
                rng.shuffle(order)
            items.append(FormItem(q.id, q.area, q.topic, tuple(order)))
        return Form(seed, self.level.key, tuple(items))


def draw_form(blueprint: Blueprint, questions: dict[str, Question], level: str,
              seed: int | None = None) -> Form:
    return Assembler(blueprint, questions, level).draw(new_seed() if seed is None else seed)
