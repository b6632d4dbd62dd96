"""appointments (第2-3, 第2-4(2)) and the committee's decisions on certification (第2-2)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 16:40:00
"""
from datetime import datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

APPOINTED_ROLES = ('chair', 'vice_chair', 'committee', 'author')
POSTS = ('chair', 'vice_chair')
CURRENT = 'ended_at IS NULL'
POST_HOLDER = "ended_at IS NULL AND role IN ('chair', 'vice_chair')"
TAKEN_OVER = '移行時に保有していた役割（任命の記録の開始前から）'
SECOND_HOLDER = '移行時に同じ職の保有者が複数いたため（一人を残して終了）'


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    op.create_table('appointments',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('user_id', sa.Integer(), nullable=False),
                    sa.Column('role', sa.String(length=32), nullable=False),
                    sa.Column('started_on', sa.Date(), nullable=False),
                    sa.Column('note', sa.String(length=500), server_default='', nullable=False),
                    sa.Column('appointed_by', sa.Integer(), nullable=True),
                    sa.Column('appointed_at', sa.DateTime(), nullable=False),
                    sa.Column('ended_on', sa.Date(), nullable=True),
                    sa.Column('end_reason', sa.String(length=500), nullable=True),
                    sa.Column('ended_by', sa.Integer(), nullable=True),
                    sa.Column('ended_at', sa.DateTime(), nullable=True),
                    sa.CheckConstraint(_in('role', APPOINTED_ROLES), name=op.f('ck_appointments_role')),
                    sa.CheckConstraint('(ended_at IS NULL) = (ended_on IS NULL)',
                                       name=op.f('ck_appointments_ended')),
                    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                            name=op.f('fk_appointments_user_id_users')),
                    sa.ForeignKeyConstraint(['appointed_by'], ['users.id'],
                                            name=op.f('fk_appointments_appointed_by_users')),
                    sa.ForeignKeyConstraint(['ended_by'], ['users.id'],
                                            name=op.f('fk_appointments_ended_by_users')),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments')))
    op.create_index(op.f('ix_appointments_user_id'), 'appointments', ['user_id'], unique=False)
    op.create_index('uq_appointments_current', 'appointments', ['user_id', 'role'], unique=True,
                    sqlite_where=sa.text(CURRENT), postgresql_where=sa.text(CURRENT))
    op.create_index('uq_appointments_post_holder', 'appointments', ['role'], unique=True,
                    sqlite_where=sa.text(POST_HOLDER), postgresql_where=sa.text(POST_HOLDER))
    op.create_table('committee_decisions',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('session_id', sa.Integer(), nullable=False),
                    sa.Column('procedure', sa.String(length=16), nullable=False),
                    sa.Column('held_on', sa.Date(), nullable=False),
                    sa.Column('recorded_by', sa.Integer(), nullable=False),
                    sa.Column('recorded_at', sa.DateTime(), nullable=False),
                    sa.CheckConstraint("procedure IN ('meeting', 'written')",
                                       name=op.f('ck_committee_decisions_procedure')),
                    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'],
                                            name=op.f('fk_committee_decisions_session_id_exam_sessions'),
                                            ondelete='CASCADE'),
                    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'],
                                            name=op.f('fk_committee_decisions_recorded_by_users')),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_committee_decisions')))
    op.create_index(op.f('ix_committee_decisions_session_id'), 'committee_decisions', ['session_id'],
                    unique=False)
    op.create_table('decision_members',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('decision_id', sa.Integer(), nullable=False),
                    sa.Column('user_id', sa.Integer(), nullable=False),
                    sa.Column('role', sa.String(length=32), nullable=False),
                    sa.ForeignKeyConstraint(['decision_id'], ['committee_decisions.id'],
                                            name=op.f('fk_decision_members_decision_id_committee_decisions'),
                                            ondelete='CASCADE'),
                    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                            name=op.f('fk_decision_members_user_id_users')),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_members')),
                    sa.UniqueConstraint('decision_id', 'user_id',
                                        name=op.f('uq_decision_members_decision_id_user_id')))
    fk = op.f('fk_certifications_decision_id_committee_decisions')
    if op.get_bind().dialect.name == 'sqlite':
        # ADD COLUMN with the reference inline: no rebuild of a table others refer to.
        op.execute(f'ALTER TABLE certifications ADD COLUMN decision_id INTEGER '
                   f'CONSTRAINT {fk} REFERENCES committee_decisions (id)')
    else:
        op.add_column('certifications', sa.Column('decision_id', sa.Integer(), nullable=True))
        op.create_foreign_key(fk, 'certifications', 'committee_decisions', ['decision_id'], ['id'])
    op.create_index(op.f('ix_certifications_decision_id'), 'certifications', ['decision_id'], unique=False)
    _take_over_roles()


def _take_over_roles() -> None:
    """Roles held today become appointments on record since the migration (by nobody: the
    record does not say who granted them). A post held by several people (the account form
    allowed it) stays with the earliest account; the others' are recorded as ended now."""
    bind = op.get_bind()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    today = (now + timedelta(hours=9)).date()                     # Japan date
    rows = bind.execute(sa.text(
        'SELECT user_id, role FROM user_roles WHERE ' + _in('role', APPOINTED_ROLES)
        + ' ORDER BY role, user_id')).all()
    insert = sa.text(
        'INSERT INTO appointments (user_id, role, started_on, note, appointed_at, ended_on, '
        'end_reason, ended_at) VALUES (:user_id, :role, :today, :note, :now, :ended_on, :reason, :ended_at)')
    held = set()
    for user_id, role in rows:
        extra = role in POSTS and role in held
        held.add(role)
        bind.execute(insert, {'user_id': user_id, 'role': role, 'today': today, 'note': TAKEN_OVER,
                              'now': now, 'ended_on': today if extra else None,
                              'reason': SECOND_HOLDER if extra else None,
                              'ended_at': now if extra else None})
        if extra:
            bind.execute(sa.text('DELETE FROM user_roles WHERE user_id = :u AND role = :r'),
                         {'u': user_id, 'r': role})


def downgrade() -> None:
    # The roles stay in user_roles; only the record of who appointed whom goes.
    op.drop_index(op.f('ix_certifications_decision_id'), table_name='certifications')
    op.drop_column('certifications', 'decision_id')
    op.drop_table('decision_members')
    op.drop_index(op.f('ix_committee_decisions_session_id'), table_name='committee_decisions')
    op.drop_table('committee_decisions')
    op.drop_index('uq_appointments_post_holder', table_name='appointments')
    op.drop_index('uq_appointments_current', table_name='appointments')
    op.drop_index(op.f('ix_appointments_user_id'), table_name='appointments')
    op.drop_table('appointments')
