"""Differences between two bank versions: what was added, changed and retired.

An id never changes meaning: a changed question keeps its id, so a diff by id is the
question's history."""
from __future__ import annotations

from dataclasses import dataclass, field

from .bank import Question

_CONTENT = ("area", "topic", "levels", "type", "pool", "status", "stem", "choices", "answer",
            "explanation", "reference", "shuffle")


def changed_fields(old: Question, new: Question) -> list[str]:
    return [f for f in _CONTENT if getattr(old, f) != getattr(new, f)]


@dataclass
class VersionDiff:
    added: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)   # id -> fields that changed
    retired: list[str] = field(default_factory=list)              # status became retired
    removed: list[str] = field(default_factory=list)              # gone from the files

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.retired or self.removed)


def diff(old: dict[str, Question], new: dict[str, Question]) -> VersionDiff:
    d = VersionDiff()
    for qid in sorted(new.keys() - old.keys()):
        d.added.append(qid)
    for qid in sorted(old.keys() - new.keys()):
        d.removed.append(qid)
    for qid in sorted(old.keys() & new.keys()):
        fields = changed_fields(old[qid], new[qid])
        if not fields:
            continue
        if "status" in fields and new[qid].status == "retired":
            d.retired.append(qid)
        d.changed[qid] = fields
    return d


def history(qid: str, versions: list[tuple[str, dict[str, Question]]]) -> list[tuple[str, str, list[str]]]:
    """A question's life across versions, oldest first: (version, event, changed fields),
    event one of added, changed, retired, removed, restored. Unchanged versions are left out."""
    out = []
    previous: Question | None = None
    for name, questions in versions:
        q = questions.get(qid)
        if q is None:
            if previous is not None:
                out.append((name, "removed", []))
            previous = None
            continue
        if previous is None:
            out.append((name, "added" if not out else "restored", []))
        else:
            fields = changed_fields(previous, q)
            if fields:
                out.append((name, "retired" if "status" in fields and q.status == "retired"
                            else "changed", fields))
        previous = q
    return out
