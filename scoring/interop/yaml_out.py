"""Our YAML bank format written from questions, quoted so that it reads back exactly."""
from __future__ import annotations

import json
import re

from scoring.bank import Question

from .markdown_in import one_line

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")


_YAML_WORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "none"}


# Characters a literal block cannot hold as they are (YAML 1.1 also breaks lines at U+0085,
# U+2028 and U+2029); a text with one is written double-quoted, with escapes.
_NOT_IN_BLOCK = re.compile("[^\t\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
                           "\U00010000-\U0010ffff]")


_ESCAPE_IN_QUOTES = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def yaml_quoted(s: str) -> str:
    """A double-quoted YAML scalar (JSON string syntax, which YAML reads the same way)."""
    return _ESCAPE_IN_QUOTES.sub(lambda m: "\\u%04x" % ord(m.group()), json.dumps(s, ensure_ascii=False))


def yaml_scalar(s: str) -> str:
    return s if _PLAIN.match(s) and s.lower() not in _YAML_WORDS else yaml_quoted(s)


def yaml_block(s: str, indent: int) -> str:
    """`|` literal block for a cleaned text (see clean_block), or a quoted scalar when the text
    holds characters a block cannot."""
    if not s.endswith("\n") or s.endswith("\n\n") or _NOT_IN_BLOCK.search(s) \
            or any(ln != ln.rstrip() for ln in s.split("\n")):
        return yaml_quoted(s)
    lines = s[:-1].split("\n")
    header = "|2" if lines[0].startswith((" ", "\t")) else "|"
    pad = " " * indent
    return header + "\n" + "\n".join(pad + ln if ln else "" for ln in lines)


def _comment(text: str) -> str:
    return "# " + one_line(text)


def bank_yaml(questions: list[Question], *, header: list[str] = (),
              comments: dict[str, list[str]] | None = None) -> str:
    """A bank file in our format: area/topic/levels as file defaults when the questions
    share them, then `questions:`; stems and explanations as literal blocks."""
    comments = comments or {}
    out = [_comment(h) for h in header]
    shared = {}
    for key in ("area", "topic", "levels"):
        values = {getattr(q, key) for q in questions}
        if len(values) == 1:
            shared[key] = values.pop()
    for key, value in shared.items():
        if key == "levels":
            out.append(f"levels: [{', '.join(yaml_scalar(x) for x in value)}]")
        else:
            out.append(f"{key}: {yaml_scalar(value)}")
    if not questions:
        out.append("questions: []")
        return "\n".join(out) + "\n"
    out.append("questions:")
    for q in questions:
        for c in comments.get(q.id, []):
            out.append("  " + _comment(c))
        out.append(f"  - id: {yaml_scalar(q.id)}")
        for key in ("area", "topic"):
            if key not in shared:
                out.append(f"    {key}: {yaml_scalar(getattr(q, key))}")
        if "levels" not in shared:
            out.append(f"    levels: [{', '.join(yaml_scalar(x) for x in q.levels)}]")
        out.append(f"    type: {q.type}")
        out.append(f"    pool: {q.pool}")
        out.append(f"    status: {q.status}")
        out.append(f"    stem: {yaml_block(q.stem, 6)}")
        if q.type in ("single", "multiple"):
            out.append("    choices:")
            for c in q.choices:
                out.append(f"      - {{key: {yaml_scalar(c.key)}, text: {yaml_quoted(c.text)}}}")
        if q.type == "single":
            out.append(f"    answer: {yaml_scalar(q.answer)}")
        elif q.type == "multiple":
            out.append(f"    answer: [{', '.join(yaml_scalar(a) for a in q.answer)}]")
        elif q.type == "true_false":
            out.append(f"    answer: {'true' if q.answer else 'false'}")
        else:
            out.append(f"    answer: [{', '.join(yaml_quoted(a) for a in q.answer)}]")
        out.append(f"    explanation: {yaml_block(q.explanation, 6)}")
        if q.reference:
            out.append(f"    reference: {yaml_quoted(q.reference)}")
        if q.type in ("single", "multiple") and not q.shuffle:
            out.append("    shuffle: false")
    return "\n".join(out) + "\n"
