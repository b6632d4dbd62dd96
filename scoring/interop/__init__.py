"""Interoperability: Moodle XML and GIFT in, our YAML bank format out; Moodle XML, GIFT
and QTI 2.1 out of our banks.

Pure Python, standard library only (besides the project's own `scoring.bank`). An import
is all or nothing: the parsers return drafts and messages; a message that is not a note is
a problem, and a caller must write nothing while there is one.

Text conversion is deliberately small and stable, so that a question that went out and
came back in is the same question:

- HTML -> Markdown-ish text (`html_to_markdown`): paragraphs become blank-line separated
  blocks, `<br>` a new line, `<pre>` a fenced code block, `<code>` a code span,
  `<strong>`/`<b>` `**...**`, `<em>`/`<i>` `*...*`, list items `- ` / `1. ` lines, table
  rows one line with ` | ` between cells, links `[text](url)`; every other tag is dropped
  and its text kept; entities are decoded. Images and embedded files cannot be carried
  and are reported.
- Markdown -> XHTML (`markdown_to_html`): fenced code -> `<pre><code>`, runs of `- ` or
  `1. ` lines -> lists, other blocks -> `<p>` with `<br/>` between lines, code spans ->
  `<code>`, `**...**` -> `<strong>`; everything else is escaped, never interpreted.

The package: model.py (what an import yields), markdown_in.py and markdown_out.py (the text
conversions), yaml_out.py (our bank format written), gift.py, moodle_xml.py, qti.py.
"""
from __future__ import annotations

from .gift import export_gift, import_gift
from .markdown_in import clean_block, html_to_markdown, html_to_text, one_line
from .markdown_out import inline_to_html, markdown_to_html
from .model import Draft, ImportResult, Message, build_questions, choice_keys
from .moodle_xml import import_moodle_xml
from .moodle_xml_out import export_moodle_xml
from .qti import export_qti
from .yaml_out import bank_yaml

__all__ = [
    "Draft", "Message", "ImportResult", "build_questions", "bank_yaml", "choice_keys",
    "html_to_markdown", "html_to_text", "markdown_to_html", "inline_to_html", "clean_block",
    "one_line",
    "import_moodle_xml", "export_moodle_xml", "import_gift", "export_gift", "export_qti",
    "IMPORT_FORMATS",
]


IMPORT_FORMATS = {"moodle-xml": import_moodle_xml, "gift": import_gift}
