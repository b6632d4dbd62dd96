"""`cbt passes import`, `cbt training import`, `cbt register export`: the register's batch
commands. They call the same operations as the web pages (app/register/passes.py,
app/register/training.py), so a file the page refuses the command refuses, with the same
row/column messages, and nothing is written."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from scoring.csvtable import CsvImportError
from scoring.passrules import parse_level

from .base import app_context


def _user(username: str | None, roles: tuple[str, ...], needed: bool):
    """The person the records are attributed to (--by); they must hold one of `roles`."""
    from sqlalchemy import select

    from ..extensions import db
    from ..models import User
    if not username:
        if needed:
            raise click.UsageError("--by USERNAME is required: the records name who made them "
                                   f"(a user with the role {' or '.join(roles)})")
        return None
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.UsageError(f"--by: no user named {username!r}")
    if not user.has_role(*roles):
        raise click.UsageError(f"--by: {username} does not hold the role {' or '.join(roles)}")
    return user


def _report(exc: CsvImportError, path: str) -> None:
    for p in exc.problems:
        click.echo(f"{path}:{p.line}:" + (f" {p.column}:" if p.column else "") + f" {p.message}", err=True)
    click.echo(f"{len(exc.problems)} problem(s); nothing was imported", err=True)


@click.group("passes")
def passes() -> None:
    """Special and transitional passes (特例合格 第3-7, 経過措置 第4)."""


@passes.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="check every row and report; write nothing")
@click.option("--by", "username", default=None, metavar="USERNAME",
              help="user the passes are recorded by (vice_chair or chair; required unless --dry-run)")
def passes_import(file: str, dry_run: bool, username: str | None) -> None:
    """Import special passes from CSV: staff_number,level,source,source_detail,fiscal_year,evidence.

    All rows or none; every problem is printed as FILE:LINE: COLUMN: message."""
    from ..extensions import db
    from ..register import passes as passes_ops
    raw = Path(file).read_bytes()
    with app_context():
        user = _user(username, ("vice_chair", "chair"), needed=not dry_run)
        by = user.id if user else _any_user_id()
        try:
            result = passes_ops.import_special_passes(raw, by, filename=Path(file).name)
        except CsvImportError as exc:
            db.session.rollback()
            _report(exc, file)
            sys.exit(1)
        summary = f"{len(result.records)} special pass(es), {len(result.implied)} deemed lower level(s)"
        if dry_run:
            db.session.rollback()
            click.echo(f"dry run: no problems; importing would record {summary}")
            return
        db.session.commit()
    click.echo(f"imported {summary}")


def _any_user_id() -> int:
    """A dry run still flushes (the same code path, then rolled back) and the rows need a
    recorder: any user will do, since nothing is kept."""
    from sqlalchemy import select

    from ..extensions import db
    from ..models import User
    uid = db.session.scalar(select(User.id).order_by(User.id).limit(1))
    if uid is None:
        raise click.UsageError("the database has no users yet")
    return uid


@click.group("training")
def training() -> None:
    """Periodic training of intermediate passers (定期講習 第3-10)."""


@training.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="check every row and report; write nothing")
@click.option("--by", "username", default=None, metavar="USERNAME",
              help="user the attendance is recorded by (secretariat; required unless --dry-run)")
def training_import(file: str, dry_run: bool, username: str | None) -> None:
    """Import attendance from CSV: staff_number,attended_on,course (all rows or none)."""
    from ..extensions import db
    from ..register import training as training_ops
    raw = Path(file).read_bytes()
    with app_context():
        user = _user(username, ("secretariat",), needed=not dry_run)
        by = user.id if user else _any_user_id()
        try:
            added = training_ops.import_training(raw, by, filename=Path(file).name)
        except CsvImportError as exc:
            db.session.rollback()
            _report(exc, file)
            sys.exit(1)
        if dry_run:
            db.session.rollback()
            click.echo(f"dry run: no problems; importing would record {len(added)} attendance(s)")
            return
        db.session.commit()
    click.echo(f"imported {len(added)} attendance(s)")


@click.group("register")
def register() -> None:
    """The register of passers (合格者名簿, 別表第3)."""


def _level(_ctx, _param, value: str) -> str:
    try:
        return parse_level(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@register.command("export")
@click.option("--level", required=True, callback=_level, help="beginner, intermediate, advanced (or 初級/中級/上級)")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="file to write (default: standard output, csv only)")
def register_export(level: str, fmt: str, out: str | None) -> None:
    """Export one level of the register, with the columns and encoding of the page's
    download (CSV: UTF-8 with BOM, opens in Excel)."""
    if fmt == "xlsx" and not out:
        raise click.UsageError("--format xlsx needs --out FILE (a workbook is not written to a terminal)")
    from scoring.spreadsheet import csv_bytes, xlsx_bytes

    from ..core import audit
    from ..extensions import db
    from ..register import passes as passes_ops
    with app_context():
        rows = passes_ops.register_rows(passes_ops.RegisterFilter(level=level))
        cells = [r.cells() for r in rows]
        if fmt == "csv":
            body = csv_bytes(passes_ops.REGISTER_HEADER, cells)
        else:
            body = xlsx_bytes(passes_ops.REGISTER_HEADER, cells, title="合格者名簿")
        # Personal data leaving the system: on record, as for the page's download.
        audit.record("register_exported", None, format=fmt, rows=len(rows), level=level, via="cli",
                     out=out or "-")
        db.session.commit()
    if out:
        Path(out).write_bytes(body)
        click.echo(f"{len(cells)} row(s) written to {out}", err=True)
    else:
        stream = click.get_binary_stream("stdout")
        stream.write(body)
        stream.flush()
