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
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from scoring.bank import Choice, Question

__all__ = [
    "Draft", "Message", "ImportResult", "build_questions", "bank_yaml", "choice_keys",
    "html_to_markdown", "html_to_text", "markdown_to_html", "inline_to_html", "clean_block",
    "import_moodle_xml", "export_moodle_xml", "import_gift", "export_gift", "export_qti",
    "IMPORT_FORMATS",
]


# ---- what an import yields -------------------------------------------------------------

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


# ---- text blocks -----------------------------------------------------------------------

_ASCII_WS = " \t\f\v"


def clean_block(text: str) -> str:
    """The form every stem and explanation takes: LF line ends, no white space at line ends
    (leading spaces, 字下げ included, are kept), no blank lines at either end, one final
    newline ("" if there is no text)."""
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


_SPACES = re.compile(r"[ \t\r\n\f\v\xa0]+")


def one_line(text: str) -> str:
    """Runs of ASCII white space and no-break spaces folded to one space, ends trimmed.
    Ideographic spaces (U+3000) inside the text are text in Japanese, never folded."""
    return _SPACES.sub(" ", text).strip()


# ---- HTML -> Markdown-ish text ---------------------------------------------------------

_BR = "\x00"            # a line break inside a block, until the block is finished
_BLOCK_TAGS = {"p", "div", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead",
               "tbody", "tfoot", "center", "section", "article", "header", "footer", "hr",
               "dl", "dt", "dd", "figure", "figcaption", "address"}
_SKIP_TAGS = {"script", "style", "head", "title", "template"}
_VOID_TAGS = {"br", "img", "hr", "input", "meta", "link", "wbr", "area", "source", "embed",
              "col", "param", "track"}


def code_span(text: str) -> str:
    """`text` with a fence longer than any run of backticks inside it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


class _HtmlToMarkdown(HTMLParser):
    def __init__(self, newlines_are_breaks: bool, inline: bool):
        super().__init__(convert_charrefs=True)
        self.breaks = newlines_are_breaks
        self.inline = inline
        self.blocks: list[tuple[str, str]] = []     # (kind, markdown): para | item | row | code
        self.cur: list[str] = []
        self.kind = "para"
        self.skip = 0
        self.pre: list[str] | None = None
        self.pre_depth = 0
        self.code: list[str] | None = None
        self.wraps: list[tuple[str, int, str]] = []  # (tag, index in cur, marker or href)
        self.lists: list[list] = []                  # [tag, next number]
        self.cells = 0
        self.issues: list[str] = []

    # blocks
    def _flush(self, next_kind: str = "para") -> None:
        self._close_code()
        text = "".join(self.cur)
        self.cur, self.wraps = [], []
        kind, self.kind = self.kind, next_kind
        if kind == "item":
            m = re.match(r"( *(?:- |\d+\. ))", text)
            prefix, text = (m.group(1), text[m.end():]) if m else ("", text)
        else:
            prefix = ""
        # Leading ideographic spaces (字下げ) are kept: they are text, not HTML white space.
        lines = [_SPACES.sub(" ", x).strip(" ") for x in text.split(_BR)]
        # Blank lines (two <br>, or an empty line in text whose newlines are breaks) split
        # the block in paragraphs.
        paragraphs, current = [], []
        for ln in lines:
            if ln:
                current.append(ln)
            elif current:
                paragraphs.append(current)
                current = []
        if current:
            paragraphs.append(current)
        for i, para in enumerate(paragraphs):
            body = "\n".join(para)
            if kind == "item" and i == 0:
                # Later lines of an item are indented under its text, as authors write them.
                body = ("\n" + " " * len(prefix)).join(para)
                self.blocks.append(("item", prefix + body))
            else:
                self.blocks.append(("row" if kind == "row" else "para", body))

    def _close_code(self) -> None:
        if self.code is not None:
            text = one_line("".join(self.code))
            self.code = None
            if text:
                self.cur.append(code_span(text))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in _SKIP_TAGS:
            self.skip += 1
            return
        if self.skip:
            return
        if tag == "img":
            self.issues.append(f"an image ({attrs.get('src') or 'no src'})")
            alt = attrs.get("alt")
            if alt:
                self._text(alt)
            return
        if tag in ("object", "embed", "video", "audio", "iframe", "svg", "math"):
            self.issues.append(f"embedded content (<{tag}>)")
            return
        if self.pre is not None:
            if tag == "pre":
                self.pre_depth += 1
            elif tag == "br":
                self.pre.append("\n")
            return
        if tag == "pre":
            self._flush()
            self.pre, self.pre_depth = [], 1
            return
        if tag == "br":
            self._close_code()
            self.cur.append(_BR)
            return
        if tag == "code":
            self._close_code()
            self.code = []
            return
        if tag in ("strong", "b", "em", "i"):
            marker = "" if self.inline else ("**" if tag in ("strong", "b") else "*")
            self.wraps.append((tag, len(self.cur), marker))
            return
        if tag == "a":
            href = attrs.get("href") or ""
            if "@@PLUGINFILE@@" in href:
                self.issues.append(f"a link to an embedded file ({href})")
            self.wraps.append(("a", len(self.cur), href))
            return
        if tag in ("ul", "ol"):
            self._flush()
            start = attrs.get("start") or "1"
            self.lists.append([tag, int(start) if start.isdigit() else 1])
            return
        if tag == "li":
            self._flush("item")
            depth = max(len(self.lists), 1)
            indent = "  " * (depth - 1)
            if self.lists and self.lists[-1][0] == "ol":
                self.cur.append(f"{indent}{self.lists[-1][1]}. ")
                self.lists[-1][1] += 1
            else:
                self.cur.append(f"{indent}- ")
            return
        if tag == "tr":
            self._flush("row")
            self.cells = 0
            return
        if tag in ("td", "th"):
            if self.cells:
                self.cur.append(" | ")
            self.cells += 1
            return
        if tag in _BLOCK_TAGS:
            self._flush()

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if self.pre is not None:
            if tag == "pre":
                self.pre_depth -= 1
                if self.pre_depth == 0:
                    self._end_pre()
            return
        if tag == "code":
            self._close_code()
            return
        if tag in ("strong", "b", "em", "i", "a"):
            self._close_code()
            for i in range(len(self.wraps) - 1, -1, -1):
                if self.wraps[i][0] == tag or (tag in ("b", "strong") and self.wraps[i][0] in ("b", "strong")) \
                        or (tag in ("i", "em") and self.wraps[i][0] in ("i", "em")):
                    _, at, extra = self.wraps.pop(i)
                    self._close_wrap(tag, at, extra)
                    break
            return
        if tag in ("ul", "ol"):
            self._flush()
            if self.lists:
                self.lists.pop()
            self.blocks.append(("end", ""))     # the next list or table starts apart
            return
        if tag == "li" or tag == "tr" or tag in _BLOCK_TAGS:
            self._flush()
            if tag == "table":
                self.blocks.append(("end", ""))

    def _close_wrap(self, tag: str, at: int, extra: str) -> None:
        inner = "".join(self.cur[at:])
        if _BR in inner or not inner.strip():
            return                      # nothing (or several lines) inside: keep it as text
        lead = inner[: len(inner) - len(inner.lstrip())]
        trail = inner[len(inner.rstrip()):]
        core = inner.strip()
        if tag == "a":
            href = extra
            if href and href != core and re.match(r"https?://", href):
                core = f"[{core}]({href})"
        elif extra:
            core = f"{extra}{core}{extra}"
        self.cur[at:] = [lead, core, trail]

    def _end_pre(self) -> None:
        code = "".join(self.pre).replace("\r\n", "\n")
        self.pre = None
        if code.startswith("\n"):
            code = code[1:]
        lines = [ln.rstrip() for ln in code.split("\n")]
        while lines and not lines[-1]:
            lines.pop()
        while lines and not lines[0]:
            lines.pop(0)
        if not lines:
            return
        if self.inline:
            self.cur.append(" ".join(ln.strip() for ln in lines))
            return
        body = "\n".join(lines)
        longest = max((len(m) for m in re.findall(r"^ {0,3}(`{3,})", body, re.M)), default=2)
        fence = "`" * max(3, longest + 1)
        self.blocks.append(("code", f"{fence}\n{body}\n{fence}"))

    def _text(self, data: str) -> None:
        if self.code is not None:
            self.code.append(data)
            return
        data = data.replace("\xa0", " ")
        if self.breaks and not self.inline:
            data = data.replace("\r\n", "\n").replace("\n", _BR)
        self.cur.append(re.sub(r"[ \t\r\n\f\v]+", " ", data))

    def handle_data(self, data):
        if self.skip:
            return
        if self.pre is not None:
            self.pre.append(data)
            return
        self._text(data)

    def result(self) -> str:
        self.close()
        if self.pre is not None:
            self._end_pre()
        self._flush()
        if self.inline:
            return one_line(" ".join(b for k, b in self.blocks if k != "end"))
        out: list[str] = []
        prev = None
        for kind, text in self.blocks:
            if kind == "end":
                prev = None
                continue
            if out:
                # List items and table rows stay together; everything else is a paragraph.
                out.append("\n" if kind == prev and kind in ("item", "row") else "\n\n")
            out.append(text)
            prev = kind
        return clean_block("".join(out))


def html_to_markdown(source: str, *, newlines_are_breaks: bool = False) -> tuple[str, list[str]]:
    """(Markdown-ish text ending in one newline, or ""; what could not be carried)."""
    p = _HtmlToMarkdown(newlines_are_breaks, inline=False)
    p.feed(source or "")
    return p.result(), p.issues


def html_to_text(source: str) -> tuple[str, list[str]]:
    """One line of text for a choice or an accepted answer: tags dropped (code spans kept as
    `...`, the authors' convention in choices), entities decoded, spaces folded."""
    p = _HtmlToMarkdown(False, inline=True)
    p.feed(source or "")
    return p.result(), p.issues


# ---- Markdown -> XHTML (minimal) -------------------------------------------------------

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
            return "<li>" + "<br/>".join(inline_to_html(x.strip(_ASCII_WS)) for x in lines_) + "</li>"

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
                    ln = ln.strip(_ASCII_WS)
                    if ln.endswith("\\") and not ln.endswith("\\\\"):
                        ln = ln[:-1].rstrip()       # a CommonMark hard break
                    rendered.append(inline_to_html(ln))
                parts.append("<p>" + "<br/>".join(rendered) + "</p>")

        for ln in para:
            # Lines are classified as they read without their indentation, as the import
            # writes them: what goes out as a paragraph comes back as one.
            bare = ln.lstrip(_ASCII_WS)
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
        if not ln.strip(_ASCII_WS):
            flush()
        else:
            para.append(ln)
        i += 1
    flush()
    return "".join(parts)


# ---- our YAML --------------------------------------------------------------------------

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


# The formats `cbt bank import` reads; imported at the end (they use the helpers above).
from .gift import export_gift, import_gift  # noqa: E402
from .moodle_xml import export_moodle_xml, import_moodle_xml  # noqa: E402
from .qti import export_qti  # noqa: E402

IMPORT_FORMATS = {"moodle-xml": import_moodle_xml, "gift": import_gift}
