"""sessions that can be ended: users.session_epoch

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN with a constant default: no table rebuild on SQLite, none on PostgreSQL 11+.
    op.add_column('users', sa.Column('session_epoch', sa.Integer(), nullable=False,
                                     server_default='0'))


def downgrade() -> None:
    # In place on SQLite 3.35+ (no rebuild of a table that others refer to) and PostgreSQL.
    op.drop_column('users', 'session_epoch')
