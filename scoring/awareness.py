"""Public awareness quizzes: a bank quiz as plain question dicts, the check every quiz
source must pass, and the per-question counts of an event.

A quiz question is `{"id", "stem" (Markdown), "choices" [2-4 texts], "answer" (index),
"explanation", "reference"}`: what an event snapshots, whatever its source."""
from __future__ import annotations

from dataclasses import dataclass, field

from .bank import BankLoad, Question

MIN_CHOICES, MAX_CHOICES = 2, 4
# A true/false bank question is shown with these two buttons, in this order.
TRUE_FALSE_CHOICES = ("○ 正しい", "× まちがい")


def question_dict(q: Question) -> dict:
    """A single-choice or true/false bank question in the quiz shape."""
    if q.type == "true_false":
        choices, answer = list(TRUE_FALSE_CHOICES), 0 if q.answer else 1
    elif q.type == "single":
        choices = [c.text for c in q.choices]
        answer = [c.key for c in q.choices].index(q.answer)
    else:
        raise ValueError(f"{q.id}: a {q.type} question cannot be used in an awareness quiz")
    return {"id": q.id, "stem": q.stem.strip(), "choices": choices, "answer": answer,
            "explanation": q.explanation.strip(), "reference": q.reference or ""}


def bank_quiz(load: BankLoad, quiz: str) -> list[dict]:
    """The quiz named by a blueprint level: per topic in scope, in blueprint order, the first
    `quota` approved questions (by id) that list the quiz. The same bank gives the same quiz,
    so the handout, the projector and the phones agree."""
    level = load.blueprint.levels[quiz]
    picked: list[dict] = []
    for topic in level.topics:
        chosen = [q for q in load.questions.values()
                  if q.topic == topic and q.status == "approved" and quiz in q.levels]
        picked.extend(question_dict(q) for q in chosen[:level.quotas[topic]])
    return picked


def problems(questions: list) -> list[str]:
    """What makes a list of quiz questions unusable at an event, in Japanese (empty: usable).
    Every source is checked, since a draft from the browser is as hostile as any input."""
    if not isinstance(questions, list) or not questions:
        return ["問題がありません。"]
    found = []
    for n, q in enumerate(questions, 1):
        where = f"{n}問目"
        if not isinstance(q, dict):
            found.append(f"{where}: 形式が正しくありません。")
            continue
        choices = q.get("choices")
        if not isinstance(q.get("stem"), str) or not q["stem"].strip():
            found.append(f"{where}: 問題文がありません。")
        if (not isinstance(choices, list) or not MIN_CHOICES <= len(choices) <= MAX_CHOICES
                or not all(isinstance(c, str) and c.strip() for c in choices)):
            found.append(f"{where}: 選択肢は{MIN_CHOICES}〜{MAX_CHOICES}個の文章にしてください。")
        elif (not isinstance(q.get("answer"), int) or isinstance(q.get("answer"), bool)
              or not 0 <= q["answer"] < len(choices)):
            found.append(f"{where}: 正解が選択肢の中にありません。")
        if not isinstance(q.get("explanation"), str) or not q["explanation"].strip():
            found.append(f"{where}: 解説がありません。")
    return found


@dataclass
class QuestionCount:
    """One question's answers at an event: how many chose each choice, how many were right."""
    position: int
    choices: list[int]
    correct: int = 0

    @property
    def answered(self) -> int:
        return sum(self.choices)

    @property
    def rate(self) -> int | None:
        """The correct rate in whole percent, rounded down (None before any answer)."""
        return self.correct * 100 // self.answered if self.answered else None


@dataclass
class EventCounts:
    started: int = 0                 # opened the quiz (はじめる)
    answered: int = 0                # answered at least one question: the activity's participants
    finished: int = 0                # answered every question
    questions: list[QuestionCount] = field(default_factory=list)


def count(questions: list[dict], started: int, finished: int,
          answers: list[tuple[int, int, int, bool]]) -> EventCounts:
    """Counts from the answers (participant, position, choice, correct); an answer to a
    position or choice the snapshot lacks is ignored."""
    result = EventCounts(started, 0, finished,
                         [QuestionCount(i, [0] * len(q["choices"])) for i, q in enumerate(questions)])
    people = set()
    for participant, position, choice, correct in answers:
        if not 0 <= position < len(questions) or not 0 <= choice < len(questions[position]["choices"]):
            continue
        people.add(participant)
        tally = result.questions[position]
        tally.choices[choice] += 1
        tally.correct += bool(correct)
    result.answered = len(people)
    return result
