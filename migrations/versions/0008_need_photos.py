"""needs carry photos

A row per photo of a need; the cleaned image is a file in the photo store (SANKU_PHOTO_DIR) named by its hash.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 06:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('need_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('stored_name', sa.String(length=80), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_need_photos_need_id_needs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_need_photos_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_need_photos'))
    )
    with op.batch_alter_table('need_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_need_photos_need_id'), ['need_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('need_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_need_photos_need_id'))
    op.drop_table('need_photos')
