"""`cbt bank import` (Moodle XML, GIFT -> our YAML) and `cbt bank export-qti` (banks -> a
QTI 2.1 package), under the `bank` group (banks.py). Neither needs the database or the
server.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile

import click
import yaml

from scoring.bank import POOLS, STATUSES, load_banks, relpath_for_display
from scoring.interop import IMPORT_FORMATS, bank_yaml, build_questions, export_qti

from .base import resolve_banks

FORMAT_NAMES = {"moodle-xml": "Moodle XML", "gift": "GIFT"}
EXTENSIONS = {".xml": "moodle-xml", ".gift": "gift", ".txt": "gift"}
_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*\Z")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _write_atomically(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".import-", suffix=".yaml", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _check_written(text: str, questions) -> None:
    """The YAML we wrote must read back as exactly the questions meant (a guard on the
    hand-written emitter: a failure here is a bug, never the user's)."""
    data = yaml.safe_load(text)
    items = data.get("questions") or []
    problems = [] if len(items) == len(questions) else ["question count"]
    for q, d in zip(questions, items):
        merged = {**{k: data[k] for k in ("area", "topic", "levels") if k in data}, **d}
        expected = {"id": q.id, "area": q.area, "topic": q.topic, "levels": list(q.levels),
                    "type": q.type, "pool": q.pool, "status": q.status, "stem": q.stem,
                    "answer": list(q.answer) if q.type in ("multiple", "text") else q.answer,
                    "explanation": q.explanation,
                    "choices": [{"key": c.key, "text": c.text} for c in q.choices],
                    "shuffle": q.shuffle}
        got = {**{k: merged.get(k) for k in expected}, "choices": merged.get("choices", []),
               "shuffle": merged.get("shuffle", True)}
        problems += [f"{q.id} {k}" for k in expected if got[k] != expected[k]]
    if problems:
        raise RuntimeError(f"bug: the YAML written does not read back as imported: {', '.join(problems)}")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(sorted(IMPORT_FORMATS)), default=None,
              help="moodle-xml or gift (default: from the extension: .xml; .gift or .txt)")
@click.option("--prefix", required=True, help="ids become PREFIX-0001, PREFIX-0002, ...")
@click.option("--start", type=click.IntRange(min=0), default=1, show_default=True,
              help="number of the first id")
@click.option("--area", required=True, help="blueprint area of every imported question")
@click.option("--topic", required=True, help="blueprint topic of every imported question")
@click.option("--levels", required=True, help="comma-separated levels, e.g. beginner,intermediate")
@click.option("--pool", type=click.Choice(POOLS), default="exam", show_default=True)
@click.option("--status", type=click.Choice(STATUSES), default="draft", show_default=True,
              help="draft (the default) is never drawn until a reviewer approves it")
@click.option("--explanation-placeholder", "placeholder", metavar="TEXT", default=None,
              help="explanation for questions without general feedback (else each is a problem)")
@click.option("--out", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              show_default=True, help="YAML bank file to write (- for standard output)")
@click.option("--force", is_flag=True, help="overwrite --out if it exists")
@click.option("--banks", type=click.Path(file_okay=False), default=None,
              help="bank folder whose blueprint and ids the import is checked against "
                   "(default: as `cbt bank validate`)")
def import_cmd(file, fmt, prefix, start, area, topic, levels, pool, status, placeholder, out,
               force, banks) -> None:
    """Import Moodle XML or GIFT questions as a YAML bank file.

    What maps is kept and what is lost is reported as a note; a question that cannot be
    mapped is a problem (SOURCE:LINE: question 'NAME': reason), and any problem means exit
    status 1 and nothing written."""
    if fmt is None:
        fmt = EXTENSIONS.get(os.path.splitext(file)[1].lower())
        if fmt is None:
            raise click.UsageError("cannot tell the format from the file name: give --format "
                                   "moodle-xml or --format gift")
    if not _PREFIX.match(prefix):
        raise click.BadParameter("letters, digits, _ and -, starting with a letter (e.g. LOG)",
                                 param_hint="--prefix")
    level_list = [x.strip() for x in levels.split(",") if x.strip()]
    if not level_list:
        raise click.BadParameter("at least one level", param_hint="--levels")
    if out != "-" and os.path.exists(out) and not force:
        click.echo(f"error: {out} exists; give --force to overwrite it (nothing written)", err=True)
        sys.exit(1)
    if out != "-" and not os.path.isdir(os.path.dirname(os.path.abspath(out))):
        click.echo(f"error: the folder of {out} does not exist (nothing written)", err=True)
        sys.exit(1)

    source = relpath_for_display(file)
    with open(file, "rb") as fh:
        data = fh.read()
    result = IMPORT_FORMATS[fmt](data, source)
    questions, extra = build_questions(
        result, prefix=prefix, start=start, area=area, topic=topic, levels=level_list, pool=pool,
        status=status, explanation_placeholder=placeholder)
    messages = sorted(result.messages + extra, key=lambda m: (m.line, m.note))
    errors = _check_against_banks(resolve_banks(banks), area, topic, level_list, questions, out)

    for m in messages:
        click.echo(m.format(source), err=True)
    for e in errors:
        click.echo(f"error: {e}", err=True)
    problems = [m for m in messages if not m.note]
    notes = len(messages) - len(problems)
    if not questions and not problems and not errors:
        errors.append("no question found")
        click.echo(f"error: {source}: no question found", err=True)
    if problems or errors:
        if any(m.text.startswith("no general feedback") for m in problems):
            click.echo("hint: --explanation-placeholder TEXT imports questions without general "
                       "feedback with TEXT as their explanation (to be rewritten in review)", err=True)
        click.echo(f"{_plural(len(problems) + len(errors), 'problem')}, {_plural(notes, 'note')}; "
                   "nothing written", err=True)
        sys.exit(1)

    comments = {}
    for q, d in zip(questions, result.drafts):
        lines = [f"{FORMAT_NAMES[fmt]} question '{d.name}' ({source}:{d.line})"]
        lines += [f"note: {m.text}" for m in messages if m.note and (m.line, m.name) == (d.line, d.name)]
        comments[q.id] = lines
    header = [f"Imported from {os.path.basename(file)} ({FORMAT_NAMES[fmt]}) by `cbt bank import`.",
              f"Status {status}: review each question (and the notes), then set status: approved."
              if status == "draft" else f"Status {status}."]
    text = bank_yaml(questions, header=header, comments=comments)
    _check_written(text, questions)
    if out == "-":
        click.echo(text, nl=False)
    else:
        _write_atomically(out, text)
    click.echo(f"{_plural(len(questions), 'question')} imported ({questions[0].id} .. "
               f"{questions[-1].id}, status {status}) "
               f"{'to standard output' if out == '-' else 'to ' + out}; {_plural(notes, 'note')}",
               err=True)


def _check_against_banks(folder: str, area: str, topic: str, levels: list[str], questions,
                         out: str) -> list[str]:
    """The options must name the blueprint's area, topic and levels, and the new ids must be
    free (ids already in --out itself do not count: it is about to be replaced)."""
    loaded = load_banks(folder)
    bp = loaded.blueprint
    if bp is None:
        return [f"{relpath_for_display(p.file)}:{p.line}: {p.message}" for p in loaded.problems] + \
               [f"no usable blueprint in {folder} to check --area/--topic/--levels against"]
    errors = []
    if area not in bp.areas:
        errors.append(f"--area '{area}' is not in the blueprint (areas: {', '.join(bp.areas)})")
    elif topic not in bp.areas[area].topics:
        errors.append(f"--topic '{topic}' is not a topic of area '{area}' "
                      f"(topics: {', '.join(bp.areas[area].topics)})")
    for lv in levels:
        if lv not in bp.levels:
            errors.append(f"--levels: unknown level '{lv}' (levels: {', '.join(bp.levels)})")
        elif topic in bp.topics and topic not in bp.levels[lv].topics:
            errors.append(f"--levels: topic '{topic}' is not in the scope of level '{lv}'; "
                          "the questions would never be drawn there")
    for q in questions:
        other = loaded.questions.get(q.id)
        if other is not None and not (out != "-" and _same_file(other.file, out)):
            errors.append(f"id {q.id} is already used at {relpath_for_display(other.file)}:"
                          f"{other.line} (choose another --prefix or --start)")
    return errors


@click.command("export-qti")
@click.option("--banks", type=click.Path(file_okay=False), default=None,
              help="bank folder holding blueprint.yaml (default: as `cbt bank validate`)")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="FILE.zip to write")
@click.option("--pool", type=click.Choice(["exam", "practice", "all"]), default="all",
              show_default=True)
@click.option("--status", type=click.Choice(["approved", "all"]), default="approved",
              show_default=True)
def export_cmd(banks, out, pool, status) -> None:
    """Export the banks as a QTI 2.1 content package (imsmanifest.xml + one item per question).

    Refused, with the problems, if the banks do not validate."""
    folder = resolve_banks(banks)
    loaded = load_banks(folder)
    if not loaded.ok:
        for p in loaded.problems:
            click.echo(f"{relpath_for_display(p.file)}:{p.line}: {p.message}", err=True)
        click.echo("the banks have problems; nothing exported (run: cbt bank validate)", err=True)
        sys.exit(1)
    chosen = [q for q in loaded.questions.values()
              if (pool == "all" or q.pool == pool) and (status == "all" or q.status == status)]
    if not chosen:
        click.echo(f"no question in {folder} is {pool if pool != 'all' else 'in any pool'} "
                   f"with status {status}; nothing exported", err=True)
        sys.exit(1)
    export_qti(chosen, out)
    click.echo(f"{_plural(len(chosen), 'question')} exported to {out} (QTI 2.1 package, "
               f"bank version {loaded.version()[:12]})")
