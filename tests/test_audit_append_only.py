"""The audit log is append-only in the database itself: whoever reaches the database with
the app's own credentials can add to it but not change or remove what is there."""
from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app import create_app
from app.core import audit
from app.db import schema
from app.extensions import db
from app.models import AuditEvent


def count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent))


def refused(app, sql):
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(sql))
        db.session.rollback()


@pytest.mark.parametrize("sql", [
    "UPDATE audit_events SET event = 'login', detail_json = '{}'",
    "UPDATE audit_events SET at = at WHERE id = (SELECT min(id) FROM audit_events)",
    "DELETE FROM audit_events",
    "DELETE FROM audit_events WHERE id = (SELECT max(id) FROM audit_events)",
])
def test_update_and_delete_are_refused_and_change_nothing(app, sql):
    with app.app_context():
        audit.record("login", None)
        db.session.commit()
        before = db.session.execute(select(AuditEvent.id, AuditEvent.event, AuditEvent.at,
                                           AuditEvent.detail_json).order_by(AuditEvent.id)).all()
    assert before
    refused(app, sql)
    with app.app_context():
        after = db.session.execute(select(AuditEvent.id, AuditEvent.event, AuditEvent.at,
                                          AuditEvent.detail_json).order_by(AuditEvent.id)).all()
    assert after == before


def test_truncate_is_refused_on_postgresql(app, pg):
    if not pg:
        pytest.skip("SQLite has no TRUNCATE (DELETE without WHERE is refused above)")
    with app.app_context():
        audit.record("login", None)
        db.session.commit()
    n = count(app)
    refused(app, "TRUNCATE audit_events")
    assert count(app) == n


def test_appending_still_works(app):
    n = count(app)
    with app.app_context():
        audit.record("login", None, note="appended")
        db.session.commit()
    assert count(app) == n + 1


def test_the_migration_adds_the_triggers_and_its_downgrade_removes_them(fresh_db_url, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": fresh_db_url, "SECRET_KEY": "t"},
                     instance_path=str(tmp_path / "instance"))
    with app.app_context():
        schema.upgrade("0004")
        audit.record("login", None)
        db.session.commit()
        db.session.execute(text("UPDATE audit_events SET event = 'before'"))   # 0004 allowed it
        db.session.commit()
        schema.upgrade()
        assert db.session.scalar(select(AuditEvent.event)) == "before"        # kept by 0005
    refused(app, "UPDATE audit_events SET event = 'after'")
    with app.app_context():
        with db.engine.begin() as connection:
            command.downgrade(schema._config(connection), "0004")
        db.session.execute(text("DELETE FROM audit_events"))
        db.session.commit()
        schema.upgrade()
        db.session.remove()
        db.engine.dispose()
