"""Choice positions: what a candidate's browser sends and holds instead of the bank's keys.

A page numbers the choices of a question 1..n in the order the candidate sees them (the
attempt's choice order). The bank's keys stay on the server: in the starter banks `a` was
the answer far more often than its share, and a key in the page would tell anyone who
knew that which choice to pick. The server turns posted positions into keys before it
checks and stores an answer, and stored keys back into positions for the page.
"""
from __future__ import annotations

from .grading import ResponseError

CHOICE_TYPES = ("single", "multiple")


def _index(position, count: int) -> int:
    # bool is an int in Python; JSON true must not pass for choice 1.
    if isinstance(position, bool) or not isinstance(position, int) or not 1 <= position <= count:
        raise ResponseError("選択肢にない解答です。")
    return position - 1


def to_keys(qtype: str, order, raw):
    """A posted response in positions (1..len(order), `order` the keys in shown order) as
    keys, for coerce_response to check. single: one position; multiple: a list of
    positions (a repeated one comes back as a repeated key, which coerce_response
    refuses). Other types, and None, pass unchanged."""
    if raw is None or qtype not in CHOICE_TYPES:
        return raw
    if qtype == "single":
        return order[_index(raw, len(order))]
    if not isinstance(raw, list):
        raise ResponseError("複数選択の解答は選択肢の番号の一覧で送ってください。")
    return [order[_index(p, len(order))] for p in raw]


def to_positions(qtype: str, order, response):
    """A stored response (keys) as the page shows it: single a position, multiple the
    sorted positions (None when none is left). Other types, and None, pass unchanged."""
    if response is None or qtype not in CHOICE_TYPES:
        return response
    where = {key: i for i, key in enumerate(order, start=1)}
    if qtype == "single":
        return where.get(response)
    return sorted(where[k] for k in response if k in where) or None
