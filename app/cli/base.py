"""What every `cbt` command shares: the top group, the bank-folder option and an app
context for the commands that need the database. Each command group lives in a module
of its own (app/cli/__init__.py lists them)."""
from __future__ import annotations

import os
from contextlib import contextmanager

import click

from scoring.bank import default_bank_folder

BANKS_HELP = "bank folder holding blueprint.yaml (default: the bundled question_banks/)"


def banks_option(f):
    return click.option("--banks", "banks", type=click.Path(file_okay=False), default=None,
                        help=BANKS_HELP)(f)


def resolve_banks(banks: str | None) -> str:
    return banks or os.environ.get("CBT_BANKS") or str(default_bank_folder())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Cyber response capability certification CBT engine (サイバー対処能力検定)."""


@contextmanager
def app_context():
    """An app context for one command; its connections are closed when it ends."""
    from .. import create_app
    from ..extensions import db
    app = create_app()
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()
