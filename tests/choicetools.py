"""Responses as the exam page posts them: choices by shown position (1..n), never by key.
Tests think in the bank's keys (the key is what is stored and graded); these turn them
into what a browser sends."""
from __future__ import annotations

from app.extensions import db
from app.models import Attempt


def posted(order, response):
    """A response given in keys as positions in `order` (the keys in shown order), as the
    page posts it (several positions sorted). Anything that is not made of keys of `order`
    (None, booleans, text, malformed input) is sent as it is."""
    if isinstance(response, str) and response in order:
        return list(order).index(response) + 1
    if isinstance(response, (list, tuple)) and response \
            and all(isinstance(k, str) and k in order for k in response):
        return sorted(list(order).index(k) + 1 for k in response)
    return response


def choice_order(app, attempt_id: int, position: int) -> list[str]:
    """The keys of the question at `position` of the attempt, in the order shown."""
    with app.app_context():
        form = db.session.get(Attempt, attempt_id).form
    return list(form[position - 1].get("choice_order", ())) if 1 <= position <= len(form) else []


def posted_for(app, attempt_id: int, position: int, response):
    """`posted` for the question at `position` of the attempt."""
    return posted(choice_order(app, attempt_id, position), response)


def shown_values(order, response):
    """A stored response (keys) as the page's input values: a choice's value is its shown
    position as text; several are sorted as the page's values sort."""
    sent = posted(order, response)
    if sent is response:
        return response
    return str(sent) if isinstance(sent, int) else sorted(str(p) for p in sent)
