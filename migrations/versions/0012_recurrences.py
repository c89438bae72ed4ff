"""recurring needs: a rule that makes one need per occurrence

``recurrences`` holds each rule (RFC 5545 RRULE, its start in the subdistrict's wall-clock time, the window
length) with the template of the needs it makes; ``recurrence_occurrences`` one row per occurrence made,
unique per (recurrence, time), so making the occurrences due twice makes them once.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

URGENCIES = ("low", "normal", "high", "urgent")
SERVICES = ("public", "social", "market", "volunteer")
CHANNELS = ("app", "hotline", "visit", "building_head", "snapshot", "walk_in", "import", "open311")


def _codes(column: str, codes: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(c) for c in codes)})"


def upgrade() -> None:
    op.create_table('recurrences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('contact', sa.String(length=200), nullable=False),
    sa.Column('service', sa.String(length=16), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=True),
    sa.Column('rrule', sa.String(length=500), nullable=False),
    sa.Column('dtstart', sa.DateTime(), nullable=False),
    sa.Column('window_minutes', sa.Integer(), nullable=False),
    sa.Column('next_at', sa.DateTime(), nullable=True),
    sa.Column('last_need_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint(_codes('urgency', URGENCIES), name=op.f('ck_recurrences_urgency')),
    sa.CheckConstraint(_codes('service', SERVICES), name=op.f('ck_recurrences_service')),
    sa.CheckConstraint(_codes('channel', CHANNELS), name=op.f('ck_recurrences_channel')),
    sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], name=op.f('fk_recurrences_building_id_buildings')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_recurrences_created_by_id_users')),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_recurrences_grid_id_grids')),
    sa.ForeignKeyConstraint(['last_need_id'], ['needs.id'], name=op.f('fk_recurrences_last_need_id_needs'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resident_id'], ['users.id'], name=op.f('fk_recurrences_resident_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recurrences'))
    )
    with op.batch_alter_table('recurrences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recurrences_active'), ['active'], unique=False)
        batch_op.create_index(batch_op.f('ix_recurrences_grid_id'), ['grid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recurrences_next_at'), ['next_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_recurrences_resident_id'), ['resident_id'], unique=False)
    op.create_table('recurrence_occurrences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recurrence_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_recurrence_occurrences_need_id_needs'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recurrence_id'], ['recurrences.id'],
                            name=op.f('fk_recurrence_occurrences_recurrence_id_recurrences'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recurrence_occurrences')),
    sa.UniqueConstraint('need_id', name=op.f('uq_recurrence_occurrences_need_id')),
    sa.UniqueConstraint('recurrence_id', 'at', name=op.f('uq_recurrence_occurrences_recurrence_at'))
    )


def downgrade() -> None:
    op.drop_table('recurrence_occurrences')
    with op.batch_alter_table('recurrences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recurrences_resident_id'))
        batch_op.drop_index(batch_op.f('ix_recurrences_next_at'))
        batch_op.drop_index(batch_op.f('ix_recurrences_grid_id'))
        batch_op.drop_index(batch_op.f('ix_recurrences_active'))
    op.drop_table('recurrences')
