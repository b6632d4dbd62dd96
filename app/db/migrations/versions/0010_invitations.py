"""the heads' invitations to sit a session (受検の奨励, 第3-11)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 16:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('invitations',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('session_id', sa.Integer(), nullable=False),
                    sa.Column('staff_id', sa.Integer(), nullable=False),
                    sa.Column('affiliation_id', sa.Integer(), nullable=True),
                    sa.Column('invited_by', sa.Integer(), nullable=False),
                    sa.Column('invited_at', sa.DateTime(), nullable=False),
                    sa.Column('message', sa.Text(), nullable=True),
                    sa.Column('emailed_at', sa.DateTime(), nullable=True),
                    sa.Column('email_error', sa.Text(), nullable=True),
                    sa.Column('seen_at', sa.DateTime(), nullable=True),
                    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'],
                                            name=op.f('fk_invitations_session_id_exam_sessions'),
                                            ondelete='CASCADE'),
                    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'],
                                            name=op.f('fk_invitations_staff_id_staff'), ondelete='CASCADE'),
                    sa.ForeignKeyConstraint(['affiliation_id'], ['affiliations.id'],
                                            name=op.f('fk_invitations_affiliation_id_affiliations')),
                    sa.ForeignKeyConstraint(['invited_by'], ['users.id'],
                                            name=op.f('fk_invitations_invited_by_users')),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
                    sa.UniqueConstraint('session_id', 'staff_id',
                                        name=op.f('uq_invitations_session_id_staff_id')))
    op.create_index('ix_invitations_staff_id', 'invitations', ['staff_id'])


def downgrade() -> None:
    op.drop_index('ix_invitations_staff_id', table_name='invitations')
    op.drop_table('invitations')
