"""a session's choice to show candidates each question after certification

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 17:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing sessions keep what candidates saw until now: no per-question review.
    with op.batch_alter_table('session_details', schema=None) as batch_op:
        batch_op.add_column(sa.Column('show_review', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('session_details', schema=None) as batch_op:
        batch_op.drop_column('show_review')
