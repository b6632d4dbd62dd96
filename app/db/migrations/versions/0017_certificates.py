"""volunteers' certificates: completion and activity certificates, their signed
credentials and revocations

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 19:30:07
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('volunteer_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('completion_id', sa.Integer(), nullable=True),
    sa.Column('period_from', sa.Date(), nullable=True),
    sa.Column('period_to', sa.Date(), nullable=True),
    sa.Column('statement_json', sa.Text(), nullable=False),
    sa.Column('credential_jwt', sa.Text(), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('issued_by', sa.Integer(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by', sa.Integer(), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("kind <> 'activity' OR (period_from IS NOT NULL AND period_to IS NOT NULL AND period_from <= period_to)", name=op.f('ck_volunteer_certificates_period')),
    sa.CheckConstraint("kind <> 'completion' OR completion_id IS NOT NULL", name=op.f('ck_volunteer_certificates_completion')),
    sa.CheckConstraint("kind IN ('completion', 'activity')", name=op.f('ck_volunteer_certificates_kind')),
    sa.CheckConstraint('(revoked_at IS NULL AND revoked_by IS NULL AND revoke_reason IS NULL) OR (revoked_at IS NOT NULL AND revoked_by IS NOT NULL AND revoke_reason IS NOT NULL)', name=op.f('ck_volunteer_certificates_revocation')),
    sa.ForeignKeyConstraint(['completion_id'], ['volunteer_completions.id'], name=op.f('fk_volunteer_certificates_completion_id_volunteer_completions')),
    sa.ForeignKeyConstraint(['issued_by'], ['users.id'], name=op.f('fk_volunteer_certificates_issued_by_users')),
    sa.ForeignKeyConstraint(['member_id'], ['volunteer_members.id'], name=op.f('fk_volunteer_certificates_member_id_volunteer_members')),
    sa.ForeignKeyConstraint(['revoked_by'], ['users.id'], name=op.f('fk_volunteer_certificates_revoked_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_certificates')),
    sa.UniqueConstraint('public_id', name=op.f('uq_volunteer_certificates_public_id'))
    )
    with op.batch_alter_table('volunteer_certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_certificates_member_id'), ['member_id'], unique=False)
        batch_op.create_index('uq_volunteer_certificates_current_completion', ['completion_id'], unique=True,
                              sqlite_where=sa.text('revoked_at IS NULL'),
                              postgresql_where=sa.text('revoked_at IS NULL'))



def downgrade() -> None:
    with op.batch_alter_table('volunteer_certificates', schema=None) as batch_op:
        batch_op.drop_index('uq_volunteer_certificates_current_completion')
        batch_op.drop_index(batch_op.f('ix_volunteer_certificates_member_id'))

    op.drop_table('volunteer_certificates')
