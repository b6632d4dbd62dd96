"""`cbt stats`: item statistics from a response CSV (candidate,item,choice,correct).

No database or server: the analysis is `scoring.stats`, this is only reading and printing.
"""
from __future__ import annotations

import json
import sys

import click

from scoring.grading import rate_percent_floor
from scoring.stats import BLANK, ResponseFileError, TestReport, analyse, read_responses


@click.command("stats")
@click.option("--responses", "responses", required=True, metavar="FILE",
              type=click.Path(exists=True, dir_okay=False),
              help="CSV with the header candidate,item,choice,correct (correct: 1 or 0; "
                   "choice empty if unanswered)")
@click.option("--json", "as_json", is_flag=True, help="print JSON (full precision) instead of a table")
@click.option("--min-candidates", type=click.IntRange(min=1), default=10, show_default=True,
              help="fewer sheets than this: no statistics, only a note saying so")
@click.option("--choices", default=None, metavar="KEYS",
              help="comma-separated choice keys every item offers (e.g. a,b,c,d), so a "
                   "distractor nobody picked can be flagged")
def stats(responses: str, as_json: bool, min_candidates: int, choices: str | None) -> None:
    """Item statistics: p, discrimination, distractors, KR-20, SEM, exposure, flags."""
    try:
        rows = read_responses(responses)
    except ResponseFileError as exc:
        click.echo(f"{responses}: {exc}", err=True)
        sys.exit(1)
    choices_of = None
    if choices is not None:
        keys = [c.strip() for c in choices.split(",") if c.strip()]
        if not keys:
            raise click.BadParameter("give at least one choice key", param_hint="--choices")
        choices_of = {r.item: keys for r in rows}
    report = analyse(rows, min_candidates=min_candidates, choices_of=choices_of)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2, allow_nan=False))
    else:
        click.echo(render(report))


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render(report: TestReport) -> str:
    """A readable table: test summary, notes, then one block per item."""
    lines = [f"受験者 candidates: {report.n}   問題 items: {report.k}"]
    if report.sufficient:
        lines.append(f"平均 mean: {_num(report.mean, 2)}   標準偏差 sd (population): "
                     f"{_num(report.sd, 2)}   KR-20: {_num(report.kr20)}   SEM: {_num(report.sem, 2)}")
        lines.append(f"合格率 pass rate (70%): {rate_percent_floor(report.passed, report.n)}% "
                     f"({report.passed}/{report.n})")
    if report.notes:
        lines.append("")
        lines.append("注記 notes:")
        lines.extend(f"  - {note}" for note in report.notes)
    width = max([len("item")] + [len(i) for i in report.items])
    lines.append("")
    lines.append(f"{'item':<{width}}  {'shown':>5}  {'p':>6}  {'r_pb':>6}  {'D':>6}  flags")
    for item, s in report.items.items():
        lines.append(f"{item:<{width}}  {s.exposure:>5}  {_num(s.p):>6}  "
                     f"{_num(s.point_biserial):>6}  {_num(s.upper_lower_d):>6}  "
                     f"{'; '.join(s.flags)}")
        cells = []
        for choice, c in s.choice_counts.items():
            mark = "*" if choice in s.keys else ""
            split = "" if c["upper"] is None else f"/{c['upper']}/{c['lower']}"
            cells.append(f"{choice}{mark} {c['all']}{split}")
        if cells:
            legend = "all/upper/lower" if report.sufficient and s.p is not None else "all"
            lines.append(f"{'':<{width}}  choices ({legend}; * key): {'  '.join(cells)}")
    if not report.items:
        lines.append("(no responses)")
    lines.append("")
    lines.append(f"{BLANK} = 無解答 unanswered; r_pb = point-biserial, item against the rest of "
                 f"the test; D = upper 27% minus lower 27%")
    return "\n".join(line.rstrip() for line in lines)
