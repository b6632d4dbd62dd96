"""QTI 2.1 export: an IMS Content Package (zip) with `imsmanifest.xml` and one
`assessmentItem` per question.

- single / multiple: `choiceInteraction` (maxChoices 1 / 0), identifier response with the
  right key(s) as `correctResponse`, scored by the standard `match_correct` template (for
  multiple that is all or nothing, as in the engine).
- true_false: a `choiceInteraction` with the two choices `true` / `false`, never shuffled.
- text: `textEntryInteraction`, string response, `correctResponse` the first accepted
  answer and a `mapping` with every accepted answer (case-insensitive), scored by the
  standard `map_response` template: `match_correct` would accept only the first answer.
  (The engine also folds 全角/半角 and spaces; QTI has no such option.)
- `shuffle` from the question's shuffle flag; stems as XHTML (see markdown_to_html).
The explanation is not exported: QTI's modal feedback needs response processing of its own.
The zip is the same bytes for the same questions (fixed timestamps, stable order).
"""
from __future__ import annotations

import hashlib
import html
import os
import re
import tempfile
import xml.etree.ElementTree as ET
import zipfile

from scoring.bank import Question

from .markdown_out import markdown_to_html

QTI_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
QTI_XSD = "http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd"
CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
CP_XSD = "http://www.imsglobal.org/xsd/qti/qtiv2p1/qtiv2p1_imscpv1p2_v1p0.xsd"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
MATCH_CORRECT = "http://www.imsglobal.org/question/qti_v2p1/rptemplates/match_correct"
MAP_RESPONSE = "http://www.imsglobal.org/question/qti_v2p1/rptemplates/map_response"
TRUE_FALSE_LABELS = (("true", "正しい（○）"), ("false", "誤り（×）"))
_FIXED_TIME = (2000, 1, 1, 0, 0, 0)
_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")


def identifier(value: str, used: set[str], prefix: str) -> str:
    """A QTI identifier (an NCName) for one of our ids or keys; unchanged when it already is."""
    ident = value if _NCNAME.match(value) else prefix + re.sub(r"[^A-Za-z0-9_.-]", "_", value)
    base, n = ident, 2
    while ident in used:
        ident, n = f"{base}_{n}", n + 1
    used.add(ident)
    return ident


def _q(tag: str) -> str:
    # Elements are built without a namespace and the root carries xmlns="..." as a plain
    # attribute: ElementTree cannot write a default namespace next to unqualified attributes.
    return tag


def _sub(parent: ET.Element, tag: str, attrs: dict | None = None, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, _q(tag), attrs or {})
    if text is not None:
        el.text = text
    return el


def _xhtml(tag: str, inner_html: str, attrs: dict | None = None) -> ET.Element:
    """An element holding our XHTML (well-formed: markdown_to_html escapes all text)."""
    el = ET.fromstring(f"<{tag}>{inner_html}</{tag}>")
    for k, v in (attrs or {}).items():
        el.set(k, v)
    return el


def assessment_item(q: Question, ident: str) -> ET.Element:
    item = ET.Element(_q("assessmentItem"), {
        "xmlns": QTI_NS, "xmlns:xsi": XSI_NS, "xsi:schemaLocation": f"{QTI_NS} {QTI_XSD}",
        "identifier": ident, "title": q.id, "adaptive": "false", "timeDependent": "false"})
    body_children: list[ET.Element] = []
    if q.type in ("single", "multiple", "true_false"):
        cardinality = "multiple" if q.type == "multiple" else "single"
        decl = _sub(item, "responseDeclaration", {"identifier": "RESPONSE", "cardinality": cardinality,
                                                  "baseType": "identifier"})
        correct = _sub(decl, "correctResponse")
        if q.type == "true_false":
            choices = list(TRUE_FALSE_LABELS)
            right = ["true" if q.answer else "false"]
            shuffle = False
        else:
            used: set[str] = set()
            keymap = {c.key: identifier(c.key, used, "C_") for c in q.choices}
            choices = [(keymap[c.key], c.text) for c in q.choices]
            right = [keymap[q.answer]] if q.type == "single" else [keymap[k] for k in q.answer]
            shuffle = q.shuffle
        for value in right:
            _sub(correct, "value", text=value)
        interaction = ET.Element(_q("choiceInteraction"), {
            "responseIdentifier": "RESPONSE", "shuffle": "true" if shuffle else "false",
            "maxChoices": "0" if q.type == "multiple" else "1"})
        for cid, text in choices:
            # Choices are plain text in the engine (shown as typed): escaped, not rendered.
            interaction.append(_xhtml("simpleChoice", html.escape(text, quote=False),
                                      {"identifier": cid}))
        body_children.append(interaction)
        template = MATCH_CORRECT
    else:
        decl = _sub(item, "responseDeclaration", {"identifier": "RESPONSE", "cardinality": "single",
                                                  "baseType": "string"})
        correct = _sub(decl, "correctResponse")
        _sub(correct, "value", text=q.answer[0])
        mapping = _sub(decl, "mapping", {"defaultValue": "0", "lowerBound": "0", "upperBound": "1"})
        seen = set()
        for a in q.answer:
            if a.casefold() in seen:
                continue
            seen.add(a.casefold())
            _sub(mapping, "mapEntry", {"mapKey": a, "mappedValue": "1", "caseSensitive": "false"})
        p = ET.Element(_q("p"))
        ET.SubElement(p, _q("textEntryInteraction"), {
            "responseIdentifier": "RESPONSE",
            "expectedLength": str(max(10, min(200, max(len(a) for a in q.answer) + 5)))})
        body_children.append(p)
        template = MAP_RESPONSE
    outcome = _sub(item, "outcomeDeclaration", {"identifier": "SCORE", "cardinality": "single",
                                                "baseType": "float"})
    _sub(_sub(outcome, "defaultValue"), "value", text="0")
    body = _sub(item, "itemBody")
    body.append(_xhtml("div", markdown_to_html(q.stem), {"class": "stem"}))
    for child in body_children:
        body.append(child)
    _sub(item, "responseProcessing", {"template": template})
    return item


def _indent(elem: ET.Element, level: int = 0) -> None:
    """ET.indent, but leaving mixed content (stems, choices) alone: whitespace added inside
    <p> or <pre> would change the text."""
    if not len(elem) or elem.tag in _MIXED:
        return
    inner = "\n" + "  " * (level + 1)
    if not (elem.text or "").strip():
        elem.text = inner
    for child in elem:
        _indent(child, level + 1)
        if not (child.tail or "").strip():
            child.tail = inner
    elem[-1].tail = "\n" + "  " * level


_MIXED = {"div", "p", "pre", "simpleChoice", "prompt"}


def _xml_bytes(root: ET.Element) -> bytes:
    _indent(root)
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            + ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n")


def manifest(entries: list[tuple[str, str, str]]) -> ET.Element:
    """entries: (identifier, href, title)."""
    digest = hashlib.sha256("\n".join(i for i, _, _ in entries).encode()).hexdigest()[:16]
    root = ET.Element("manifest", {
        "xmlns": CP_NS, "xmlns:xsi": XSI_NS, "xsi:schemaLocation": f"{CP_NS} {CP_XSD}",
        "identifier": f"MANIFEST-{digest}"})
    meta = ET.SubElement(root, "metadata")
    ET.SubElement(meta, "schema").text = "QTIv2.1 Package"
    ET.SubElement(meta, "schemaversion").text = "1.0.0"
    ET.SubElement(root, "organizations")
    resources = ET.SubElement(root, "resources")
    for ident, href, _title in entries:
        res = ET.SubElement(resources, "resource",
                            {"identifier": f"RES-{ident}", "type": "imsqti_item_xmlv2p1", "href": href})
        ET.SubElement(res, "file", {"href": href})
    return root


def export_qti(questions, out_zip_path: str | os.PathLike) -> list[tuple[str, str, str]]:
    """Write the package; returns (QTI identifier, file in the zip, our id) per question.
    The file appears whole or not at all (written beside it, then renamed)."""
    used: set[str] = set()
    files: list[tuple[str, bytes]] = []
    entries = []
    for q in sorted(questions, key=lambda q: q.id):
        ident = identifier(q.id, used, "Q_")
        href = f"items/{ident}.xml"
        files.append((href, _xml_bytes(assessment_item(q, ident))))
        entries.append((ident, href, q.id))
    files.insert(0, ("imsmanifest.xml", _xml_bytes(manifest(entries))))
    out = os.fspath(out_zip_path)
    folder = os.path.dirname(os.path.abspath(out))
    fd, tmp = tempfile.mkstemp(prefix=".qti-", suffix=".zip", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in files:
                info = zipfile.ZipInfo(name, _FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return entries
