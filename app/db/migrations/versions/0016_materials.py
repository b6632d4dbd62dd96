"""awareness materials of volunteer groups (circular 2(3)): quizzes and handouts, their
draft questions, the revisions submitted for review, and their history; the history
append-only and a revision kept as submitted, in the database itself

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 19:30:20
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

KEPT = 'the history of a material is kept as recorded'


def _history_kept() -> None:
    """Events: no UPDATE, no DELETE. Revisions: no DELETE; an UPDATE only records the decision
    of one not yet decided, never its content."""
    if op.get_bind().dialect.name == 'sqlite':
        for verb in ('UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER volunteer_material_events_no_{verb.lower()} BEFORE {verb} "
                       f"ON volunteer_material_events BEGIN SELECT RAISE(ABORT, '{KEPT}'); END")
        op.execute("CREATE TRIGGER volunteer_material_revisions_no_delete BEFORE DELETE "
                   f"ON volunteer_material_revisions BEGIN SELECT RAISE(ABORT, '{KEPT}'); END")
        op.execute("CREATE TRIGGER volunteer_material_revisions_as_submitted BEFORE UPDATE "
                   "ON volunteer_material_revisions WHEN OLD.decision IS NOT NULL "
                   "OR NEW.content IS NOT OLD.content OR NEW.digest IS NOT OLD.digest "
                   "OR NEW.number IS NOT OLD.number OR NEW.material_id IS NOT OLD.material_id "
                   f"BEGIN SELECT RAISE(ABORT, '{KEPT}'); END")
        return
    op.execute("CREATE FUNCTION volunteer_material_history_kept() RETURNS trigger LANGUAGE plpgsql "
               f"AS $$ BEGIN RAISE EXCEPTION '{KEPT}' USING ERRCODE = 'insufficient_privilege'; END $$")
    op.execute("CREATE FUNCTION volunteer_material_revision_as_submitted() RETURNS trigger "
               "LANGUAGE plpgsql AS $$ BEGIN "
               "IF OLD.decision IS NULL AND NEW.content::text = OLD.content::text "
               "AND NEW.digest = OLD.digest AND NEW.number = OLD.number "
               "AND NEW.material_id = OLD.material_id THEN RETURN NEW; END IF; "
               f"RAISE EXCEPTION '{KEPT}' USING ERRCODE = 'insufficient_privilege'; END $$")
    op.execute("CREATE TRIGGER volunteer_material_events_no_change BEFORE UPDATE OR DELETE "
               "ON volunteer_material_events FOR EACH ROW EXECUTE FUNCTION volunteer_material_history_kept()")
    op.execute("CREATE TRIGGER volunteer_material_revisions_no_delete BEFORE DELETE "
               "ON volunteer_material_revisions FOR EACH ROW EXECUTE FUNCTION volunteer_material_history_kept()")
    op.execute("CREATE TRIGGER volunteer_material_revisions_as_submitted BEFORE UPDATE "
               "ON volunteer_material_revisions FOR EACH ROW "
               "EXECUTE FUNCTION volunteer_material_revision_as_submitted()")
    # TRUNCATE fires no row trigger.
    for table in ('volunteer_material_events', 'volunteer_material_revisions'):
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION volunteer_material_history_kept()")


def upgrade() -> None:
    op.create_table('volunteer_materials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('audience', sa.String(length=100), server_default='', nullable=False),
    sa.Column('body', sa.Text(), server_default='', nullable=False),
    sa.Column('credits', sa.Text(), server_default='', nullable=False),
    sa.Column('in_force_id', sa.Integer(), nullable=True),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('next_question', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("NOT published OR (kind = 'handout' AND in_force_id IS NOT NULL)", name=op.f('ck_volunteer_materials_published')),
    sa.CheckConstraint("kind IN ('quiz', 'handout')", name=op.f('ck_volunteer_materials_kind')),
    sa.CheckConstraint("state IN ('draft', 'submitted', 'approved', 'withdrawn')", name=op.f('ck_volunteer_materials_state')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_volunteer_materials_created_by_users')),
    sa.ForeignKeyConstraint(['group_id'], ['volunteer_groups.id'], name=op.f('fk_volunteer_materials_group_id_volunteer_groups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_materials'))
    )
    with op.batch_alter_table('volunteer_materials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_materials_group_id'), ['group_id'], unique=False)

    op.create_table('volunteer_material_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('stem', sa.Text(), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('answer', sa.Integer(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.CheckConstraint('answer >= 0 AND answer < 4', name=op.f('ck_volunteer_material_questions_answer')),
    sa.ForeignKeyConstraint(['material_id'], ['volunteer_materials.id'], name=op.f('fk_volunteer_material_questions_material_id_volunteer_materials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_material_questions')),
    sa.UniqueConstraint('material_id', 'key', name=op.f('uq_volunteer_material_questions_material_id_key'))
    )
    with op.batch_alter_table('volunteer_material_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_material_questions_material_id'), ['material_id'], unique=False)

    op.create_table('volunteer_material_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('submitted_by', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('checked_accuracy', sa.Boolean(), nullable=False),
    sa.Column('checked_copyright', sa.Boolean(), nullable=False),
    sa.CheckConstraint("decision IS NULL OR decision <> 'approved' OR (checked_accuracy AND checked_copyright)", name=op.f('ck_volunteer_material_revisions_checked')),
    sa.CheckConstraint("decision IS NULL OR decision IN ('returned', 'approved')", name=op.f('ck_volunteer_material_revisions_decision')),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_volunteer_material_revisions_decided_by_users')),
    sa.ForeignKeyConstraint(['material_id'], ['volunteer_materials.id'], name=op.f('fk_volunteer_material_revisions_material_id_volunteer_materials')),
    sa.ForeignKeyConstraint(['submitted_by'], ['users.id'], name=op.f('fk_volunteer_material_revisions_submitted_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_material_revisions')),
    sa.UniqueConstraint('material_id', 'number', name=op.f('uq_volunteer_material_revisions_material_id_number'))
    )
    with op.batch_alter_table('volunteer_material_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_material_revisions_material_id'), ['material_id'], unique=False)
    # The revision in force: the two tables refer to each other, so this key comes last.
    with op.batch_alter_table('volunteer_materials', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_volunteer_materials_in_force_id_volunteer_material_revisions'),
                                    'volunteer_material_revisions', ['in_force_id'], ['id'])

    op.create_table('volunteer_material_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('revision_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('question_key', sa.String(length=16), nullable=True),
    sa.Column('text', sa.Text(), server_default='', nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("action IN ('created', 'submitted', 'comment', 'returned', 'approved', 'withdrawn', 'revision_started', 'published', 'unpublished')", name=op.f('ck_volunteer_material_events_action')),
    sa.ForeignKeyConstraint(['material_id'], ['volunteer_materials.id'], name=op.f('fk_volunteer_material_events_material_id_volunteer_materials')),
    sa.ForeignKeyConstraint(['revision_id'], ['volunteer_material_revisions.id'], name=op.f('fk_volunteer_material_events_revision_id_volunteer_material_revisions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_volunteer_material_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_material_events'))
    )
    with op.batch_alter_table('volunteer_material_events', schema=None) as batch_op:
        batch_op.create_index('ix_volunteer_material_events_material', ['material_id', 'id'], unique=False)
    _history_kept()



def downgrade() -> None:
    # Dropping a table drops its triggers; the PostgreSQL functions go after them.
    with op.batch_alter_table('volunteer_material_events', schema=None) as batch_op:
        batch_op.drop_index('ix_volunteer_material_events_material')

    op.drop_table('volunteer_material_events')
    with op.batch_alter_table('volunteer_materials', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_volunteer_materials_in_force_id_volunteer_material_revisions'),
                                 type_='foreignkey')
    with op.batch_alter_table('volunteer_material_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_material_revisions_material_id'))

    op.drop_table('volunteer_material_revisions')
    with op.batch_alter_table('volunteer_material_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_material_questions_material_id'))

    op.drop_table('volunteer_material_questions')
    with op.batch_alter_table('volunteer_materials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_materials_group_id'))

    op.drop_table('volunteer_materials')
    if op.get_bind().dialect.name != 'sqlite':
        op.execute('DROP FUNCTION IF EXISTS volunteer_material_revision_as_submitted()')
        op.execute('DROP FUNCTION IF EXISTS volunteer_material_history_kept()')
