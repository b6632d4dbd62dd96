"""certifying written-only results: a certification or pass record may name a written score

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 13:54:11.438940
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

ORIGIN = '(attempt_id IS NULL) <> (written_score_id IS NULL)'


def upgrade() -> None:
    # Batch mode: SQLite rebuilds the table (copying every row); PostgreSQL alters in place.
    # Every existing certification names an attempt, so the new check holds for them all.
    with op.batch_alter_table('certifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('written_score_id', sa.Integer(), nullable=True))
        batch_op.alter_column('attempt_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_certifications_written_score_id'), ['written_score_id'])
        batch_op.create_foreign_key(batch_op.f('fk_certifications_written_score_id_written_scores'), 'written_scores', ['written_score_id'], ['id'])
        batch_op.create_check_constraint(batch_op.f('ck_certifications_origin'), ORIGIN)

    _add_pass_record_link()


def _add_pass_record_link() -> None:
    fk = op.f('fk_pass_records_written_score_id_written_scores')
    if op.get_bind().dialect.name == 'sqlite':
        # No rebuild here: notices refer to pass_records, and SQLite (foreign keys on)
        # refuses to drop a table whose rows are referred to. ADD COLUMN with the reference
        # inline needs no rebuild.
        op.execute(f'ALTER TABLE pass_records ADD COLUMN written_score_id INTEGER '
                   f'CONSTRAINT {fk} REFERENCES written_scores (id)')
    else:
        op.add_column('pass_records', sa.Column('written_score_id', sa.Integer(), nullable=True))
        op.create_foreign_key(fk, 'pass_records', 'written_scores', ['written_score_id'], ['id'])


def downgrade() -> None:
    # 0002 cannot hold a certification of a written score: refuse rather than drop it.
    bind = op.get_bind()
    written = bind.execute(sa.text(
        'SELECT count(*) FROM certifications WHERE written_score_id IS NOT NULL')).scalar()
    if written:
        raise RuntimeError(f'{written} certification(s) of written scores would be lost; '
                           'downgrade refused')
    # Dropping the column drops its reference too (SQLite 3.35+ and PostgreSQL).
    op.drop_column('pass_records', 'written_score_id')

    with op.batch_alter_table('certifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_certifications_origin'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_certifications_written_score_id_written_scores'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_certifications_written_score_id'), type_='unique')
        batch_op.alter_column('attempt_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('written_score_id')
