"""Alembic environment: runs on the app's own engine, so migrations and the app always
point at the same database (SQLite in instance/ or DATABASE_URL)."""
from alembic import context

from app.extensions import db

target_metadata = db.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `cbt db upgrade` (it supplies the connection)")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place: batch mode rebuilds tables, keeping rows.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
