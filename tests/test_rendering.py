"""Question Markdown is rendered like the exam shows it, and sanitised."""
import re

import pytest

from app.core.filters import render_markdown


def test_code_blocks_and_emphasis_render():
    html = str(render_markdown("次のログを読め。\n\n```\nGET /index.php?id=1' OR '1'='1 HTTP/1.1\n```\n\n**太字**"))
    assert "<pre><code>GET /index.php?id=1" in html
    assert "<strong>太字</strong>" in html


@pytest.mark.parametrize("payload", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<iframe src=//evil.example></iframe>",
    "<svg onload=alert(1)>",
])
def test_author_markdown_cannot_inject_script(payload):
    html = str(render_markdown(payload)).lower()
    assert "<script" not in html
    assert not re.search(r"<[^>]*\son\w+\s*=", html)        # no event-handler attribute
    assert not re.search(r'<a[^>]*href="?javascript:', html)
    assert "<iframe" not in html and "<svg" not in html and "<img" not in html


def test_choice_text_renders_inline_code_only():
    from app.core.filters import render_markdown_inline
    assert str(render_markdown_inline("`www.example.co.jp` を開く")) == "<code>www.example.co.jp</code> を開く"
    html = str(render_markdown_inline("<b onclick=x>太字</b> [l](javascript:alert(1))"))
    assert "<b" not in html and "<a" not in html and "onclick" not in html.split("&lt;")[0]
