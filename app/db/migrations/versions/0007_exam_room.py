"""the exam room: proctors, the room's log, pauses, accommodations, access and start settings

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 13:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

OLD_ROLES = ('candidate', 'author', 'committee', 'vice_chair', 'chair', 'head', 'secretariat')
NEW_ROLES = OLD_ROLES + ('proctor',)
ROOM_ACTIONS = ('signal', 'pause', 'resume', 'add_time', 'move', 'terminate', 'note', 'access_code')


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _roles(values) -> None:
    # SQLite rebuilds user_roles (nothing refers to it); PostgreSQL swaps the constraint.
    with op.batch_alter_table('user_roles', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_user_roles_role'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_user_roles_role'), _in('role', values))


def upgrade() -> None:
    _roles(NEW_ROLES)
    op.create_table('proctors',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('session_id', sa.Integer(), nullable=False),
                    sa.Column('user_id', sa.Integer(), nullable=False),
                    sa.Column('assigned_by', sa.Integer(), nullable=False),
                    sa.Column('assigned_at', sa.DateTime(), nullable=False),
                    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'],
                                            name=op.f('fk_proctors_session_id_exam_sessions'),
                                            ondelete='CASCADE'),
                    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                            name=op.f('fk_proctors_user_id_users')),
                    sa.ForeignKeyConstraint(['assigned_by'], ['users.id'],
                                            name=op.f('fk_proctors_assigned_by_users')),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_proctors')),
                    sa.UniqueConstraint('session_id', 'user_id',
                                        name=op.f('uq_proctors_session_id_user_id')))
    op.create_table('room_events',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('session_id', sa.Integer(), nullable=False),
                    sa.Column('user_id', sa.Integer(), nullable=True),
                    sa.Column('attempt_id', sa.Integer(), nullable=True),
                    sa.Column('action', sa.String(length=16), nullable=False),
                    sa.Column('seconds', sa.Integer(), nullable=True),
                    sa.Column('reason', sa.Text(), nullable=False),
                    sa.Column('by', sa.Integer(), nullable=False),
                    sa.Column('at', sa.DateTime(), nullable=False),
                    sa.CheckConstraint(_in('action', ROOM_ACTIONS), name=op.f('ck_room_events_action')),
                    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'],
                                            name=op.f('fk_room_events_session_id_exam_sessions'),
                                            ondelete='CASCADE'),
                    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                            name=op.f('fk_room_events_user_id_users')),
                    sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'],
                                            name=op.f('fk_room_events_attempt_id_attempts')),
                    sa.ForeignKeyConstraint(['by'], ['users.id'], name=op.f('fk_room_events_by_users')),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_room_events')))
    op.create_index('ix_room_events_session_id_at', 'room_events', ['session_id', 'at'])

    # New columns with constant defaults: ADD COLUMN, no rebuild of tables others refer to.
    for name, type_ in (('paused_at', sa.DateTime()), ('pause_scope', sa.String(length=16)),
                        ('pause_reason', sa.Text())):
        op.add_column('attempts', sa.Column(name, type_, nullable=True))
    op.add_column('registrations', sa.Column('extra_minutes', sa.Integer(), nullable=False,
                                             server_default='0'))
    op.add_column('registrations', sa.Column('extra_percent', sa.Integer(), nullable=False,
                                             server_default='0'))
    op.add_column('registrations', sa.Column('accommodation_reason', sa.Text(), nullable=True))
    fk = op.f('fk_registrations_accommodation_by_users')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'ALTER TABLE registrations ADD COLUMN accommodation_by INTEGER '
                   f'CONSTRAINT {fk} REFERENCES users (id)')
    else:
        op.add_column('registrations', sa.Column('accommodation_by', sa.Integer(), nullable=True))
        op.create_foreign_key(fk, 'registrations', 'users', ['accommodation_by'], ['id'])
    op.add_column('registrations', sa.Column('accommodation_at', sa.DateTime(), nullable=True))
    op.add_column('registrations', sa.Column('access_granted_at', sa.DateTime(), nullable=True))

    # session_details: nothing refers to it, so SQLite may rebuild it for the check.
    with op.batch_alter_table('session_details', schema=None) as batch_op:
        batch_op.add_column(sa.Column('start_mode', sa.String(length=8), nullable=False,
                                      server_default='self'))
        batch_op.add_column(sa.Column('access_code', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('allowed_networks', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('seb_config_keys', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('signal_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('room_paused_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('room_pause_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('control_seq', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.create_check_constraint(batch_op.f('ck_session_details_start_mode'),
                                         _in('start_mode', ('self', 'signal')))


def downgrade() -> None:
    bind = op.get_bind()
    proctors = bind.execute(sa.text("SELECT count(*) FROM user_roles WHERE role = 'proctor'")).scalar()
    if proctors:
        raise RuntimeError(f'{proctors} proctor role(s) would be lost; downgrade refused')
    with op.batch_alter_table('session_details', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_session_details_start_mode'), type_='check')
        for name in ('control_seq', 'room_pause_reason', 'room_paused_at', 'signal_at',
                     'seb_config_keys', 'allowed_networks', 'access_code', 'start_mode'):
            batch_op.drop_column(name)
    # In place on SQLite 3.35+ and PostgreSQL (dropping a column drops its reference too).
    for name in ('access_granted_at', 'accommodation_at', 'accommodation_by',
                 'accommodation_reason', 'extra_percent', 'extra_minutes'):
        op.drop_column('registrations', name)
    for name in ('pause_reason', 'pause_scope', 'paused_at'):
        op.drop_column('attempts', name)
    op.drop_index('ix_room_events_session_id_at', table_name='room_events')
    op.drop_table('room_events')
    op.drop_table('proctors')
    _roles(OLD_ROLES)
