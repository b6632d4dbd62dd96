"""Text as it comes in: blocks and lines cleaned, and HTML turned into the Markdown-ish text
of our banks (see the package's docstring for what maps)."""
from __future__ import annotations

import re
from html.parser import HTMLParser

ASCII_WS = " \t\f\v"


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


_BR = "\x00"            # a line break inside a block, until the block is finished


_BLOCK_TAGS = {"p", "div", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead",
               "tbody", "tfoot", "center", "section", "article", "header", "footer", "hr",
               "dl", "dt", "dd", "figure", "figcaption", "address"}


_SKIP_TAGS = {"script", "style", "head", "title", "template"}


_VOID_TAGS = {"br", "img", "hr", "input", "meta", "link", "wbr", "area", "source", "embed",
              "col", "param", "track"}


def code_span(text: str, avoid: frozenset[int] = frozenset()) -> str:
    """`text` with a fence longer than any run of backticks inside it, and of a length no
    run of backticks in the text around it has (`avoid`): a stray backtick beside the span
    would otherwise close it when the Markdown is read again."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    length = longest + 1
    while length in avoid:
        length += 1
    fence = "`" * length
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_SPAN = re.compile("\x01(\\d+)\x02")


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
        self.spans: list[str] = []                   # the block's code spans (see _flush)
        self.wraps: list[tuple[str, int, str]] = []  # (tag, index in cur, marker or href)
        self.lists: list[list] = []                  # [tag, next number]
        self.cells = 0
        self.issues: list[str] = []

    # blocks
    def _flush(self, next_kind: str = "para") -> None:
        self._close_code()
        text = "".join(self.cur)
        # Code spans wait in the block as placeholders until its text around them is known.
        if self.spans:
            plain = _SPAN.sub("", text)
            avoid = frozenset(len(m) for m in re.findall(r"`+", plain))
            text = _SPAN.sub(lambda m: code_span(self.spans[i], avoid)
                             if (i := int(m.group(1))) < len(self.spans) else m.group(0), text)
        self.cur, self.wraps, self.spans = [], [], []
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
                self.cur.append(f"\x01{len(self.spans)}\x02")
                self.spans.append(text)

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
