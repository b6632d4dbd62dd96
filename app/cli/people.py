"""`cbt staff import` and `cbt affiliations import`: the browser's CSV imports from the command
line (same code: app/people/imports.py), all or nothing. `cbt appointments record`: the
chair's or vice-chair's post when it is empty (a new installation).

Every problem is printed as FILE:LINE: column: message and the exit status is 1; nothing
is written then. --dry-run shows what would change and writes nothing either way."""
from __future__ import annotations

import sys

import click

from scoring.csvtable import CsvImportError

from .base import app_context


def _report_problems(path: str, exc: CsvImportError) -> None:
    for p in exc.problems:
        where = f"{path}:{p.line}: " + (f"{p.column}: " if p.column else "")
        click.echo(where + p.message, err=True)
    n = len(exc.problems)
    click.echo(f"{n} problem{'s' if n != 1 else ''}; nothing imported", err=True)


def _run(path: str, dry_run: bool, plan_fn, apply_fn, key_label: str) -> None:
    from ..extensions import db
    with open(path, "rb") as fh:
        raw = fh.read()
    with app_context():
        try:
            plan = plan_fn(raw)
        except CsvImportError as exc:
            db.session.rollback()
            _report_problems(path, exc)
            sys.exit(1)
        for row in plan.created:
            click.echo(f"{path}:{row.line}: create {key_label} {row.key}")
        for row in plan.updated:
            changes = "; ".join(f"{label}: {old} -> {new}" for label, old, new in plan.shown_changes(row))
            click.echo(f"{path}:{row.line}: update {key_label} {row.key} ({changes})")
        summary = (f"{len(plan.created)} to create, {len(plan.updated)} to update, "
                   f"{len(plan.unchanged)} unchanged")
        if dry_run:
            db.session.rollback()
            click.echo(f"dry run: {summary}; nothing written")
            return
        apply_fn(plan, None, "cli", path)
        db.session.commit()
        click.echo(f"imported: {summary.replace('to create', 'created').replace('to update', 'updated')}")


@click.group("staff")
def staff_group() -> None:
    """Staff records (職員)."""


@staff_group.command("import")
@click.argument("path", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="check the file and show what would change; write nothing")
def staff_import(path: str, dry_run: bool) -> None:
    """Import staff from CSV: staff_number,name_kanji,name_kana,birth_date,post,
    affiliation_code,employment_category[,email]. Existing staff numbers are updated."""
    from scoring.jpdate import to_jst

    from ..models import utcnow
    from ..people.imports import apply_staff_import, plan_staff_import
    today = to_jst(utcnow()).date()
    _run(path, dry_run, lambda raw: plan_staff_import(raw, today), apply_staff_import, "staff")


@click.group("affiliations")
def affiliations_group() -> None:
    """Affiliations (所属)."""


@affiliations_group.command("import")
@click.argument("path", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="check the file and show what would change; write nothing")
def affiliations_import(path: str, dry_run: bool) -> None:
    """Import affiliations from CSV: code,name[,head_username]. Existing codes are updated."""
    from ..people.imports import apply_affiliation_import, plan_affiliation_import
    _run(path, dry_run, plan_affiliation_import, apply_affiliation_import, "affiliation")


@click.group("appointments")
def appointments_group() -> None:
    """Appointments (任命): the chair's and vice-chair's posts."""


@appointments_group.command("record")
@click.argument("username")
@click.argument("post", type=click.Choice(["chair", "vice_chair"]))
@click.option("--note", default="", help="the personnel order or other ground (発令の根拠)")
def appointments_record(username: str, post: str, note: str) -> None:
    """Record USERNAME as the holder of an empty POST: chair (サイバー局長) or vice_chair
    (情報技術戦略課長). A post held already changes hands on the appointments page, recorded
    by the chair or the vice-chair."""
    from sqlalchemy import select

    from ..extensions import db
    from ..models import User
    from ..people.appointments import appoint, current
    from ..people.rules import PeopleError
    with app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"no account {username!r}")
        if current(post):
            raise click.ClickException(f"{post} is held by {current(post)[0].user.username}; "
                                       "the chair or vice-chair records a successor on the appointments page")
        try:
            appoint(user, post, None, note=note or "コマンドラインで記録")
        except PeopleError as exc:
            raise click.ClickException(str(exc)) from None
        db.session.commit()
        click.echo(f"{username} holds {post} from today")
