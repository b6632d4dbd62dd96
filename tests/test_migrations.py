"""The schema comes from Alembic migrations: they build exactly what the models say, on
SQLite and PostgreSQL, and an upgrade keeps every record."""
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from app import create_app, schema
from app.extensions import db


def make(url, tmp_path):
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "t"},
                      instance_path=str(tmp_path / "instance"))


def test_migrations_build_exactly_the_models(fresh_db_url, tmp_path):
    app = make(fresh_db_url, tmp_path)
    with app.app_context():
        schema.upgrade()
        assert schema.current_revision() == schema.head_revision()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                    db.metadata)
        assert diff == [], f"models and migrations differ; run `cbt db revision -m ...`: {diff}"
        db.session.remove()
        db.engine.dispose()


def test_an_upgrade_keeps_every_record(fresh_db_url, tmp_path):
    app = make(fresh_db_url, tmp_path)
    with app.app_context():
        schema.upgrade("0001")
        db.session.execute(text(
            "INSERT INTO users (id, username, password_hash, display_name, active, created_at) "
            "VALUES (7, 'kept', 'x', '残る人', true, '2025-04-01 00:00:00')"))
        db.session.execute(text("INSERT INTO user_roles (user_id, role) VALUES (7, 'candidate')"))
        db.session.commit()
        schema.upgrade()
        row = db.session.execute(text("SELECT username, display_name FROM users WHERE id = 7")).one()
        assert tuple(row) == ("kept", "残る人")
        assert db.session.execute(text("SELECT count(*) FROM staff")).scalar() == 0   # new table there
        schema.upgrade()                                   # again: nothing to do, nothing lost
        assert db.session.execute(text("SELECT count(*) FROM users")).scalar() == 1
        db.session.remove()
        db.engine.dispose()
