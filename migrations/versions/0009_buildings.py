"""the building register (楼栋)

A row per building of a grid: its code, name and address, former names (aliases, JSON), its building
head (a volunteer, 楼栋长), households and position (lng/lat, both or neither). Imported like the pools
(``import buildings``), listed for staff at /api/v1/buildings.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 07:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('buildings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('aliases', sa.JSON(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('head_id', sa.Integer(), nullable=True),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.Column('lng', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_buildings_grid_id_grids')),
    sa.ForeignKeyConstraint(['head_id'], ['volunteers.id'], name=op.f('fk_buildings_head_id_volunteers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_buildings')),
    sa.UniqueConstraint('code', name=op.f('uq_buildings_code'))
    )
    with op.batch_alter_table('buildings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_buildings_active'), ['active'], unique=False)
        batch_op.create_index(batch_op.f('ix_buildings_grid_id'), ['grid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_buildings_name'), ['name'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('buildings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_buildings_name'))
        batch_op.drop_index(batch_op.f('ix_buildings_grid_id'))
        batch_op.drop_index(batch_op.f('ix_buildings_active'))
    op.drop_table('buildings')
