"""Our questions as Moodle XML (multichoice, truefalse, shortanswer), for Moodle to import."""
from __future__ import annotations

import html
import xml.etree.ElementTree as ET

from scoring.bank import Question

from .markdown_out import markdown_to_html

# Moodle accepts only these grades for an answer; a multiple question's right answers share
# 100% as evenly as this list allows.
MOODLE_FRACTIONS = ["100", "90", "83.33333", "80", "75", "70", "66.66667", "60", "50", "40",
                    "33.33333", "30", "25", "20", "16.66667", "14.28571", "12.5", "11.11111",
                    "10", "5"]


def share_of(n: int) -> str:
    return min(MOODLE_FRACTIONS, key=lambda f: abs(float(f) - 100 / n))


def _text_el(parent: ET.Element, tag: str, text: str, fmt: str | None = "html", **attrs) -> ET.Element:
    el = ET.SubElement(parent, tag, {**({"format": fmt} if fmt else {}), **attrs})
    ET.SubElement(el, "text").text = text
    return el


def _answer(parent: ET.Element, fraction: str, text: str, fmt: str = "html") -> None:
    a = _text_el(parent, "answer", text, fmt, fraction=fraction)
    _text_el(a, "feedback", "", "html")


def export_moodle_xml(questions: list[Question]) -> str:
    """Our questions as a Moodle XML <quiz>: Markdown rendered as HTML (see
    scoring.interop.markdown_to_html); multiple -> multichoice with the right answers
    sharing 100% and the wrong ones -100% (core Moodle has no all-or-nothing multichoice; the
    multichoiceset plugin, read on import, is not assumed on the other side)."""
    root = ET.Element("quiz")
    for q in questions:
        qtype = {"single": "multichoice", "multiple": "multichoice", "true_false": "truefalse",
                 "text": "shortanswer"}[q.type]
        root.append(ET.Comment(f" question: {q.id} "))
        el = ET.SubElement(root, "question", type=qtype)
        _text_el(el, "name", q.id, None)
        _text_el(el, "questiontext", markdown_to_html(q.stem))
        _text_el(el, "generalfeedback", markdown_to_html(q.explanation))
        ET.SubElement(el, "defaultgrade").text = "1"
        ET.SubElement(el, "penalty").text = "0"
        ET.SubElement(el, "hidden").text = "0"
        ET.SubElement(el, "idnumber").text = q.id
        if q.type in ("single", "multiple"):
            ET.SubElement(el, "single").text = "true" if q.type == "single" else "false"
            ET.SubElement(el, "shuffleanswers").text = "1" if q.shuffle else "0"
            ET.SubElement(el, "answernumbering").text = "abc"
            right = {q.answer} if q.type == "single" else set(q.answer)
            share = "100" if q.type == "single" else share_of(len(right))
            wrong = "0" if q.type == "single" else "-100"
            for c in q.choices:
                _answer(el, share if c.key in right else wrong, html.escape(c.text, quote=False))
        elif q.type == "true_false":
            _answer(el, "100" if q.answer else "0", "true", "moodle_auto_format")
            _answer(el, "0" if q.answer else "100", "false", "moodle_auto_format")
        else:
            ET.SubElement(el, "usecase").text = "0"
            for a in q.answer:
                _answer(el, "100", a.replace("*", "\\*"), "moodle_auto_format")
    ET.indent(root, "  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
