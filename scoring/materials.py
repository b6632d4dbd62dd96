"""The rules of a volunteer group's awareness material (広報啓発資料, circular 2(3)): what a
quiz question must hold, which step of the review may follow which, and the snapshot of
the content that a review decides on."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

MIN_CHOICES, MAX_CHOICES = 2, 4
MAX_QUESTIONS = 30
# Field limits, in characters: what fits a phone screen and a printed handout.
LIMITS = {"title": 100, "audience": 100, "body": 20000, "credits": 2000, "stem": 2000,
          "choice": 200, "explanation": 2000, "source": 1000, "comment": 2000, "reason": 1000}


@dataclass(frozen=True)
class QuestionInput:
    stem: str
    choices: tuple[str, ...]       # as typed, blanks included (up to MAX_CHOICES)
    answer: int | None             # index into `choices`, as typed
    explanation: str
    source: str


@dataclass(frozen=True)
class CheckedQuestion:
    stem: str
    choices: tuple[str, ...]
    answer: int
    explanation: str
    source: str


def check_question(q: QuestionInput) -> tuple[CheckedQuestion | None, list[tuple[str, str]]]:
    """The question with its choices trimmed, or the problems as (field, message in Japanese).
    Blank choices may only come last: a blank between two filled ones would renumber the
    right answer silently."""
    problems: list[tuple[str, str]] = []
    choices = [c.strip() for c in q.choices]
    while choices and not choices[-1]:
        choices.pop()
    if any(not c for c in choices):
        problems.append(("choices", "選択肢は1から順に、間を空けずに入力してください。"))
    if len(choices) < MIN_CHOICES:
        problems.append(("choices", f"選択肢を{MIN_CHOICES}つ以上入力してください。"))
    if len(choices) > MAX_CHOICES:
        problems.append(("choices", f"選択肢は{MAX_CHOICES}つまでです。"))
    if len({c for c in choices if c}) < len([c for c in choices if c]):
        problems.append(("choices", "同じ内容の選択肢が二つあります。"))
    if q.answer is None or not 0 <= q.answer < len(choices) or (q.answer < len(choices) and not choices[q.answer]):
        problems.append(("answer", "正解を、入力した選択肢の中から選んでください。"))
    for name, value in (("stem", q.stem), ("explanation", q.explanation), ("source", q.source)):
        if not value.strip():
            problems.append((name, {"stem": "問題文", "explanation": "解説",
                                    "source": "出典・参考"}[name] + "を入力してください。"))
    if problems:
        return None, problems
    return CheckedQuestion(q.stem.strip(), tuple(choices), q.answer, q.explanation.strip(),
                           q.source.strip()), []


# Which action the working copy's state allows (the review's steps).
STEPS = {
    "edit": {"draft"},
    "submit": {"draft"},
    "review": {"submitted"},
    "revise": {"approved", "withdrawn"},
}


def allowed(action: str, state: str) -> bool:
    return state in STEPS[action]


def submission_problems(kind: str, content: dict) -> list[str]:
    """Why the content cannot go to review yet (Japanese), or nothing."""
    problems = []
    if not content["title"].strip():
        problems.append("題名を入力してください。")
    if kind == "quiz":
        if not content["questions"]:
            problems.append("問題を1問以上作成してください。")
        if len(content["questions"]) > MAX_QUESTIONS:
            problems.append(f"問題は{MAX_QUESTIONS}問までです。")
    else:
        if not content["body"].strip():
            problems.append("本文を入力してください。")
        if not content["credits"].strip():
            problems.append("出典・クレジットを入力してください（引用や画像がなければ「なし」）。")
    return problems


def digest(content: dict) -> str:
    """A fingerprint of the content reviewed: the same content, the same digest."""
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def quiz_shape(content: dict) -> list[dict]:
    """The questions of an approved quiz as the awareness quizzes read them."""
    return [{"id": q["id"], "stem": q["stem"], "choices": list(q["choices"]),
             "answer": q["answer"], "explanation": q["explanation"]}
            for q in content.get("questions", [])]


def changes(previous: dict | None, current: dict) -> dict:
    """What a resubmission changed since the revision reviewed before it, for the reviewer:
    per question key "new" or "changed" (unchanged ones absent), and whether the text
    (title, audience, body, credits) changed."""
    if previous is None:
        return {"questions": {}, "text": False}
    before = {q["id"]: q for q in previous.get("questions", [])}
    marks = {}
    for q in current.get("questions", []):
        if q["id"] not in before:
            marks[q["id"]] = "new"
        elif q != before[q["id"]]:
            marks[q["id"]] = "changed"
    text = any(previous.get(k) != current.get(k) for k in ("title", "audience", "body", "credits"))
    return {"questions": marks, "text": text}
