"""The database schema is owned by Alembic migrations (app/migrations): every database,
embedded SQLite or PostgreSQL, is created and upgraded the same way, keeping its records."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ..extensions import db

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config(connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(revision: str = "head") -> None:
    """Bring the app's database to `revision` (inside an app context)."""
    with db.engine.begin() as connection:
        command.upgrade(_config(connection), revision)


def current_revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def autogenerate(message: str) -> None:
    """For developers: write a new migration from the difference between models and DB."""
    with db.engine.begin() as connection:
        command.revision(_config(connection), message=message, autogenerate=True)
