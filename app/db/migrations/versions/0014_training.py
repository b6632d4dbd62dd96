"""volunteers' training: attempts at the quiz modules of a course and their answers

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 19:32:19
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('training_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('course_key', sa.String(length=64), nullable=False),
    sa.Column('module_key', sa.String(length=64), nullable=False),
    sa.Column('bank_hash', sa.String(length=64), nullable=False),
    sa.Column('question_ids_json', sa.Text(), nullable=False),
    sa.Column('order_seed', sa.String(length=64), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('correct', sa.Integer(), nullable=True),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('correct IS NULL OR (correct >= 0 AND correct <= total)', name=op.f('ck_training_attempts_correct')),
    sa.CheckConstraint('total > 0', name=op.f('ck_training_attempts_total')),
    sa.ForeignKeyConstraint(['member_id'], ['volunteer_members.id'], name=op.f('fk_training_attempts_member_id_volunteer_members')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_training_attempts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_attempts'))
    )
    with op.batch_alter_table('training_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_attempts_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_training_attempts_user_module', ['user_id', 'course_key', 'module_key'], unique=False)

    op.create_table('training_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.String(length=64), nullable=False),
    sa.Column('response_json', sa.Text(), nullable=True),
    sa.Column('correct', sa.Boolean(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('position >= 1', name=op.f('ck_training_answers_position')),
    sa.ForeignKeyConstraint(['attempt_id'], ['training_attempts.id'], name=op.f('fk_training_answers_attempt_id_training_attempts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_answers')),
    sa.UniqueConstraint('attempt_id', 'position', name=op.f('uq_training_answers_attempt_id_position'))
    )


def downgrade() -> None:
    op.drop_table('training_answers')
    with op.batch_alter_table('training_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_training_attempts_user_module')
        batch_op.drop_index(batch_op.f('ix_training_attempts_member_id'))

    op.drop_table('training_attempts')
