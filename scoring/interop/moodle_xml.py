"""Moodle XML (https://docs.moodle.org/en/Moodle_XML_format) in (out: moodle_xml_out.py).

Reading: parsed with `xml.parsers.expat` directly, building an ElementTree and keeping the
line of every element (ElementTree gives none). `defusedxml` is not a dependency, so the
parser refuses any DOCTYPE, entity declaration or external entity itself, from expat's own
handlers, before anything could be expanded; Moodle never writes them.

What maps: multichoice (single -> single, several -> multiple), multichoiceset (the
all-or-nothing plugin) -> multiple, truefalse -> true_false, shortanswer -> text, numerical
with tolerance 0 -> text. What does not (essay, matching, Cloze, description, calculated,
drag and drop, random, numerical with a tolerance, ...) is a problem naming the question and
the reason. What is lost on the way (partial credit, per-answer feedback, hints,
case-sensitive matching, ...) is a note.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.parsers import expat

from scoring.bank import Choice
from scoring.grading import normalize_text

from .markdown_in import clean_block, html_to_markdown, html_to_text, one_line
from .model import Draft, ImportResult, Message, QuestionReport, choice_keys

UNMAPPABLE = {
    "essay": "an essay question is marked by hand; the engine grades single, multiple, "
             "true_false and text questions only",
    "matching": "a matching question has no equivalent in the bank format",
    "match": "a matching question has no equivalent in the bank format",
    "randomsamatch": "a random short-answer matching question has no equivalent in the bank format",
    "multianswer": "an embedded answers (Cloze) question has no equivalent in the bank format",
    "cloze": "an embedded answers (Cloze) question has no equivalent in the bank format",
    "description": "a description is not a question (it has no answer)",
    "calculated": "a calculated question draws random values; the bank format has fixed answers",
    "calculatedsimple": "a calculated question draws random values; the bank format has fixed answers",
    "calculatedmulti": "a calculated question draws random values; the bank format has fixed answers",
    "ddwtos": "a drag-and-drop into text question has no equivalent in the bank format",
    "gapselect": "a select-missing-words question has no equivalent in the bank format",
    "ddimageortext": "a drag-and-drop onto image question has no equivalent in the bank format",
    "ddmarker": "a drag-and-drop markers question has no equivalent in the bank format",
    "random": "a random question stands for a Moodle category; import that category's questions",
}


DEFAULT_FEEDBACK = {"", "your answer is correct.", "your answer is partially correct.",
                    "your answer is incorrect."}


class XmlRefused(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message


def parse_with_lines(data: bytes) -> tuple[ET.Element, dict[ET.Element, int]]:
    """An ElementTree and the start line of each element. Raises XmlRefused for a DOCTYPE,
    an entity declaration or an external entity, and expat.ExpatError for bad XML."""
    builder = ET.TreeBuilder()
    lines: dict[ET.Element, int] = {}
    parser = expat.ParserCreate()
    parser.buffer_text = True

    def start(tag, attrs):
        lines[builder.start(tag, attrs)] = parser.CurrentLineNumber

    def refuse(what):
        def handler(*_args):
            raise XmlRefused(parser.CurrentLineNumber, f"{what} refused: Moodle XML has none, "
                             "and it could make the parser expand or fetch entities")
        return handler

    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse("a DOCTYPE declaration")
    parser.EntityDeclHandler = refuse("an ENTITY declaration")
    parser.UnparsedEntityDeclHandler = refuse("an ENTITY declaration")
    parser.ExternalEntityRefHandler = refuse("an external entity")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.Parse(data, True)
    return builder.close(), lines


def _raw(el: ET.Element | None) -> str:
    """The text of a <text> element; markup written inside it without CDATA is kept as markup."""
    if el is None:
        return ""
    return (el.text or "") + "".join(ET.tostring(c, encoding="unicode") for c in el)


def _field(q: ET.Element, tag: str) -> ET.Element | None:
    return q.find(tag)


def _format(el: ET.Element | None, default: str) -> str:
    return ((el.get("format") if el is not None else None) or default).strip().lower()


def _block(el: ET.Element | None, rep: QuestionReport, what: str, default_format: str = "html") -> str:
    """A questiontext/generalfeedback element -> cleaned Markdown-ish text ("" if none)."""
    if el is None:
        return ""
    fmt = _format(el, default_format)
    raw = _raw(el.find("text"))
    if el.find("file") is not None:
        names = ", ".join(f.get("name") or "?" for f in el.findall("file"))
        rep.problem(f"the {what} embeds files ({names}), which a bank question cannot hold")
    if fmt in ("markdown", "plain_text"):
        return clean_block(raw)
    if fmt not in ("html", "moodle_auto_format"):
        rep.note(f"the {what} has text format '{fmt}'; read as HTML")
    text, issues = html_to_markdown(raw, newlines_are_breaks=(fmt == "moodle_auto_format"))
    for issue in issues:
        rep.problem(f"the {what} has {issue}, which a bank question cannot hold")
    if "@@PLUGINFILE@@" in raw and not issues:
        rep.problem(f"the {what} refers to an embedded file (@@PLUGINFILE@@), which a bank "
                    "question cannot hold")
    return text


def _choice_text(answer: ET.Element, rep: QuestionReport, n: int, default_format: str) -> str:
    fmt = _format(answer, default_format)
    raw = _raw(answer.find("text"))
    if fmt in ("markdown", "plain_text"):
        return one_line(raw)
    text, issues = html_to_text(raw)
    for issue in issues:
        rep.problem(f"answer {n} has {issue}, which a choice cannot hold")
    return text


def _fraction(answer: ET.Element, rep: QuestionReport, n: int) -> float:
    raw = (answer.get("fraction") or "0").strip()
    try:
        return float(raw)
    except ValueError:
        rep.problem(f"answer {n} has fraction '{raw}', which is not a number")
        return 0.0


def _is_full(f: float) -> bool:
    return abs(f - 100) < 1e-6


def _pct(f: float) -> str:
    return f"{f:.10g}%"


def _flag(q: ET.Element, tag: str, default: bool) -> bool:
    raw = (q.findtext(tag) or "").strip().lower()
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("0", "false", "no"):
        return False
    return default


def _plain_answer(raw: str) -> str:
    return one_line(raw)


def _shortanswer_text(raw: str, rep: QuestionReport, n: int) -> str | None:
    """Moodle's `*` is a wildcard and `\\*` a literal star; the engine compares exactly."""
    text = _plain_answer(raw)
    if re.search(r"(?<!\\)\*", text):
        rep.problem(f"accepted answer {n} '{text}' uses the * wildcard; text answers here "
                    "are compared exactly")
        return None
    return text.replace("\\*", "*")


def _dropped_feedback(q: ET.Element, answers: list[ET.Element], rep: QuestionReport) -> None:
    with_feedback = sum(1 for a in answers if one_line(html_to_text(_raw(a.find("feedback/text")))[0]))
    if with_feedback:
        rep.note(f"per-answer feedback dropped ({with_feedback} answer{'s' if with_feedback > 1 else ''}); "
                 "only the general feedback is kept, as the explanation")
    hints = sum(1 for h in q.findall("hint") if one_line(html_to_text(_raw(h.find("text")))[0]))
    if hints:
        rep.note(f"{hints} hint{'s' if hints > 1 else ''} dropped (the exam gives none)")
    combined = [tag for tag in ("correctfeedback", "partiallycorrectfeedback", "incorrectfeedback")
                if one_line(html_to_text(_raw(q.find(f"{tag}/text")))[0]).lower() not in DEFAULT_FEEDBACK]
    if combined:
        rep.note(f"{', '.join(combined)} dropped")
    grade = (q.findtext("defaultgrade") or "1").strip()
    try:
        if abs(float(grade) - 1) > 1e-9:
            rep.note(f"worth {float(grade):g} marks in Moodle; every question counts one here")
    except ValueError:
        pass


def _choices(q, rep, d: dict) -> list[tuple[int, ET.Element, float]] | None:
    """Sets the choices of a multichoice or multichoiceset question; returns (number in the
    source, element, fraction) of each answer kept, or None if the question cannot map.
    Moodle drops an answer with no text when it saves the question, so it is dropped here too."""
    kept, choices = [], []
    for n, a in enumerate(q.findall("answer"), 1):
        f = _fraction(a, rep, n)
        if not _raw(a.find("text")).strip():
            lost = ([f"its fraction {_pct(f)}"] if f else []) \
                + (["its feedback"] if one_line(html_to_text(_raw(a.find("feedback/text")))[0]) else [])
            if lost:
                rep.note(f"answer {n} has no text and is dropped, as Moodle drops it (with "
                         f"{' and '.join(lost)})")
            continue
        kept.append((n, a, f))
    if len(kept) < 2:
        rep.problem(f"a multiple choice question needs at least two answers (it has {len(kept)})")
        return None
    for key, (n, a, _) in zip(choice_keys(len(kept)), kept):
        # An answer without a format has the question text's, as in Moodle.
        text = _choice_text(a, rep, n, d["format"])
        if not text:
            rep.problem(f"answer {n} has no text")
        choices.append(Choice(key, text))
    d["choices"] = tuple(choices)
    d["shuffle"] = _flag(q, "shuffleanswers", True)
    return kept


def _multichoice(q, rep, d: dict) -> None:
    kept = _choices(q, rep, d)
    if kept is None:
        return
    keys = [c.key for c in d["choices"]]
    fractions = [f for _, _, f in kept]
    single = _flag(q, "single", True)
    if single:
        full = [i for i, f in enumerate(fractions) if _is_full(f)]
        if not full:
            best = max(fractions)
            rep.problem("no answer is worth 100%" + (f" (the best is {_pct(best)})" if best > 0 else "")
                        + "; a single question needs exactly one right answer")
            return
        if len(full) > 1:
            rep.problem(f"{len(full)} answers are worth 100% (answers "
                        f"{', '.join(str(kept[i][0]) for i in full)}); a single question has exactly "
                        "one right answer")
            return
        partial = [f"answer {n} ({_pct(f)})" for n, _, f in kept if 0 < f < 100]
        if partial:
            rep.note(f"partial credit dropped for {', '.join(partial)}: only the 100% answer scores")
        d["type"], d["answer"] = "single", keys[full[0]]
    else:
        right = [i for i, f in enumerate(fractions) if f > 0]
        if not right:
            rep.problem("no answer has a positive fraction, so none is right")
            return
        if len(right) > 1 or not _is_full(fractions[right[0]]):
            rep.note("partial credit (" + ", ".join(_pct(fractions[i]) for i in right)
                     + ") becomes all or nothing: a candidate must choose exactly answers "
                     + ", ".join(str(kept[i][0]) for i in right))
        d["type"], d["answer"] = "multiple", tuple(sorted(keys[i] for i in right))


def _multichoiceset(q, rep, d: dict) -> None:
    """The multichoiceset plugin's all-or-nothing multiple choice is exactly `multiple`. As the
    plugin reads its XML, an answer is right when its fraction is positive, whatever its value,
    or when its <correctanswer> (written by old versions) is neither empty nor 0."""
    kept = _choices(q, rep, d)
    if kept is None:
        return
    right = []
    for key, (_, a, f) in zip((c.key for c in d["choices"]), kept):
        old = a.findtext("correctanswer")
        if f > 0 if old is None else old.strip() not in ("", "0"):
            right.append(key)
    if not right:
        rep.problem("no answer has a positive fraction, so none is right")
        return
    d["type"], d["answer"] = "multiple", tuple(right)


def _truefalse(q, rep, d: dict) -> None:
    answers = q.findall("answer")
    right = None
    for n, a in enumerate(answers, 1):
        text = _plain_answer(_raw(a.find("text"))).lower()
        if text not in ("true", "false"):
            rep.problem(f"answer {n} of a true/false question reads '{text}', not true or false")
            return
        if _is_full(_fraction(a, rep, n)):
            if right is not None:
                rep.problem("both true and false are worth 100%")
                return
            right = text == "true"
    if right is None:
        rep.problem("neither true nor false is worth 100%")
        return
    d["type"], d["answer"] = "true_false", right


def _accepted(q, rep, d: dict, numerical: bool) -> None:
    accepted, dropped = [], []
    for n, a in enumerate(q.findall("answer"), 1):
        f = _fraction(a, rep, n)
        raw = _raw(a.find("text"))
        if not _is_full(f):
            if f > 0 or _plain_answer(raw) not in ("", "*"):
                dropped.append(f"'{_plain_answer(raw)}' ({_pct(f)})")
            continue
        if numerical:
            text = _plain_answer(raw)
            if text == "*":
                rep.problem("the 100% answer is * (any number); a text answer needs the exact value")
                continue
            tol_raw = (a.findtext("tolerance") or "0").strip() or "0"
            try:
                tol = float(tol_raw)
            except ValueError:
                tol = None
            if tol != 0:
                rep.problem(f"accepts {text} ± {tol_raw}; a text answer is matched exactly, so only "
                            "a tolerance of 0 maps")
                continue
        else:
            text = _shortanswer_text(raw, rep, n)
            if text is None:
                continue
        if not normalize_text(text):
            rep.problem(f"accepted answer {n} is empty")
            continue
        accepted.append(text)
    if not accepted and not rep.failed:
        rep.problem("no answer is worth 100%")
        return
    if dropped:
        rep.note(f"answers worth less than 100% dropped: {', '.join(dropped)}; only "
                 + ", ".join(f"'{a}'" for a in accepted) + " scores")
    if numerical:
        rep.note("a numerical answer becomes a text answer: it must be typed exactly as "
                 + " or ".join(f"'{a}'" for a in accepted)
                 + " (another spelling of the same number, such as a trailing .0, does not match)")
        if any(one_line(u.findtext("unit") or "") for u in q.findall("units/unit")):
            rep.note("units dropped: the candidate types the number alone")
    elif _flag(q, "usecase", False):
        rep.note("case-sensitive matching becomes case-insensitive (answers here are compared "
                 "after NFKC and case folding)")
    d["type"], d["answer"] = "text", tuple(dict.fromkeys(accepted))


MAPPERS = {"multichoice": _multichoice, "multichoiceset": _multichoiceset, "truefalse": _truefalse,
           "shortanswer": lambda q, rep, d: _accepted(q, rep, d, False),
           "numerical": lambda q, rep, d: _accepted(q, rep, d, True)}


def import_moodle_xml(data: bytes | str, source: str) -> ImportResult:
    """Every question of a Moodle XML file: drafts for those that map, a problem for each
    that does not (naming the question and the reason), notes for what is lost."""
    result = ImportResult(source, "moodle-xml")
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        root, lines = parse_with_lines(data)
    except XmlRefused as exc:
        result.messages.append(Message(exc.line, None, exc.message))
        return result
    except expat.ExpatError as exc:
        result.messages.append(Message(exc.lineno, None, f"XML syntax error: {expat.errors.messages[exc.code]}"))
        return result
    if root.tag != "quiz":
        result.messages.append(Message(lines.get(root, 1), None,
                                       f"the root element is <{root.tag}>, not <quiz>: not Moodle XML"))
        return result
    for n, q in enumerate(root, 1):
        line = lines.get(q, 0)
        if q.tag != "question":
            result.messages.append(Message(line, None, f"unexpected <{q.tag}> in <quiz>; ignored", True))
            continue
        qtype = (q.get("type") or "").strip().lower()
        if qtype == "category":
            continue
        name = one_line(html_to_text(_raw(q.find("name/text")))[0]) or f"#{n}"
        rep = QuestionReport(result, line, name)
        if qtype in UNMAPPABLE:
            rep.problem(f"type '{qtype}': {UNMAPPABLE[qtype]}")
            continue
        if qtype not in MAPPERS:
            rep.problem(f"type '{qtype or '(none)'}' has no equivalent in the bank format")
            continue
        text_format = _format(_field(q, "questiontext"), "html")
        d: dict = {"choices": (), "shuffle": True, "format": text_format}
        stem = _block(_field(q, "questiontext"), rep, "question text")
        image = (q.findtext("image") or "").strip()
        if image and (q.findtext("image_base64") or "").strip():
            # Moodle 1.9's image field: Moodle adds the image at the end of the question text.
            rep.problem(f"the question text has an image ({image}, in Moodle 1.9's <image> field), "
                        "which a bank question cannot hold")
        if not stem and not rep.failed:
            rep.problem("the question text is empty")
        explanation = _block(_field(q, "generalfeedback"), rep, "general feedback", text_format)
        MAPPERS[qtype](q, rep, d)
        _dropped_feedback(q, q.findall("answer"), rep)
        rep.finish()
        if rep.failed:
            continue
        result.drafts.append(Draft(name, line, d["type"], stem, d["choices"], d["answer"],
                                   explanation or None, d["shuffle"]))
    return result
