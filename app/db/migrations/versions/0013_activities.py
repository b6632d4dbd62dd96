"""volunteer groups' requests to the police (要望) with the answer, and commendations (賞揚)
of members and groups

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 19:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('volunteer_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=128), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('filed_by', sa.Integer(), nullable=False),
    sa.Column('filed_at', sa.DateTime(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('answer IS NULL OR (answered_by IS NOT NULL AND answered_at IS NOT NULL)', name=op.f('ck_volunteer_requests_answer')),
    sa.ForeignKeyConstraint(['answered_by'], ['users.id'], name=op.f('fk_volunteer_requests_answered_by_users')),
    sa.ForeignKeyConstraint(['filed_by'], ['users.id'], name=op.f('fk_volunteer_requests_filed_by_users')),
    sa.ForeignKeyConstraint(['group_id'], ['volunteer_groups.id'], name=op.f('fk_volunteer_requests_group_id_volunteer_groups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_requests'))
    )
    with op.batch_alter_table('volunteer_requests', schema=None) as batch_op:
        batch_op.create_index('ix_volunteer_requests_group_filed', ['group_id', 'filed_at'], unique=False)

    op.create_table('volunteer_commendations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('awarded_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('awarded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('thanks', 'award', 'letter', 'other')", name=op.f('ck_volunteer_commendations_kind')),
    sa.ForeignKeyConstraint(['group_id'], ['volunteer_groups.id'], name=op.f('fk_volunteer_commendations_group_id_volunteer_groups')),
    sa.ForeignKeyConstraint(['member_id'], ['volunteer_members.id'], name=op.f('fk_volunteer_commendations_member_id_volunteer_members')),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_volunteer_commendations_recorded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_commendations'))
    )
    with op.batch_alter_table('volunteer_commendations', schema=None) as batch_op:
        batch_op.create_index('ix_volunteer_commendations_group', ['group_id', 'awarded_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteer_commendations_member_id'), ['member_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('volunteer_commendations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_commendations_member_id'))
        batch_op.drop_index('ix_volunteer_commendations_group')

    op.drop_table('volunteer_commendations')
    with op.batch_alter_table('volunteer_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_volunteer_requests_group_filed')

    op.drop_table('volunteer_requests')
