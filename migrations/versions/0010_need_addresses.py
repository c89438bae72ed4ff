"""needs are placed by address; residents have a home building

needs.address (as written), needs.building_id (what it resolved to), needs.place_unsure and
needs.address_candidates (an address the register could not place surely waits for a person);
users.building_id (a resident's home, prefilled on their next need).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 07:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=300), server_default='', nullable=False))
        batch_op.add_column(sa.Column('building_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('place_unsure', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('address_candidates', sa.JSON(), server_default=sa.text("'[]'"),
                                      nullable=False))
        batch_op.create_index(batch_op.f('ix_needs_building_id'), ['building_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_needs_building_id_buildings'), 'buildings', ['building_id'], ['id'])
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('building_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_users_building_id_buildings'), 'buildings', ['building_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_users_building_id_buildings'), type_='foreignkey')
        batch_op.drop_column('building_id')
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_needs_building_id_buildings'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_needs_building_id'))
        batch_op.drop_column('address_candidates')
        batch_op.drop_column('place_unsure')
        batch_op.drop_column('building_id')
        batch_op.drop_column('address')
