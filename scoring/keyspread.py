"""How a level's correct answers spread over choice keys, and when one key holds far more
than its share (`cbt bank validate`).

The exam page never shows keys, but a form printed from the banks shows them in order, and
authors tend to write the right answer first: in the first starter banks `a` was right in
90 of 139 single-choice exam questions. A key is compared with what it would get if every
question's right answer (or answers) sat under any of its keys alike: a question with n
choices and m right ones makes each of its keys right with probability m/n. The count of a
key is then a sum of such independent trials (a Poisson binomial; a plain binomial when all
questions offer the same number of choices and of right answers), and the test is the
exact one-sided tail P(count >= observed).

A key is **skewed** when p < ALPHA (chance alone would rarely give so many) and it is right
at least MIN_COUNT times (a handful of questions proves nothing). With many keys and levels
an evenly written bank still draws a warning now and then (about one key in a hundred):
it is a warning, never a problem.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from math import exp, lgamma, log, log1p

from .bank import Question
from .blueprint import Blueprint

ALPHA = 0.01
MIN_COUNT = 5
TYPES = ("single", "multiple")
RULE = (f"a key is flagged when it is right at least {MIN_COUNT} times, and so often that "
        f"chance alone gives as many with p < {ALPHA:g} (one-sided exact binomial test against "
        "the share expected from the choices offered)")


@dataclass(frozen=True)
class KeyCount:
    key: str
    offered: int        # questions that offer this key
    correct: int        # questions where it is right (one of the right ones, for multiple)
    expected: float     # the count if each question's answers sat under any of its keys alike
    p_value: float      # P(count >= correct) under that

    @property
    def skewed(self) -> bool:
        return self.p_value < ALPHA and self.correct >= MIN_COUNT


@dataclass(frozen=True)
class KeySpread:
    qtype: str
    questions: int
    keys: tuple[KeyCount, ...]      # in key order

    def skewed(self) -> list[KeyCount]:
        return [k for k in self.keys if k.skewed]


def _answer_keys(q: Question) -> set[str]:
    return {q.answer} if q.type == "single" else set(q.answer)


def _binomial(n: int, p: float) -> list[float]:
    if p <= 0.0:
        return [1.0] + [0.0] * n
    if p >= 1.0:
        return [0.0] * n + [1.0]
    lp, lq = log(p), log1p(-p)
    return [exp(lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) + k * lp + (n - k) * lq)
            for k in range(n + 1)]


def _convolve(a: list[float], b: list[float]) -> list[float]:
    out = [0.0] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        if x:
            for j, y in enumerate(b):
                out[i + j] += x * y
    return out


def upper_tail(probabilities: list[float], observed: int) -> float:
    """P(X >= observed) for X the number of successes of independent trials with these
    probabilities. Trials of equal probability are taken together as one binomial, so a
    bank of any size costs a few convolutions."""
    if observed <= 0:
        return 1.0
    dist = [1.0]
    for p, n in Counter(probabilities).items():
        dist = _convolve(dist, _binomial(n, p))
    return min(1.0, sum(dist[observed:]))


def key_spread(questions, qtype: str) -> KeySpread:
    """The spread of right answers over keys among `questions` of type `qtype`."""
    chosen = [q for q in questions if q.type == qtype]
    trials: dict[str, list[float]] = defaultdict(list)
    correct: Counter = Counter()
    for q in chosen:
        right = _answer_keys(q)
        share = len(right) / len(q.choices)
        for c in q.choices:
            trials[c.key].append(share)
            correct[c.key] += c.key in right
    keys = tuple(KeyCount(k, len(trials[k]), correct[k], sum(trials[k]),
                          upper_tail(trials[k], correct[k])) for k in sorted(trials))
    return KeySpread(qtype, len(chosen), keys)


def level_spreads(blueprint: Blueprint, questions) -> dict[str, list[KeySpread]]:
    """Per level, the spread of each choice type over its approved exam-pool questions in
    scope (the ones a form may draw), leaving out a type the level has none of."""
    questions = list(questions)
    out = {}
    for lkey, lv in blueprint.levels.items():
        drawable = [q for q in questions if q.topic in lv.topics and q.drawable_for(lkey)]
        out[lkey] = [s for s in (key_spread(drawable, t) for t in TYPES) if s.questions]
    return out
