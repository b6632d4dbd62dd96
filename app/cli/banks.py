"""`cbt bank validate|load|import|export-qti` and `cbt form draw`: the question banks, for
authors and outside checks (bank-format.md). Validation and draws need no database."""
from __future__ import annotations

import json
import os
import sys

import click

from scoring.assembly import Assembler, AssemblyError, new_seed
from scoring.bank import load_banks, relpath_for_display
from scoring.courses import COURSES_FILE, load_courses
from scoring.keyspread import RULE as KEY_RULE, level_spreads

from .base import app_context, banks_option, main, resolve_banks
from .interop import export_cmd, import_cmd


@main.group()
def bank() -> None:
    """Question banks."""


@bank.command("validate")
@banks_option
def bank_validate(banks: str | None) -> None:
    """Check the blueprint and every bank; one FILE:LINE: message per problem."""
    folder = resolve_banks(banks)
    loaded = load_banks(folder)
    # A training bank's courses file (app/training) is checked against the bank beside it.
    courses = load_courses(folder, loaded) if loaded.blueprint and \
        os.path.exists(os.path.join(folder, COURSES_FILE)) else None
    problems = loaded.problems + (courses.problems if courses else [])
    for p in sorted(problems + loaded.warnings, key=lambda p: (p.file, p.line, p.warning)):
        click.echo(f"{relpath_for_display(p.file)}:{p.line}: "
                   f"{'warning: ' if p.warning else ''}{p.message}")
    if loaded.blueprint:
        counts = {"exam": 0, "practice": 0}
        for q in loaded.questions.values():
            counts[q.pool] += 1
        click.echo("")
        click.echo(f"{len(loaded.questions)} questions ({counts['exam']} exam pool, "
                   f"{counts['practice']} practice pool) in {folder}")
        if loaded.ok:
            click.echo(f"bank version {loaded.version()[:12]}")
        click.echo("")
        click.echo("coverage: quota / approved exam-pool questions available")
        rows = loaded.coverage()
        width = max((len(r[2]) for r in rows), default=10)
        current = None
        for lkey, area, topic, quota, available in rows:
            lv = loaded.blueprint.levels[lkey]
            if lkey != current:
                current = lkey
                note = "" if lv.delivered else "  (not delivered here: quotas not enforced)"
                click.echo(f"{lkey} ({lv.name}): {lv.questions} questions, {lv.minutes} minutes{note}")
            mark = "" if available >= quota else ("  SHORT" if lv.delivered else "  short")
            click.echo(f"  {area:<10} {topic:<{width}} {quota:>4} / {available:<4}{mark}")
        skewed = _echo_key_spread(loaded)
    else:
        skewed = 0
    if courses is not None and courses.courses:
        click.echo("")
        click.echo(f"courses in {COURSES_FILE}:")
        for c in courses.courses.values():
            click.echo(f"  {c.key}: {c.title}, {c.minutes} minutes, "
                       f"modules {', '.join(f'{m.key} ({m.questions})' for m in c.modules)}")
    n, w = len(problems), len(loaded.warnings) + skewed
    click.echo("")
    click.echo(f"{n} problem{'s' if n != 1 else ''}, {w} warning{'s' if w != 1 else ''}")
    sys.exit(1 if n else 0)


def _echo_key_spread(loaded) -> int:
    """The key-spread table after the coverage table; returns how many warnings it printed.
    A warning concerns a level, so it points at the level in blueprint.yaml."""
    click.echo("")
    click.echo("answer keys: approved exam-pool questions right under each choice key (count,")
    click.echo("  its share of the questions / the share expected from the choices offered)")
    bp_path = relpath_for_display(os.path.join(loaded.folder, "blueprint.yaml"))
    warnings = 0
    for lkey, spreads in level_spreads(loaded.blueprint, loaded.questions.values()).items():
        if not spreads:
            continue
        lv = loaded.blueprint.levels[lkey]
        click.echo(f"{lkey} ({lv.name})")
        for s in spreads:
            cells = "  ".join(f"{k.key} {k.correct:>3} ({_pct(k.correct, s.questions)}/"
                              f"{_pct(k.expected, s.questions)})" for k in s.keys)
            click.echo(f"  {s.qtype:<8} {s.questions:>4}:  {cells}")
        for s in spreads:
            for k in s.skewed():
                warnings += 1
                click.echo(f"{bp_path}:{lv.line}: warning: level '{lkey}': key '{k.key}' is right "
                           f"in {k.correct} of {s.questions} {s.qtype}-choice questions, "
                           f"{k.expected:.1f} expected (p = {k.p_value:.1g}); move right answers "
                           f"to other keys")
    click.echo(f"rule: {KEY_RULE}; a warning never changes the exit status")
    return warnings


def _pct(part: float, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "-"


@bank.command("load")
@banks_option
def bank_load(banks: str | None) -> None:
    """Store the banks as a new version (refused whole if any problem)."""
    from ..banks.versions import BankError, import_banks
    from ..db import schema
    from ..extensions import db
    with app_context() as app:
        schema.upgrade()
        try:
            version = import_banks(resolve_banks(banks))
        except BankError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
        db.session.commit()
        click.echo(f"bank version {version.short} ({version.question_count} questions)")


@main.group()
def form() -> None:
    """Exam forms."""


@form.command("draw")
@click.option("--level", required=True, help="beginner, intermediate, advanced (blueprint keys)")
@banks_option
@click.option("--seed", type=int, default=None, help="seed of the first form; form i uses seed+i")
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True)
def form_draw(level: str, banks: str | None, seed: int | None, count: int) -> None:
    """Draw forms exactly as a live session does; one JSON line per form."""
    loaded = load_banks(resolve_banks(banks))
    if not loaded.ok:
        for p in loaded.problems:
            click.echo(f"{relpath_for_display(p.file)}:{p.line}: {p.message}", err=True)
        click.echo("the banks have problems; no form is drawn (run: cbt bank validate)", err=True)
        sys.exit(1)
    try:
        assembler = Assembler(loaded.blueprint, loaded.questions, level)
    except AssemblyError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    version = loaded.version()
    out = sys.stdout
    for i in range(count):
        form_ = assembler.draw(new_seed() if seed is None else seed + i)
        out.write(json.dumps({
            "seed": form_.seed, "level": form_.level, "bank_version": version,
            "items": [{"id": it.id, "area": it.area, "topic": it.topic,
                       "choice_order": list(it.choice_order)} for it in form_.items],
        }, ensure_ascii=False) + "\n")


bank.add_command(import_cmd)
bank.add_command(export_cmd)
