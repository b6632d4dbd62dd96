"""volunteer invitations: the single-use, expiring links that give a member their account

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 19:30:21
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('volunteer_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('issued_by', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by', sa.Integer(), nullable=True),
    sa.Column('emailed_at', sa.DateTime(), nullable=True),
    sa.Column('email_error', sa.Text(), nullable=True),
    sa.CheckConstraint('used_at IS NULL OR user_id IS NOT NULL', name=op.f('ck_volunteer_invitations_used')),
    sa.CheckConstraint('used_at IS NULL OR revoked_at IS NULL', name=op.f('ck_volunteer_invitations_used_or_revoked')),
    sa.ForeignKeyConstraint(['issued_by'], ['users.id'], name=op.f('fk_volunteer_invitations_issued_by_users')),
    sa.ForeignKeyConstraint(['member_id'], ['volunteer_members.id'], name=op.f('fk_volunteer_invitations_member_id_volunteer_members')),
    sa.ForeignKeyConstraint(['revoked_by'], ['users.id'], name=op.f('fk_volunteer_invitations_revoked_by_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_volunteer_invitations_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_invitations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_volunteer_invitations_token_hash'))
    )
    with op.batch_alter_table('volunteer_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_invitations_member_id'), ['member_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('volunteer_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_invitations_member_id'))
    op.drop_table('volunteer_invitations')
