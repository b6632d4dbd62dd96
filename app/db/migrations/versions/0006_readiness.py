"""the row /readyz writes: ready only while the database takes writes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('readiness',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('checked_at', sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_readiness')))


def downgrade() -> None:
    op.drop_table('readiness')
