"""Markdown out as minimal XHTML, for Moodle XML and QTI (see the package's docstring)."""
from __future__ import annotations

import html
import re

from .markdown_in import ASCII_WS

_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")


# (A no-break space after the marker counts too: the import folds it to a space.)
_UL_ITEM = re.compile(r"^ {0,3}[-*+][ \t\xa0]+(.*)$")


_OL_ITEM = re.compile(r"^ {0,3}(\d{1,9})[.)][ \t\xa0]+(.*)$")


_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")


def inline_to_html(text: str, strong: bool = True) -> str:
    """Escape everything; only code spans (and **strong** unless strong=False: choices are
    plain text) are rendered."""
    out, i, n = [], 0, len(text)
    plain_start = 0

    def plain(upto: int) -> None:
        if upto > plain_start:
            escaped = html.escape(text[plain_start:upto], quote=False)
            out.append(_BOLD.sub(r"<strong>\1</strong>", escaped) if strong else escaped)

    while i < n:
        if text[i] == "`":
            j = i
            while j < n and text[j] == "`":
                j += 1
            run = j - i
            close = re.compile(r"(?<!`)`{%d}(?!`)" % run).search(text, j)
            if close:
                plain(i)
                content = text[j:close.start()]
                if len(content) >= 2 and content[0] == " " and content[-1] == " " and content.strip():
                    content = content[1:-1]
                out.append(f"<code>{html.escape(content, quote=False)}</code>")
                i = plain_start = close.end()
                continue
            i = j
            continue
        i += 1
    plain(n)
    return "".join(out)


def markdown_to_html(text: str) -> str:
    lines = (text or "").replace("\r\n", "\n").split("\n")
    parts: list[str] = []
    para: list[str] = []

    def flush() -> None:
        # A block is split into runs: bullet items, numbered items, other lines. A line that
        # follows an item and is no item itself continues that item (CommonMark's lazy
        # continuation), shown on a line of its own.
        run_kind, run = None, []

        def item_html(lines_: list[str]) -> str:
            return "<li>" + "<br/>".join(inline_to_html(x.strip(ASCII_WS)) for x in lines_) + "</li>"

        def emit() -> None:
            if not run:
                return
            if run_kind == "ul":
                parts.append("<ul>" + "".join(item_html(x) for x in run) + "</ul>")
            elif run_kind == "ol":
                first = run[0][0]
                start = "" if first == 1 else f' start="{first}"'
                parts.append(f"<ol{start}>" + "".join(item_html(x) for _, x in run) + "</ol>")
            else:
                rendered = []
                for ln in run:
                    ln = ln.strip(ASCII_WS)
                    if ln.endswith("\\") and not ln.endswith("\\\\"):
                        ln = ln[:-1].rstrip()       # a CommonMark hard break
                    rendered.append(inline_to_html(ln))
                parts.append("<p>" + "<br/>".join(rendered) + "</p>")

        for ln in para:
            # Lines are classified as they read without their indentation, as the import
            # writes them: what goes out as a paragraph comes back as one.
            bare = ln.lstrip(ASCII_WS)
            m_ul, m_ol = _UL_ITEM.match(bare), _OL_ITEM.match(bare)
            kind = "ul" if m_ul else "ol" if m_ol else "p"
            if kind == "p" and run_kind in ("ul", "ol"):
                (run[-1] if run_kind == "ul" else run[-1][1]).append(ln)
                continue
            if kind != run_kind:
                emit()
                run_kind, run = kind, []
            if m_ul:
                run.append([m_ul.group(1)])
            elif m_ol:
                run.append((int(m_ol.group(1)), [m_ol.group(2)]))
            else:
                run.append(ln)
        emit()
        para.clear()

    i = 0
    while i < len(lines):
        ln = lines[i]
        m = _FENCE.match(ln)
        if m and not (m.group(2)[0] == "`" and "`" in m.group(3)):
            flush()
            indent, fence = len(m.group(1)), m.group(2)
            body = []
            i += 1
            while i < len(lines):
                c = re.match(r"^ {0,3}(%s+)\s*$" % re.escape(fence[0]), lines[i])
                if c and len(c.group(1)) >= len(fence):
                    break
                body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i].lstrip())
                i += 1
            parts.append("<pre><code>" + html.escape("\n".join(body), quote=False) + "</code></pre>")
            i += 1
            continue
        if not ln.strip(ASCII_WS):
            flush()
        else:
            para.append(ln)
        i += 1
    flush()
    return "".join(parts)
