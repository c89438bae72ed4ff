"""grids carry an optional boundary

A grid's outline, a GeoJSON Polygon or MultiPolygon geometry in lng/lat (WGS84), kept as JSON; the
dashboard draws the map of the grids from it. Grids without one stay off the map.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 06:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('grids', schema=None) as batch_op:
        batch_op.add_column(sa.Column('boundary', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('grids', schema=None) as batch_op:
        batch_op.drop_column('boundary')
