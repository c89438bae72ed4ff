"""three pools

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 19:24:31.647268
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('communities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_communities')),
    sa.UniqueConstraint('code', name=op.f('uq_communities_code'))
    )
    op.create_table('match_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('stats', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_runs'))
    )
    op.create_table('party_grids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('branch', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_grids')),
    sa.UniqueConstraint('code', name=op.f('uq_party_grids_code'))
    )
    op.create_table('resources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('department', sa.String(length=200), nullable=False),
    sa.Column('service', sa.String(length=16), nullable=False),
    sa.Column('covers_all', sa.Boolean(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('hours', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resources')),
    sa.UniqueConstraint('ref', name=op.f('uq_resources_ref'))
    )
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resources_active'), ['active'], unique=False)
        batch_op.create_index(batch_op.f('ix_resources_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_resources_service'), ['service'], unique=False)

    op.create_table('grids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('party_grid_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_grids_community_id_communities')),
    sa.ForeignKeyConstraint(['party_grid_id'], ['party_grids.id'], name=op.f('fk_grids_party_grid_id_party_grids')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grids')),
    sa.UniqueConstraint('code', name=op.f('uq_grids_code'))
    )
    with op.batch_alter_table('grids', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grids_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grids_party_grid_id'), ['party_grid_id'], unique=False)

    op.create_table('grid_neighbors',
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('neighbor_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_grid_neighbors_grid_id_grids'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['neighbor_id'], ['grids.id'], name=op.f('fk_grid_neighbors_neighbor_id_grids'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('grid_id', 'neighbor_id', name=op.f('pk_grid_neighbors'))
    )
    op.create_table('needs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('window_start', sa.DateTime(), nullable=True),
    sa.Column('window_end', sa.DateTime(), nullable=True),
    sa.Column('contact', sa.String(length=200), nullable=False),
    sa.Column('service', sa.String(length=16), nullable=True),
    sa.Column('service_confidence', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_needs_grid_id_grids')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_needs')),
    sa.UniqueConstraint('ref', name=op.f('uq_needs_ref'))
    )
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_needs_active'), ['active'], unique=False)
        batch_op.create_index(batch_op.f('ix_needs_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_needs_grid_id'), ['grid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_needs_service'), ['service'], unique=False)
        batch_op.create_index(batch_op.f('ix_needs_status'), ['status'], unique=False)

    op.create_table('resource_grids',
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_resource_grids_grid_id_grids'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_resource_grids_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resource_id', 'grid_id', name=op.f('pk_resource_grids'))
    )
    op.create_table('volunteers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('services', sa.JSON(), nullable=False),
    sa.Column('availability', sa.JSON(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('force', sa.String(length=16), nullable=False),
    sa.Column('party_member', sa.Boolean(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_volunteers_grid_id_grids')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteers')),
    sa.UniqueConstraint('ref', name=op.f('uq_volunteers_ref'))
    )
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteers_active'), ['active'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteers_grid_id'), ['grid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteers_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteers_phone'), ['phone'], unique=False)

    op.create_table('proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=True),
    sa.Column('volunteer_id', sa.Integer(), nullable=True),
    sa.Column('match_run_id', sa.Integer(), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('features', sa.JSON(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('(resource_id IS NULL) <> (volunteer_id IS NULL)', name=op.f('ck_proposals_one_provider')),
    sa.ForeignKeyConstraint(['match_run_id'], ['match_runs.id'], name=op.f('fk_proposals_match_run_id_match_runs')),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_proposals_need_id_needs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_proposals_resource_id_resources')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], name=op.f('fk_proposals_volunteer_id_volunteers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals'))
    )
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposals_match_run_id'), ['match_run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposals_need_id'), ['need_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposals_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposals_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposals_volunteer_id'), ['volunteer_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposals_volunteer_id'))
        batch_op.drop_index(batch_op.f('ix_proposals_status'))
        batch_op.drop_index(batch_op.f('ix_proposals_resource_id'))
        batch_op.drop_index(batch_op.f('ix_proposals_need_id'))
        batch_op.drop_index(batch_op.f('ix_proposals_match_run_id'))

    op.drop_table('proposals')
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteers_phone'))
        batch_op.drop_index(batch_op.f('ix_volunteers_name'))
        batch_op.drop_index(batch_op.f('ix_volunteers_grid_id'))
        batch_op.drop_index(batch_op.f('ix_volunteers_active'))

    op.drop_table('volunteers')
    op.drop_table('resource_grids')
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_needs_status'))
        batch_op.drop_index(batch_op.f('ix_needs_service'))
        batch_op.drop_index(batch_op.f('ix_needs_grid_id'))
        batch_op.drop_index(batch_op.f('ix_needs_created_at'))
        batch_op.drop_index(batch_op.f('ix_needs_active'))

    op.drop_table('needs')
    op.drop_table('grid_neighbors')
    with op.batch_alter_table('grids', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grids_party_grid_id'))
        batch_op.drop_index(batch_op.f('ix_grids_community_id'))

    op.drop_table('grids')
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resources_service'))
        batch_op.drop_index(batch_op.f('ix_resources_name'))
        batch_op.drop_index(batch_op.f('ix_resources_active'))

    op.drop_table('resources')
    op.drop_table('party_grids')
    op.drop_table('match_runs')
    op.drop_table('communities')
