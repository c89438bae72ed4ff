"""grid councils keep their minutes: each item's decision and who takes it

One row per item of a council meeting (网格议事会): the Party grid, the meeting's date, the need it
concerns (if any; the item's text is a snapshot, so the minutes outlive the need's row), what was
decided, who takes it, by when, and who recorded it. An item about a need is recorded once per meeting.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 06:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('council_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('party_grid_id', sa.Integer(), nullable=False),
    sa.Column('meeting_date', sa.Date(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=True),
    sa.Column('item', sa.Text(), nullable=False),
    sa.Column('decision', sa.Text(), nullable=False),
    sa.Column('taker', sa.String(length=100), nullable=False),
    sa.Column('due', sa.Date(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_council_decisions_need_id_needs'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['party_grid_id'], ['party_grids.id'],
                            name=op.f('fk_council_decisions_party_grid_id_party_grids')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_council_decisions_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_council_decisions')),
    sa.UniqueConstraint('party_grid_id', 'meeting_date', 'need_id', name=op.f('uq_council_decisions_party_grid_id'))
    )
    with op.batch_alter_table('council_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_council_decisions_need_id'), ['need_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_council_decisions_party_grid_id'), ['party_grid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_council_decisions_recorded_by_id'), ['recorded_by_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('council_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_council_decisions_recorded_by_id'))
        batch_op.drop_index(batch_op.f('ix_council_decisions_party_grid_id'))
        batch_op.drop_index(batch_op.f('ix_council_decisions_need_id'))
    op.drop_table('council_decisions')
