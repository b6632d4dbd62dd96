"""What an import yields: drafts of questions, messages about them, and the questions built
from the drafts (ids, area, topic, levels given by the author)."""
from __future__ import annotations

from dataclasses import dataclass, field

from scoring.bank import Choice, Question

from .markdown_in import clean_block


@dataclass(frozen=True)
class Message:
    """One line of an import report: a problem (the import fails) or a note (kept going)."""
    line: int
    name: str | None
    text: str
    note: bool = False

    def format(self, source: str) -> str:
        who = f"question '{self.name}': " if self.name is not None else ""
        return f"{source}:{self.line}: {who}{'note: ' if self.note else ''}{self.text}"


@dataclass
class Draft:
    """A question that maps onto our format, still without id, area, topic, ..."""
    name: str
    line: int
    type: str
    stem: str
    choices: tuple[Choice, ...]
    answer: object                    # as in scoring.bank.Question
    explanation: str | None
    shuffle: bool = True


@dataclass
class ImportResult:
    source: str
    format: str
    drafts: list[Draft] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)

    @property
    def problems(self) -> list[Message]:
        return [m for m in self.messages if not m.note]

    @property
    def notes(self) -> list[Message]:
        return [m for m in self.messages if m.note]


class QuestionReport:
    """Collects the problems and notes of one source question."""

    def __init__(self, result: ImportResult, line: int, name: str):
        self.result, self.line, self.name = result, line, name
        self.failed = False
        self._notes: list[Message] = []

    def problem(self, text: str) -> None:
        self.failed = True
        self.result.messages.append(Message(self.line, self.name, text))

    def note(self, text: str) -> None:
        self._notes.append(Message(self.line, self.name, text, True))

    def finish(self) -> None:
        """Notes matter only for a question that is imported: a failed one has its reason."""
        if not self.failed:
            self.result.messages.extend(self._notes)
        self._notes = []


NO_EXPLANATION = ("no general feedback, and the bank format requires an explanation "
                  "(give one in the source, or import with a placeholder)")


def build_questions(result: ImportResult, *, prefix: str, start: int, area: str, topic: str,
                    levels: tuple[str, ...] | list[str], pool: str, status: str,
                    explanation_placeholder: str | None = None) -> tuple[list[Question], list[Message]]:
    """Give each draft its id (PREFIX-0001, ...) and the caller's area, topic, levels, pool
    and status. Returns the questions and the extra messages (a missing explanation is a
    problem unless a placeholder is given)."""
    questions, messages = [], []
    for n, d in enumerate(result.drafts, start):
        explanation = d.explanation
        if not explanation or not explanation.strip():
            if explanation_placeholder and explanation_placeholder.strip():
                explanation = clean_block(explanation_placeholder)
                messages.append(Message(d.line, d.name, "no general feedback: the explanation "
                                        "is the placeholder; write a real one before approving", True))
            else:
                messages.append(Message(d.line, d.name, NO_EXPLANATION))
                continue
        questions.append(Question(
            id=f"{prefix}-{n:04d}", area=area, topic=topic, levels=tuple(levels), type=d.type,
            pool=pool, status=status, stem=d.stem, choices=d.choices, answer=d.answer,
            explanation=explanation, shuffle=d.shuffle if d.type in ("single", "multiple") else True,
            file=result.source, line=d.line))
    return questions, messages


def choice_keys(n: int) -> list[str]:
    """a, b, ..., z, aa, ab, ...: the keys given to imported choices, in source order."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    out = []
    for i in range(n):
        key, i = "", i + 1
        while i:
            i, r = divmod(i - 1, 26)
            key = letters[r] + key
        out.append(key)
    return out
