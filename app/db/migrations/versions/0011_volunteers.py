"""cyber crime prevention volunteers: the liaison and volunteer roles, groups, members,
activities and who took part, completed training courses

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 19:25:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

OLD_ROLES = ('candidate', 'author', 'committee', 'vice_chair', 'chair', 'head', 'secretariat',
             'proctor')
NEW_ROLES = OLD_ROLES + ('liaison', 'volunteer')


def _roles(values) -> None:
    # SQLite rebuilds user_roles (nothing refers to it); PostgreSQL swaps the constraint.
    with op.batch_alter_table('user_roles', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_user_roles_role'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_user_roles_role'), 'role IN (' + ', '.join(f"'{r}'" for r in values) + ')')


def upgrade() -> None:
    _roles(NEW_ROLES)
    op.create_table('volunteer_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('division_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Text(), server_default='', nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('university', 'high_school', 'citizens', 'company')", name=op.f('ck_volunteer_groups_kind')),
    sa.ForeignKeyConstraint(['division_id'], ['affiliations.id'], name=op.f('fk_volunteer_groups_division_id_affiliations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_groups')),
    sa.UniqueConstraint('name', name=op.f('uq_volunteer_groups_name'))
    )
    with op.batch_alter_table('volunteer_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_groups_division_id'), ['division_id'], unique=False)

    op.create_table('volunteer_activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=128), server_default='', nullable=False),
    sa.Column('audience', sa.String(length=128), server_default='', nullable=False),
    sa.Column('participants', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), server_default='', nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('good_practice', sa.Boolean(), nullable=False),
    sa.Column('good_practice_note', sa.Text(), nullable=True),
    sa.Column('good_practice_by', sa.Integer(), nullable=True),
    sa.Column('good_practice_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('education', 'awareness', 'patrol')", name=op.f('ck_volunteer_activities_kind')),
    sa.CheckConstraint('minutes > 0', name=op.f('ck_volunteer_activities_minutes')),
    sa.CheckConstraint('participants >= 0', name=op.f('ck_volunteer_activities_participants')),
    sa.ForeignKeyConstraint(['good_practice_by'], ['users.id'], name=op.f('fk_volunteer_activities_good_practice_by_users')),
    sa.ForeignKeyConstraint(['group_id'], ['volunteer_groups.id'], name=op.f('fk_volunteer_activities_group_id_volunteer_groups')),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_volunteer_activities_recorded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_activities'))
    )
    with op.batch_alter_table('volunteer_activities', schema=None) as batch_op:
        batch_op.create_index('ix_volunteer_activities_group_held', ['group_id', 'held_on'], unique=False)

    op.create_table('volunteer_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('name_kana', sa.String(length=128), server_default='', nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('organisation', sa.String(length=128), server_default='', nullable=False),
    sa.Column('strengths', sa.Text(), server_default='', nullable=False),
    sa.Column('joined_on', sa.Date(), nullable=False),
    sa.Column('is_leader', sa.Boolean(), nullable=False),
    sa.Column('minor', sa.Boolean(), nullable=False),
    sa.Column('guardian_name', sa.String(length=64), nullable=True),
    sa.Column('guardian_consent_on', sa.Date(), nullable=True),
    sa.Column('consent_recorded_by', sa.Integer(), nullable=True),
    sa.Column('publish_consent', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('left_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('guardian_consent_on IS NULL OR guardian_name IS NOT NULL', name=op.f('ck_volunteer_members_consent')),
    sa.ForeignKeyConstraint(['consent_recorded_by'], ['users.id'], name=op.f('fk_volunteer_members_consent_recorded_by_users')),
    sa.ForeignKeyConstraint(['group_id'], ['volunteer_groups.id'], name=op.f('fk_volunteer_members_group_id_volunteer_groups')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_volunteer_members_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_members')),
    sa.UniqueConstraint('user_id', name=op.f('uq_volunteer_members_user_id'))
    )
    with op.batch_alter_table('volunteer_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_members_group_id'), ['group_id'], unique=False)

    op.create_table('volunteer_activity_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.CheckConstraint('minutes > 0', name=op.f('ck_volunteer_activity_members_minutes')),
    sa.ForeignKeyConstraint(['activity_id'], ['volunteer_activities.id'], name=op.f('fk_volunteer_activity_members_activity_id_volunteer_activities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['volunteer_members.id'], name=op.f('fk_volunteer_activity_members_member_id_volunteer_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_activity_members')),
    sa.UniqueConstraint('activity_id', 'member_id', name=op.f('uq_volunteer_activity_members_activity_id_member_id'))
    )
    with op.batch_alter_table('volunteer_activity_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_activity_members_member_id'), ['member_id'], unique=False)

    op.create_table('volunteer_completions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('course_key', sa.String(length=64), nullable=False),
    sa.Column('course_title', sa.String(length=128), nullable=False),
    sa.Column('completed_at', sa.DateTime(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('bank_hash', sa.String(length=64), server_default='', nullable=False),
    sa.CheckConstraint('minutes >= 0', name=op.f('ck_volunteer_completions_minutes')),
    sa.CheckConstraint('score >= 0 AND score <= total', name=op.f('ck_volunteer_completions_score')),
    sa.ForeignKeyConstraint(['member_id'], ['volunteer_members.id'], name=op.f('fk_volunteer_completions_member_id_volunteer_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_completions')),
    sa.UniqueConstraint('member_id', 'course_key', name=op.f('uq_volunteer_completions_member_id_course_key'))
    )
    with op.batch_alter_table('volunteer_completions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_completions_member_id'), ['member_id'], unique=False)



def downgrade() -> None:
    held = op.get_bind().execute(
        sa.text("SELECT count(*) FROM user_roles WHERE role IN ('liaison', 'volunteer')")).scalar()
    if held:
        raise RuntimeError(f'{held} liaison or volunteer role(s) would be lost; downgrade refused')
    with op.batch_alter_table('volunteer_completions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_completions_member_id'))

    op.drop_table('volunteer_completions')
    with op.batch_alter_table('volunteer_activity_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_activity_members_member_id'))

    op.drop_table('volunteer_activity_members')
    with op.batch_alter_table('volunteer_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_members_group_id'))

    op.drop_table('volunteer_members')
    with op.batch_alter_table('volunteer_activities', schema=None) as batch_op:
        batch_op.drop_index('ix_volunteer_activities_group_held')

    op.drop_table('volunteer_activities')
    with op.batch_alter_table('volunteer_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_groups_division_id'))

    op.drop_table('volunteer_groups')
    _roles(OLD_ROLES)
