"""The schema comes from Alembic migrations: they build exactly what the models say, on
SQLite and PostgreSQL, and an upgrade keeps every record."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app import create_app
from app.db import schema
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


# Rows of every table 0003 rebuilds or points at, as 0002 holds them (explicit ids: on
# PostgreSQL the sequences stay behind, so the later inserts name their ids too).
AT = "'2025-04-01 00:00:00'"
ROWS_0002 = [
    "INSERT INTO users (id, username, password_hash, display_name, active, created_at) "
    f"VALUES (7, 'vc', 'x', '副委員長', true, {AT})",
    "INSERT INTO bank_versions (id, digest, created_at, source, question_count, payload) "
    f"VALUES (1, 'd', {AT}, 's', 1, '{{}}')",
    "INSERT INTO exam_sessions (id, title, level, fiscal_year, opens_at, closes_at, duration_minutes, "
    "question_count, bank_version_id, created_at) VALUES (1, '初級', 'beginner', 2025, '2025-05-01 00:00:00', "
    f"'2025-05-02 00:00:00', 60, 1, 1, {AT})",
    "INSERT INTO attempts (id, session_id, user_id, bank_version_id, level, seed, form_json, started_at, deadline, "
    "last_seq, last_position, submitted_at, correct, total, passed) VALUES (1, 1, 7, 1, 'beginner', 1, '[]', "
    "'2025-05-01 01:00:00', '2025-05-01 02:00:00', 0, 1, '2025-05-01 01:30:00', 1, 1, true)",
    "INSERT INTO staff (id, staff_number, name_kanji, name_kana, birth_date, post, employment_category, user_id, "
    f"created_at, updated_at) VALUES (1, 'S1', '合格 者', 'ごうかく しゃ', '1990-04-01', '巡査', '警察官', 7, {AT}, {AT})",
    "INSERT INTO written_scores (id, session_id, staff_id, score, max_score, entered_by, entered_at) "
    f"VALUES (1, 1, 1, 80, 100, 7, {AT})",
    "INSERT INTO certifications (id, attempt_id, passed, certified_by, certified_at) "
    f"VALUES (1, 1, true, 7, {AT})",
    "INSERT INTO pass_records (id, staff_id, level, fiscal_year, source, attempt_id, recorded_by, recorded_at) "
    f"VALUES (1, 1, 'beginner', 2025, 'exam', 1, 7, {AT})",
    f"INSERT INTO notices (id, pass_record_id, created_at, created_by) VALUES (1, 1, {AT}, 7)",
]
KEPT = {
    "certifications": "SELECT id, attempt_id, passed, certified_by FROM certifications ORDER BY id",
    "pass_records": "SELECT id, staff_id, level, fiscal_year, source, attempt_id, recorded_by FROM pass_records",
    "notices": "SELECT id, pass_record_id, created_by FROM notices",
    "written_scores": "SELECT id, session_id, staff_id, score, max_score FROM written_scores",
}


def _refused(sql):
    with pytest.raises(IntegrityError):
        db.session.execute(text(sql))
        db.session.flush()
    db.session.rollback()


def test_0003_keeps_certifications_and_passes_and_adds_written_ones(fresh_db_url, tmp_path):
    app = make(fresh_db_url, tmp_path)
    with app.app_context():
        schema.upgrade("0002")
        for sql in ROWS_0002:
            db.session.execute(text(sql))
        db.session.commit()
        before = {t: [tuple(r) for r in db.session.execute(text(q))] for t, q in KEPT.items()}
        db.session.rollback()        # end the read: PostgreSQL's ALTER TABLE waits for it
        schema.upgrade("0003")
        after = {t: [tuple(r) for r in db.session.execute(text(q))] for t, q in KEPT.items()}
        assert after == before
        assert db.session.execute(text("SELECT written_score_id FROM certifications")).scalar() is None
        # A certification names exactly one of a CBT sheet and a written score.
        db.session.execute(text("INSERT INTO certifications (id, attempt_id, written_score_id, passed, "
                                f"certified_by, certified_at) VALUES (2, NULL, 1, false, 7, {AT})"))
        db.session.commit()
        _refused("INSERT INTO certifications (id, attempt_id, written_score_id, passed, certified_by, "
                 f"certified_at) VALUES (3, NULL, NULL, true, 7, {AT})")
        _refused("INSERT INTO certifications (id, attempt_id, written_score_id, passed, certified_by, "
                 f"certified_at) VALUES (3, NULL, 1, true, 7, {AT})")               # once per score
        # The rebuilt pass_records table (SQLite) still checks what 0002 checked.
        _refused("INSERT INTO pass_records (id, staff_id, level, fiscal_year, source, recorded_by, "
                 f"recorded_at) VALUES (2, 1, 'expert', 2025, 'exam', 7, {AT})")
        db.session.execute(text("UPDATE pass_records SET written_score_id = 1 WHERE id = 1"))
        db.session.commit()
        assert db.session.execute(text("SELECT count(*) FROM certifications")).scalar() == 2
        db.session.remove()
        db.engine.dispose()
