"""The exam page's questions, rendered once and reused.

Rendering 40 questions through the shared template is most of the exam page's cost, and
at a synchronized start 2,000 candidates open it in the same minute. A question's HTML
depends only on the bank version, the question, its choice order, the number of questions
and the answer shown; the position is put in afterwards. So the first page of every
candidate (no answers yet) reuses fragments after the first few hundred pages.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict

from flask import render_template
from markupsafe import Markup

# A placeholder for the position that nothing in a question can contain (YAML text cannot
# hold NUL) and that the template prints unescaped.
_POS = "\x00pos\x00"
_MAX = 20000                      # about 1.5 KB each: at most ~30 MB per process
_cache: OrderedDict[tuple, str] = OrderedDict()
_lock = threading.Lock()


def question_html(version_id: int, it: dict, total: int) -> Markup:
    """shared_question.html for one item of the exam page (position, q, choices, response)."""
    key = (version_id, it["q"].id, total, tuple(c.key for c in it["choices"]),
           json.dumps(it["response"], ensure_ascii=False, sort_keys=True))
    with _lock:
        html = _cache.get(key)
        if html is not None:
            _cache.move_to_end(key)
    if html is None:
        html = render_template("shared_question.html", it=dict(it, position=_POS), q=it["q"],
                               total=total)
        with _lock:
            _cache[key] = html
            if len(_cache) > _MAX:
                _cache.popitem(last=False)
    return Markup(html.replace(_POS, str(it["position"])))
