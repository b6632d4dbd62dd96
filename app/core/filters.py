"""Template filters: Japan time, fiscal years with the era, and sanitised Markdown."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

from scoring.jpdate import fiscal_year_label, to_jst
from scoring.text import join_soft_breaks, segment_break

# CommonMark with tables; raw HTML off, and nh3 cleans whatever still gets through.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def _edge(tokens, idx: int, step: int) -> str:
    """The character next to a soft break, on one side: the nearest inline token with text
    (emphasis markers have none), up to the next line break."""
    j = idx + step
    while 0 <= j < len(tokens) and tokens[j].type not in ("softbreak", "hardbreak"):
        if tokens[j].content:
            return tokens[j].content[-1 if step < 0 else 0]
        j += step
    return ""


def _softbreak(self, tokens, idx, options, env) -> str:
    # Every question text on every page (exam, practice, preview, review) is rendered here:
    # the one place where a source line break between Japanese characters stops being a space.
    # Done on Markdown's own soft breaks, so code blocks, lists and emphasis are left as written.
    return "\n" if segment_break(_edge(tokens, idx, -1), _edge(tokens, idx, 1)) else ""


_md.add_render_rule("softbreak", _softbreak)
_ALLOWED_TAGS = {"p", "br", "pre", "code", "em", "strong", "ul", "ol", "li", "blockquote",
                 "table", "thead", "tbody", "tr", "th", "td", "h3", "h4", "hr", "a", "del"}


# Question texts repeat on every exam page (40 stems and their choices per page) and never
# change within a bank version: render each distinct text once per process.
@lru_cache(maxsize=8192)
def render_markdown(text: str) -> Markup:
    return _clean(_md.render(text or ""))


def _clean(html: str) -> Markup:
    return Markup(nh3.clean(html, tags=_ALLOWED_TAGS, attributes={"a": {"href"}, "code": {"class"}},
                            url_schemes={"http", "https"}, link_rel="noopener noreferrer"))


# A document's headings under the page's own (h1 title, h2 sections): "#" and "##" become
# h3, deeper ones h4, so what an author writes as a heading stays one.
_HEADING_TAG = {"h1": "h3", "h2": "h3", "h3": "h4", "h4": "h4", "h5": "h4", "h6": "h4"}


def render_markdown_document(text: str) -> Markup:
    """A longer text with its own headings (a volunteer group's handout)."""
    tokens = _md.parse(text or "")
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = _HEADING_TAG[token.tag]
    return _clean(_md.renderer.render(tokens, _md.options, {}))


_INLINE_TAGS = {"code", "em", "strong", "del"}


@lru_cache(maxsize=16384)
def render_markdown_inline(text: str) -> Markup:
    """Choice texts: inline Markdown only (code, emphasis), no paragraphs or links."""
    return Markup(nh3.clean(_md.renderInline(str(text or "")), tags=_INLINE_TAGS, attributes={}))


def plain_text(text: str) -> str:
    """A question text shown as typed, not rendered (an answer described on a review sheet,
    an export): soft line breaks joined as the Markdown renderer joins them."""
    return join_soft_breaks(str(text or ""))


def jst(value: datetime | None, fmt: str = "%Y年%m月%d日 %H:%M") -> str:
    return "" if value is None else to_jst(value).strftime(fmt)


def register(app) -> None:
    app.jinja_env.filters["jst"] = jst
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["markdown_inline"] = render_markdown_inline
    app.jinja_env.filters["markdown_document"] = render_markdown_document
    app.jinja_env.filters["fiscal_year"] = fiscal_year_label
