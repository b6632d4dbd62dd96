"""Template filters: Japan time, fiscal years with the era, and sanitised Markdown."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

from scoring.jpdate import fiscal_year_label, to_jst

# CommonMark with tables; raw HTML off, and nh3 cleans whatever still gets through.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_ALLOWED_TAGS = {"p", "br", "pre", "code", "em", "strong", "ul", "ol", "li", "blockquote",
                 "table", "thead", "tbody", "tr", "th", "td", "h3", "h4", "hr", "a", "del"}


# Question texts repeat on every exam page (40 stems and their choices per page) and never
# change within a bank version: render each distinct text once per process.
@lru_cache(maxsize=8192)
def render_markdown(text: str) -> Markup:
    html = _md.render(text or "")
    return Markup(nh3.clean(html, tags=_ALLOWED_TAGS, attributes={"a": {"href"}, "code": {"class"}},
                            url_schemes={"http", "https"}, link_rel="noopener noreferrer"))


_INLINE_TAGS = {"code", "em", "strong", "del"}


@lru_cache(maxsize=16384)
def render_markdown_inline(text: str) -> Markup:
    """Choice texts: inline Markdown only (code, emphasis), no paragraphs or links."""
    return Markup(nh3.clean(_md.renderInline(str(text or "")), tags=_INLINE_TAGS, attributes={}))


def jst(value: datetime | None, fmt: str = "%Y年%m月%d日 %H:%M") -> str:
    return "" if value is None else to_jst(value).strftime(fmt)


def register(app) -> None:
    app.jinja_env.filters["jst"] = jst
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["markdown_inline"] = render_markdown_inline
    app.jinja_env.filters["fiscal_year"] = fiscal_year_label
