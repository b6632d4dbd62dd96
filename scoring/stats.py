"""Item statistics (classical test theory) over scored sheets: facility, discrimination,
distractors, KR-20 reliability, SEM and exposure, with flags for questions out of bounds.

Plain data in (`Response`, or a response CSV read by `read_responses`), plain data out
(`TestReport`); the `cbt stats` command and the tests use the same code.

Conventions, relied on by `cbt stats` and its tests:

- A candidate's total is the number correct over the items they were shown; an unanswered
  item is wrong. Pass/fail is `grading.passes(total, items shown)`, the 70% rule.
- sd and every variance are population ones (divide by n, not n-1); KR-20 uses the same
  variance, so for a fixed form it is the textbook k/(k-1) * (1 - sum(p*q) / var(total)).
  SEM = sd * sqrt(1 - KR-20).
- p = correct / times shown. Point-biserial is corrected: over the candidates who saw the
  item, the Pearson correlation of the 0/1 item score with (total - item score); None when
  either side does not vary.
- Upper/lower groups: over the candidates who saw the item, g = 27% of them rounded half
  up. Candidates are ranked by total, highest first; equal totals are ordered by candidate
  id (string order, ascending). The upper group is the first g, the lower group the last g:
  at a tied cut the smaller ids enter the upper group and the larger ids the lower group.
  D = (correct in upper - correct in lower) / g.
- Random forms (candidates shown different item sets): everything per item is computed over
  those who saw it, and KR-20 takes k = mean items per candidate and, for sum(p*q), the mean
  over candidates of the p*q of their own items (each item's p over those who saw it). For
  a fixed form this is exactly the textbook formula above.
- Fewer than `min_candidates` sheets: the report says so and every statistic is None
  (counts stay). An item shown to fewer than `min_candidates` gets None and a flag.
- Flags: "p<0.2", "p>0.95"; "negative discrimination" when the point-biserial or D is
  below 0, else "discrimination<0.2" when either is below 0.2 (not for an item everyone got
  right or wrong); "distractor 'x' never chosen" (needs `choices_of`); "exposure<N".
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from . import controlchars
from .csvtable import CELL_MAX
from .grading import passes, rate_percent_floor

COLUMNS = ("candidate", "item", "choice", "correct")
BLANK = "(blank)"                        # choice_counts key of unanswered sheets
GROUP_PERCENT = 27                       # upper/lower groups (Kelley)
P_LOW, P_HIGH = Fraction(1, 5), Fraction(19, 20)
DISCRIMINATION_MIN = Fraction(1, 5)
FEW_FAIL = Fraction(1, 5)                # below this share failing, the mastery note shows


@dataclass(frozen=True)
class Response:
    candidate: str
    item: str
    choice: str | None                   # the key picked; None or "" when unanswered
    correct: bool


@dataclass(frozen=True)
class ItemStats:
    item: str
    n: int                               # times shown (exposure)
    p: float | None
    point_biserial: float | None
    upper_lower_d: float | None
    choice_counts: dict[str, dict[str, int | None]]   # choice -> {"all", "upper", "lower"}
    keys: tuple[str, ...]                # keyed choice(s), given or seen marked correct
    flags: tuple[str, ...]

    @property
    def exposure(self) -> int:
        return self.n

    def to_dict(self) -> dict:
        return {"p": self.p, "point_biserial": self.point_biserial,
                "upper_lower_d": self.upper_lower_d,
                "choice_counts": {c: dict(v) for c, v in self.choice_counts.items()},
                "exposure": self.n, "keys": list(self.keys), "flags": list(self.flags)}


@dataclass(frozen=True)
class TestReport:
    __test__ = False                     # not a pytest test class

    n: int                               # candidates (sheets)
    k: int                               # distinct items
    mean: float | None
    sd: float | None                     # population sd (divide by n)
    kr20: float | None
    sem: float | None
    pass_rate: float | None              # share passing the 70% rule
    passed: int | None
    sufficient: bool
    notes: tuple[str, ...]
    items: dict[str, ItemStats]          # in order of first appearance

    def to_dict(self) -> dict:
        return {
            "test": {"n": self.n, "k": self.k, "mean": self.mean, "sd": self.sd,
                     "kr20": self.kr20, "sem": self.sem, "pass_rate": self.pass_rate,
                     "notes": list(self.notes), "sufficient": self.sufficient},
            "items": {i: s.to_dict() for i, s in self.items.items()},
        }


def _group_size(m: int) -> int:
    return (m * GROUP_PERCENT + 50) // 100       # 27% rounded half up, in integers


def _pearson(pairs: list[tuple[int, int]]) -> float | None:
    """Pearson r from integer sums (exact until the last division); None without variance."""
    m = len(pairs)
    sx = sum(x for x, _ in pairs)
    sy = sum(y for _, y in pairs)
    vx = m * sum(x * x for x, _ in pairs) - sx * sx
    vy = m * sum(y * y for _, y in pairs) - sy * sy
    if vx <= 0 or vy <= 0:
        return None
    return (m * sum(x * y for x, y in pairs) - sx * sy) / math.sqrt(vx * vy)


def analyse(responses: Iterable[Response], *, min_candidates: int = 10,
            key_of: Mapping[str, str] | None = None,
            choices_of: Mapping[str, Sequence[str]] | None = None) -> TestReport:
    """Item and test statistics. `key_of` gives each item's key (default: the choices seen
    marked correct); `choices_of` the choice keys each item offers, without which a
    distractor nobody picked cannot be seen. A repeated (candidate, item) is a ValueError."""
    if min_candidates < 1:
        raise ValueError("min_candidates must be at least 1")
    sheets: dict[str, dict[str, Response]] = {}
    by_item: dict[str, list[Response]] = {}
    for r in responses:
        sheet = sheets.setdefault(r.candidate, {})
        if r.item in sheet:
            raise ValueError(f"duplicate response: candidate {r.candidate!r}, item {r.item!r}")
        sheet[r.item] = r
        by_item.setdefault(r.item, []).append(r)

    n, k = len(sheets), len(by_item)
    sufficient = n >= min_candidates
    total = {c: sum(1 for r in s.values() if r.correct) for c, s in sheets.items()}
    shown = {c: len(s) for c, s in sheets.items()}
    notes: list[str] = []
    if not sufficient:
        notes.append(f"too few candidates (n={n} < {min_candidates}): statistics not meaningful")
    fixed = len({frozenset(s) for s in sheets.values()}) <= 1
    if not fixed:
        notes.append(f"random forms: candidates saw {min(shown.values())}-{max(shown.values())} "
                     f"of {k} items (mean {sum(shown.values()) / n:.1f}); KR-20 uses k = mean "
                     f"items per candidate and each item's p*q over those who saw it")
        if len(set(shown.values())) > 1:
            notes.append("forms differ in length: totals are compared as raw counts")
    if choices_of is None:
        notes.append("choice sets not given: a distractor nobody picked cannot be detected")

    mean = sd = kr20 = sem = pass_rate = None
    passed = None
    if sufficient:
        s1 = sum(total.values())
        s2 = sum(t * t for t in total.values())
        var = Fraction(n * s2 - s1 * s1, n * n)
        mean, sd = s1 / n, math.sqrt(var)
        kbar = Fraction(sum(shown.values()), n)
        # Mean over candidates of the sum of p*q over their own items: item i, shown to m
        # with c correct, adds p*q = c(m-c)/m^2 for each of its m candidates.
        pq = Fraction(0)
        for rs in by_item.values():
            c = sum(1 for r in rs if r.correct)
            pq += Fraction(c * (len(rs) - c), len(rs))
        pq /= n
        if var == 0:
            notes.append("total scores do not vary: KR-20 and SEM undefined")
        elif kbar <= 1:
            notes.append("fewer than two items per candidate: KR-20 and SEM undefined")
        else:
            kr = kbar / (kbar - 1) * (1 - pq / var)
            kr20 = float(kr)
            if kr <= 1:
                sem = math.sqrt(var * (1 - kr))
            else:                        # only possible with random forms
                notes.append("KR-20 above 1 (random forms estimate): SEM undefined")
        passed = sum(1 for c in sheets if passes(total[c], shown[c]))
        pass_rate = passed / n
        fails = n - passed
        if Fraction(fails, n) < FEW_FAIL:
            notes.append(f"few candidates fail the 70% mastery cut ({rate_percent_floor(fails, n)}% "
                         f"fail): discrimination means less")

    order = sorted(sheets, key=lambda c: (-total[c], c))
    rank = {c: i for i, c in enumerate(order)}
    items = {item: _item_stats(item, rs, total, rank, sufficient, min_candidates,
                               key_of, choices_of)
             for item, rs in by_item.items()}
    return TestReport(n, k, mean, sd, kr20, sem, pass_rate, passed, sufficient,
                      tuple(notes), items)


def _item_stats(item, rs, total, rank, sufficient, min_candidates, key_of, choices_of):
    m = len(rs)
    viewers = sorted(rs, key=lambda r: rank[r.candidate])          # best first
    picked = [r.choice or BLANK for r in viewers]
    if key_of is not None and item in key_of:
        keys: tuple[str, ...] = (key_of[item],)
    else:
        keys = tuple(sorted({r.choice for r in rs if r.correct and r.choice}))
    declared = list(choices_of.get(item, ())) if choices_of is not None else []
    seen = set(picked) - {BLANK}
    universe = declared + sorted(seen - set(declared)) + ([BLANK] if BLANK in picked else [])
    stats_ok = sufficient and m >= min_candidates
    counts = {c: {"all": picked.count(c), "upper": None, "lower": None} for c in universe}
    if not stats_ok:
        flags = [f"exposure<{min_candidates}"] if sufficient else []
        return ItemStats(item, m, None, None, None, counts, keys, tuple(flags))

    correct = sum(1 for r in rs if r.correct)
    g = _group_size(m)
    upper, lower = viewers[:g], viewers[m - g:]
    for group, name in ((upper, "upper"), (lower, "lower")):
        for c in universe:
            counts[c][name] = sum(1 for r in group if (r.choice or BLANK) == c)
    spread = sum(1 for r in upper if r.correct) - sum(1 for r in lower if r.correct)
    d = spread / g if g else None
    pb = _pearson([(int(r.correct), total[r.candidate] - int(r.correct)) for r in rs])

    flags = []
    if correct < P_LOW * m:
        flags.append("p<0.2")
    if correct > P_HIGH * m:
        flags.append("p>0.95")
    if 0 < correct < m:                  # everyone right or wrong: the p flag says it all
        if (pb is not None and pb < 0) or (g and spread < 0):
            flags.append("negative discrimination")
        elif (pb is not None and pb < DISCRIMINATION_MIN) or (g and spread < DISCRIMINATION_MIN * g):
            flags.append("discrimination<0.2")
        if pb is None:
            flags.append("discrimination undefined")
    label = "distractor" if keys else "choice"
    for c in universe:
        if c != BLANK and c not in keys and counts[c]["all"] == 0:
            flags.append(f"{label} {c!r} never chosen")
    return ItemStats(item, m, correct / m, pb, d, counts, keys, tuple(flags))


# ---- response files --------------------------------------------------------------------

class ResponseFileError(ValueError):
    """A response CSV that cannot be read; names the line and, when one, the column."""

    def __init__(self, line: int, column: str | None, message: str):
        self.line, self.column, self.message = line, column, message
        where = f"line {line}" + (f", column {column!r}" if column else "")
        super().__init__(f"{where}: {message}")


def parse_responses(text: str) -> list[Response]:
    """CSV with the header candidate,item,choice,correct (any order), one row per candidate
    and item; `correct` 1 or 0, `choice` empty when unanswered. Blank lines are skipped."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise ResponseFileError(1, None, f"empty file: expected the header {','.join(COLUMNS)}")
        names = [h.strip() for h in header]
        for i, name in enumerate(names):
            if name not in COLUMNS:
                raise ResponseFileError(1, name or f"#{i + 1}",
                                        f"unknown column (the header is {','.join(COLUMNS)})")
            if names.index(name) != i:
                raise ResponseFileError(1, name, "column named twice")
        for name in COLUMNS:
            if name not in names:
                raise ResponseFileError(1, name, f"missing column (the header is {','.join(COLUMNS)})")
        at = {name: names.index(name) for name in COLUMNS}
        first_line: dict[tuple[str, str], int] = {}
        graded: dict[tuple[str, str], tuple[str, int]] = {}
        out: list[Response] = []
        end = reader.line_num
        for row in reader:
            line, end = end + 1, reader.line_num
            if not row:
                continue
            if len(row) != len(names):
                raise ResponseFileError(line, None, f"{len(row)} fields, expected {len(names)}")
            for name in COLUMNS:
                problem = _cell_problem(row[at[name]])
                if problem:
                    raise ResponseFileError(line, name, problem)
            cand, item, choice, mark = (row[at[c]].strip() for c in COLUMNS)
            for name, value in (("candidate", cand), ("item", item)):
                if not value:
                    raise ResponseFileError(line, name, "empty")
            if mark not in ("0", "1"):
                raise ResponseFileError(line, "correct", f"must be 1 or 0, got {mark!r}")
            if mark == "1" and not choice:
                raise ResponseFileError(line, "correct", "1 but the choice is empty (unanswered)")
            if (cand, item) in first_line:
                raise ResponseFileError(line, "candidate,item",
                                        f"candidate {cand!r} and item {item!r} already on line "
                                        f"{first_line[cand, item]}")
            first_line[cand, item] = line
            if choice:
                other = graded.setdefault((item, choice), (mark, line))
                if other[0] != mark:
                    raise ResponseFileError(line, "correct",
                                            f"{mark} but item {item!r} choice {choice!r} is "
                                            f"{other[0]} on line {other[1]}")
            out.append(Response(cand, item, choice or None, mark == "1"))
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise ResponseFileError(reader.line_num, None, f"a field is longer than {csv.field_size_limit()} "
                                    f"characters (at most {CELL_MAX})") from None
        raise ResponseFileError(reader.line_num, None, f"malformed CSV: {exc}") from None
    return out


def _cell_problem(cell: str) -> str | None:
    """An id or a key is one short line: the limit and characters of every CSV import."""
    if len(cell) > CELL_MAX:
        return f"{len(cell)} characters, at most {CELL_MAX}"
    at = controlchars.find_forbidden(cell)
    return None if at < 0 else controlchars.message_en(cell[at])


def read_responses(path: str | Path) -> list[Response]:
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ResponseFileError(data[:exc.start].count(b"\n") + 1, None,
                                "not UTF-8 text") from None
    return parse_responses(text)
