"""GIFT (https://docs.moodle.org/en/GIFT_format) in and out: the common subset.

Read: questions separated by blank lines; `// comment` lines and `$CATEGORY:` lines skipped;
`::title::` optional; `[html]`, `[moodle]`, `[markdown]`, `[plain]` format prefixes (in lower
case) in front of the question text, the general feedback and each answer;
escapes `\\: \\~ \\= \\# \\{ \\} \\\\` and `\\n` (a new line);
- `{=right ~wrong ~wrong}` -> single (`~%50%partial` credit is dropped, with a note; a
  `~%100%` answer is a second right answer, refused)
- `{~%50%a ~%50%b ~%-100%c}` (no `=`) -> multiple: the answers with a positive weight
- an answer with no text (`{~=right ~wrong}`) is dropped, as Moodle drops it when it saves the
  question; text before the first `~` or `=` is an answer, as Moodle reads it
- `{T}` `{F}` `{TRUE}` `{FALSE}`, in capitals -> true_false (`{t}` is the short answer "t")
- `{=answer1 =answer2}` -> text: the 100% answers (others dropped, with a note)
- `####feedback` at the end of the answers -> explanation; `#feedback` after one answer
  is dropped, with a note.
Not mapped, each a problem naming the question: matching (`->`), numerical (`{#...}`),
essay (`{}`), description (no `{...}`), missing word (text after the closing `}`).

The type is told apart exactly as Moodle's own GIFT reader does: `~` -> multiple choice
(single when there is also a `=`), `=` with `->` -> matching, T/F words -> true/false,
anything else -> short answer.
"""
from __future__ import annotations

import re

from scoring.bank import Choice, Question
from scoring.grading import normalize_text

from .markdown_in import clean_block, html_to_markdown, html_to_text, one_line
from .model import Draft, ImportResult, Message, QuestionReport, choice_keys
from .moodle_xml_out import share_of

# Escaped characters are swapped for private-use placeholders while the structure is read.
_ESCAPES = {":": "\ue101", "#": "\ue102", "=": "\ue103", "{": "\ue104", "}": "\ue105",
            "~": "\ue106", "\\": "\ue107"}
_RESTORE = str.maketrans({v: k for k, v in _ESCAPES.items()})
# Moodle knows these four names, in lower case only: `[HTML]` is text.
_FORMAT = re.compile(r"\s*\[(html|moodle|markdown|plain)\]")
_WEIGHT = re.compile(r"%(-?\d+(?:\.\d+)?)%")


def _protect(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "n":
                out.append("\n")
                i += 2
                continue
        out.append(c)
        i += 1
    return "".join(out)


def _restore(text: str) -> str:
    return text.translate(_RESTORE)


def _split_format(text: str, default: str) -> tuple[str, str]:
    m = _FORMAT.match(text)
    return (m.group(1), text[m.end():]) if m else (default, text)


def _block_text(raw: str, fmt: str, rep: QuestionReport, what: str) -> str:
    text = _restore(raw)
    if fmt in ("markdown", "plain"):
        return clean_block(text)
    out, issues = html_to_markdown(text, newlines_are_breaks=(fmt == "moodle"))
    for issue in issues:
        rep.problem(f"the {what} has {issue}, which a bank question cannot hold")
    return out


def _line_text(raw: str, fmt: str, rep: QuestionReport, what: str) -> str:
    """One choice's text, its format prefix already taken off."""
    text = _restore(raw)
    if fmt in ("markdown", "plain"):
        return one_line(text)
    out, issues = html_to_text(text)
    for issue in issues:
        rep.problem(f"{what} has {issue}, which a choice cannot hold")
    return out


def _blocks(text: str) -> list[list[tuple[int, str]]]:
    blocks, cur = [], []
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            if cur:
                blocks.append(cur)
                cur = []
            continue
        cur.append((n, line.rstrip()))
    if cur:
        blocks.append(cur)
    return blocks


def _answers(answer_text: str, markers: str) -> tuple[str, list[tuple[str, str]]]:
    """(text before the first marker, [(marker, body)]) split at every marker character."""
    parts = re.split(f"([{re.escape(markers)}])", answer_text)
    lead, out = parts[0].strip(), []
    for i in range(1, len(parts), 2):
        out.append((parts[i], parts[i + 1].strip()))
    return lead, out


def _feedback(body: str) -> tuple[str, bool]:
    text, sep, fb = body.partition("#")
    return text.strip(), bool(sep and fb.strip())


def import_gift(data: bytes | str, source: str) -> ImportResult:
    result = ImportResult(source, "gift")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            result.messages.append(Message(line, None, "the file is not valid UTF-8"))
            return result
    text = data.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    for n, block in enumerate(_blocks(text), 1):
        kept = [(ln, s) for ln, s in block
                if not s.strip().startswith("//") and not s.strip().startswith("$CATEGORY:")]
        if not kept:
            continue
        _question(result, kept[0][0], "\n".join(s for _, s in kept), n).finish()
    return result


def _excerpt(raw: str) -> str:
    """The start of an untitled question's text, to name it in messages."""
    _, raw = _split_format(raw, "")
    text = one_line(html_to_text(_restore(raw))[0])
    return text if len(text) <= 40 else text[:40] + "..."


def _question(result: ImportResult, line: int, raw: str, n: int) -> QuestionReport:
    t = _protect(raw).strip()
    name, unclosed_title = None, False
    if t.startswith("::"):
        end = t.find("::", 2)
        if end < 0:
            unclosed_title = True
        else:
            name = one_line(_restore(t[2:end])) or None
            t = t[end + 2:].strip()
    opening, closing = t.find("{"), t.find("}")
    label = name or _excerpt(t[: opening if opening >= 0 else len(t)]) or f"#{n}"
    rep = QuestionReport(result, line, label)
    if unclosed_title:
        rep.problem("the '::title::' is not closed")
        return rep
    if opening < 0 and closing < 0:
        rep.problem("no answers in braces {...}: a description is not a question")
        return rep
    if opening < 0 or closing < 0 or closing < opening:
        rep.problem("unbalanced braces (write a literal brace as \\{ or \\})")
        return rep
    if t[closing + 1:].strip():
        rep.problem("text continues after the closing '}': a missing-word question (the answers "
                    "stand in the middle of the text) has no equivalent in the bank format")
        return rep
    fmt, stem_raw = _split_format(t[:opening], "moodle")
    answer_text = t[opening + 1:closing].strip()
    explanation_raw = ""
    gf = answer_text.rfind("####")
    if gf >= 0:
        explanation_raw = answer_text[gf + 4:]
        answer_text = answer_text[:gf].strip()

    if not answer_text:
        rep.problem("empty answers {}: an essay question is marked by hand; the engine grades "
                    "single, multiple, true_false and text questions only")
        return rep
    if answer_text.startswith("#"):
        rep.problem("a numerical question ({#...}) is not supported by this GIFT import")
        return rep
    if "~" not in answer_text and "=" in answer_text and "->" in answer_text:
        rep.problem("a matching question (=... -> ...) has no equivalent in the bank format")
        return rep

    stem = _block_text(stem_raw, fmt, rep, "question text")
    if not stem and not rep.failed:
        rep.problem("the question text is empty")
    efmt, explanation_raw = _split_format(explanation_raw, fmt)
    explanation = _block_text(explanation_raw, efmt, rep, "general feedback") if explanation_raw.strip() else ""
    d = {"choices": (), "shuffle": True}

    # Moodle's words exactly: `{t}` or `{True}` is a short answer.
    tf_word = answer_text.split("#", 1)[0].strip()
    if "~" in answer_text:
        _multichoice(answer_text, fmt, rep, d)
    elif tf_word in ("T", "TRUE", "F", "FALSE"):
        if "#" in answer_text and answer_text.split("#", 1)[1].replace("#", "").strip():
            rep.note("true/false feedback dropped; only the general feedback is kept")
        d["type"], d["answer"] = "true_false", tf_word.startswith("T")
    else:
        _shortanswer(answer_text, fmt, rep, d)
    if rep.failed:
        return rep
    result.drafts.append(Draft(label, line, d["type"], stem, d["choices"], d["answer"],
                               explanation or None, d["shuffle"]))
    return rep


def _multichoice(answer_text: str, fmt: str, rep: QuestionReport, d: dict) -> None:
    lead, answers = _answers(answer_text, "~=")
    if lead:
        # Moodle reads it as one more answer, wrong unless it starts with a weight.
        answers.insert(0, ("~", lead))
        rep.note("answer 1 has no '~' or '=' in front: read as "
                 + ("a weighted answer" if _WEIGHT.match(lead) else "a wrong answer") + ", as Moodle reads it")
    # (number in the source, marker, weight, text) of each answer kept
    kept: list[tuple[int, str, float, str]] = []
    with_feedback = 0
    for i, (marker, body) in enumerate(answers, 1):
        weight = 100.0 if marker == "=" else 0.0
        if marker == "~":
            m = _WEIGHT.match(body)
            if m:
                weight, body = float(m.group(1)), body[m.end():]
        body, has_feedback = _feedback(body)
        afmt, body = _split_format(body, fmt)
        if not _restore(body).strip():
            # Moodle keeps it on import and drops it when it saves the question: the common
            # `~=right` (an empty wrong answer before the right one) is such an answer.
            lost = ([f"its weight {weight:g}%"] if weight and marker == "~" else []) \
                + (["its feedback"] if has_feedback else [])
            if lost:
                rep.note(f"answer {i} has no text and is dropped, as Moodle drops it (with "
                         f"{' and '.join(lost)})")
            if marker == "=":
                rep.problem("the right answer (marked '=') has no text")
            continue
        with_feedback += has_feedback
        text = _line_text(body, afmt, rep, f"answer {i}")
        if not text:
            rep.problem(f"answer {i} has no text")
        kept.append((i, marker, weight, text))
    if rep.failed:
        return
    if len(kept) < 2:
        rep.problem("a multiple choice question needs at least two answers")
        return
    keys = choice_keys(len(kept))
    if with_feedback:
        rep.note(f"per-answer feedback dropped ({with_feedback} answer{'s' if with_feedback > 1 else ''})")
    d["choices"] = tuple(Choice(key, text) for key, (_, _, _, text) in zip(keys, kept))
    if "=" in answer_text:
        # A `~%100%` answer scores in full as the `=` one does.
        right = [k for k, (_, marker, w, _) in enumerate(kept) if marker == "=" or w == 100]
        if len(right) > 1:
            rep.problem(f"{len(right)} answers are right (answers "
                        f"{', '.join(str(kept[k][0]) for k in right)}: marked '=' or worth 100%); "
                        "a single question has exactly one right answer")
            return
        partial = [f"answer {i} ({w:g}%)" for k, (i, _, w, _) in enumerate(kept) if 0 < w and k not in right]
        if partial:
            rep.note(f"partial credit dropped for {', '.join(partial)}: only the '=' answer scores")
        d["type"], d["answer"] = "single", keys[right[0]]
    else:
        right = [k for k, (_, _, w, _) in enumerate(kept) if w > 0]
        if not right:
            rep.problem("no answer has a positive weight (%...%), so none is right")
            return
        if len(right) > 1 or kept[right[0]][2] != 100:
            rep.note("partial credit (" + ", ".join(f"{kept[k][2]:g}%" for k in right)
                     + ") becomes all or nothing: a candidate must choose exactly answers "
                     + ", ".join(str(kept[k][0]) for k in right))
        d["type"], d["answer"] = "multiple", tuple(sorted(keys[k] for k in right))


def _shortanswer(answer_text: str, fmt: str, rep: QuestionReport, d: dict) -> None:
    lead, answers = _answers(answer_text, "=")
    if lead:
        answers.insert(0, ("=", lead))
    accepted, dropped, with_feedback = [], [], 0
    for i, (_, body) in enumerate(answers, 1):
        weight = 100.0
        m = _WEIGHT.match(body)
        if m:
            weight, body = float(m.group(1)), body[m.end():]
        body, has_feedback = _feedback(body)
        with_feedback += has_feedback
        # Short answers are plain text in Moodle: a format prefix is taken off, HTML is kept.
        text = one_line(_restore(_split_format(body, fmt)[1]))
        if weight != 100:
            dropped.append(f"'{text}' ({weight:g}%)")
            continue
        if re.search(r"(?<!\\)\*", text):
            rep.problem(f"accepted answer {i} '{text}' uses the * wildcard; text answers here "
                        "are compared exactly")
            continue
        text = text.replace("\\*", "*")
        if not normalize_text(text):
            rep.problem(f"accepted answer {i} is empty")
            continue
        accepted.append(text)
    if rep.failed:
        return
    if not accepted:
        rep.problem("no answer is worth 100%")
        return
    if dropped:
        rep.note(f"answers worth less than 100% dropped: {', '.join(dropped)}")
    if with_feedback:
        rep.note(f"per-answer feedback dropped ({with_feedback} answer{'s' if with_feedback > 1 else ''})")
    d["type"], d["answer"] = "text", tuple(dict.fromkeys(accepted))


# ---- export ------------------------------------------------------------------------------

def escape(text: str) -> str:
    """GIFT escapes (as Moodle's own GIFT writer): \\ ~ = # { } : and new lines as \\n."""
    out = text.replace("\\", "\\\\")
    for c in "~=#{}:":
        out = out.replace(c, "\\" + c)
    return out.replace("\r", "").replace("\n", "\\n")


def _guard_format(body: str) -> str:
    """A text that itself starts like a format prefix ([html]...) would be read as one."""
    return "[markdown]" + body if _FORMAT.match(body) else body


def _answer_body(text: str, weight: str) -> str:
    body = escape(text)
    # A text that itself starts like a weight (%50%) would be read as one: say the weight.
    return f"%{weight}%{body}" if _WEIGHT.match(body) else body


def export_gift(questions: list[Question]) -> str:
    """Our questions as GIFT, one question per block, every text `[markdown]` and written on
    one line (new lines as \\n, as Moodle's GIFT writer does: GIFT ends a question at a blank
    line and Moodle trims every line). GIFT cannot say `shuffle: false`: a comment says it.
    Raises ValueError for what GIFT cannot hold at all (a short answer containing '->')."""
    out = []
    for q in questions:
        if q.type == "text" and any("->" in a for a in q.answer):
            # Moodle reads "=... -> ..." as a matching question, and GIFT has no escape for it.
            raise ValueError(f"question {q.id}: GIFT cannot hold an accepted answer containing '->'")
        lines = [f"// {q.id} ({q.type})"]
        if q.type in ("single", "multiple") and not q.shuffle:
            lines.append("// shuffle: false (GIFT cannot say so; set \"Shuffle the choices\" off in Moodle)")
        head = f"::{escape(q.id)}::[markdown]{escape(q.stem.rstrip())}"
        feedback = f"####{_guard_format(escape(q.explanation.rstrip()))}"
        if q.type == "true_false":
            lines.append(f"{head}{{{'TRUE' if q.answer else 'FALSE'}{feedback}}}")
        else:
            lines.append(head + "{")
            if q.type == "single":
                for c in q.choices:
                    lines.append(f"\t={_guard_format(escape(c.text))}" if c.key == q.answer
                                 else f"\t~{_guard_format(_answer_body(c.text, '0'))}")
            elif q.type == "multiple":
                share = share_of(len(q.answer))
                for c in q.choices:
                    weight = share if c.key in q.answer else "-100"
                    lines.append(f"\t~%{weight}%{_guard_format(escape(c.text))}")
            else:
                for a in q.answer:
                    lines.append(f"\t={_guard_format(_answer_body(a.replace('*', chr(92) + '*'), '100'))}")
            lines.append(f"\t{feedback}")
            lines.append("}")
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"
