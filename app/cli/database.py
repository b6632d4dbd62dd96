"""`cbt db upgrade|current|revision` and `cbt init-db`: the schema, through the Alembic
migrations in app/db/migrations."""
from __future__ import annotations

import click

from .base import app_context, main


@main.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create or upgrade the schema; every record is kept."""
    from ..db import schema
    from ..extensions import db
    with app_context():
        before = schema.current_revision()
        schema.upgrade(revision)
        after = schema.current_revision()
        shown = db.engine.url.render_as_string(hide_password=True)
    click.echo(f"{shown}: {before or 'empty'} -> {after}")


@db_group.command("current")
def db_current() -> None:
    """Show the schema revision of the database and the newest one the code knows."""
    from ..db import schema
    with app_context():
        click.echo(f"database: {schema.current_revision() or 'empty'}; code: {schema.head_revision()}")


@db_group.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """For developers: write a migration for the models' changes (review it before use)."""
    from ..db import schema
    with app_context():
        schema.autogenerate(message)


@main.command("init-db")
def init_db() -> None:
    """Create the database tables (same as `cbt db upgrade`)."""
    from ..db import schema
    from ..extensions import db
    with app_context():
        schema.upgrade()
        shown = db.engine.url.render_as_string(hide_password=True)
    click.echo(f"database ready: {shown}")
