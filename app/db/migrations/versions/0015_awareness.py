"""public awareness quizzes: events run for an audience, their anonymous participants
and answers (the per-question counts)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 19:30:01
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('awareness_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('source_ref', sa.String(length=64), nullable=False),
    sa.Column('questions_json', sa.Text(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=128), server_default='', nullable=False),
    sa.Column('audience', sa.String(length=128), server_default='', nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=8), server_default='open', nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closed_by', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('activity_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_awareness_events_status')),
    sa.CheckConstraint('minutes > 0', name=op.f('ck_awareness_events_minutes')),
    sa.ForeignKeyConstraint(['activity_id'], ['volunteer_activities.id'], name=op.f('fk_awareness_events_activity_id_volunteer_activities')),
    sa.ForeignKeyConstraint(['closed_by'], ['users.id'], name=op.f('fk_awareness_events_closed_by_users')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_awareness_events_created_by_users')),
    sa.ForeignKeyConstraint(['group_id'], ['volunteer_groups.id'], name=op.f('fk_awareness_events_group_id_volunteer_groups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_awareness_events')),
    sa.UniqueConstraint('code', name=op.f('uq_awareness_events_code'))
    )
    with op.batch_alter_table('awareness_events', schema=None) as batch_op:
        batch_op.create_index('ix_awareness_events_group_status', ['group_id', 'status'], unique=False)

    op.create_table('awareness_participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['awareness_events.id'], name=op.f('fk_awareness_participants_event_id_awareness_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_awareness_participants')),
    sa.UniqueConstraint('token', name=op.f('uq_awareness_participants_token'))
    )
    with op.batch_alter_table('awareness_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_awareness_participants_event_id'), ['event_id'], unique=False)

    op.create_table('awareness_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('choice', sa.Integer(), nullable=False),
    sa.Column('correct', sa.Boolean(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('choice >= 0', name=op.f('ck_awareness_answers_choice')),
    sa.CheckConstraint('position >= 0', name=op.f('ck_awareness_answers_position')),
    sa.ForeignKeyConstraint(['event_id'], ['awareness_events.id'], name=op.f('fk_awareness_answers_event_id_awareness_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['participant_id'], ['awareness_participants.id'], name=op.f('fk_awareness_answers_participant_id_awareness_participants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_awareness_answers')),
    sa.UniqueConstraint('participant_id', 'position', name=op.f('uq_awareness_answers_participant_id_position'))
    )
    with op.batch_alter_table('awareness_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_awareness_answers_event_id'), ['event_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('awareness_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_awareness_answers_event_id'))

    op.drop_table('awareness_answers')
    with op.batch_alter_table('awareness_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_awareness_participants_event_id'))

    op.drop_table('awareness_participants')
    with op.batch_alter_table('awareness_events', schema=None) as batch_op:
        batch_op.drop_index('ix_awareness_events_group_status')

    op.drop_table('awareness_events')
