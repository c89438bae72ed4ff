"""Intake by the people of the grid: needs taken down for residents without an account, Party members' fields

``needs.resident_name``/``resident_phone``: who a need taken down for a resident is for; ``users.phone`` (unique):
an account's mobile, through which those needs become the resident's. ``field_buildings``: the buildings of each
Party member's responsibility field (党员责任田), one member per building; ``visits``: their visits, and
``needs.visit_id`` the needs a visit raised. The ``phone`` channel (a call to the community) joins the channel
checks of needs and recurrences, apart from ``hotline`` (12345).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

CHANNELS_BEFORE = ("app", "hotline", "visit", "building_head", "snapshot", "walk_in", "import", "open311")
CHANNELS_AFTER = (*CHANNELS_BEFORE, "phone")


def _channel_check(codes: tuple[str, ...]) -> str:
    return f"channel IN ({', '.join(repr(c) for c in codes)})"


def _set_channels(codes: tuple[str, ...]) -> None:
    for table in ("needs", "recurrences"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_channel"), type_="check")
            batch_op.create_check_constraint(op.f(f"ck_{table}_channel"), _channel_check(codes))


def upgrade() -> None:
    op.create_table('field_buildings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.Column('assigned_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], name=op.f('fk_field_buildings_building_id_buildings')),
    sa.ForeignKeyConstraint(['member_id'], ['volunteers.id'], name=op.f('fk_field_buildings_member_id_volunteers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_field_buildings')),
    sa.UniqueConstraint('building_id', name=op.f('uq_field_buildings_building_id'))
    )
    with op.batch_alter_table('field_buildings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_field_buildings_member_id'), ['member_id'], unique=False)

    op.create_table('visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('households >= 0', name=op.f('ck_visits_households')),
    sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], name=op.f('fk_visits_building_id_buildings')),
    sa.ForeignKeyConstraint(['member_id'], ['volunteers.id'], name=op.f('fk_visits_member_id_volunteers')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_visits_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visits'))
    )
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visits_building_id'), ['building_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_visits_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_visits_visited_on'), ['visited_on'], unique=False)

    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resident_name', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('resident_phone', sa.String(length=20), server_default='', nullable=False))
        batch_op.add_column(sa.Column('visit_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_needs_resident_phone'), ['resident_phone'], unique=False)
        batch_op.create_index(batch_op.f('ix_needs_visit_id'), ['visit_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_needs_visit_id_visits'), 'visits', ['visit_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_phone'), ['phone'])

    _set_channels(CHANNELS_AFTER)


def downgrade() -> None:
    for table in ("needs", "recurrences"):
        op.execute(f"UPDATE {table} SET channel = 'hotline' WHERE channel = 'phone'")
    _set_channels(CHANNELS_BEFORE)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_phone'), type_='unique')
        batch_op.drop_column('phone')

    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_needs_visit_id_visits'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_needs_visit_id'))
        batch_op.drop_index(batch_op.f('ix_needs_resident_phone'))
        batch_op.drop_column('visit_id')
        batch_op.drop_column('resident_phone')
        batch_op.drop_column('resident_name')

    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visits_visited_on'))
        batch_op.drop_index(batch_op.f('ix_visits_member_id'))
        batch_op.drop_index(batch_op.f('ix_visits_building_id'))

    op.drop_table('visits')
    with op.batch_alter_table('field_buildings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_field_buildings_member_id'))

    op.drop_table('field_buildings')
