"""Open311 GeoReport v2: API keys of external systems, the audit of their calls, the open311 channel

``open311_keys`` holds one key per external system (a city tool), created by an admin
(``flask open311 keys create NAME``); only a SHA-256 HMAC of each key is stored. ``open311_calls``
records every request made with a key (method, path, HTTP status, the need it created). Needs that
arrive through Open311 have the channel ``open311``, so the channel check is rebuilt to allow it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 08:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

CHANNELS_BEFORE = ("app", "hotline", "visit", "building_head", "snapshot", "walk_in", "import")
CHANNELS_AFTER = (*CHANNELS_BEFORE, "open311")


def _channel_check(codes: tuple[str, ...]) -> str:
    return f"channel IN ({', '.join(repr(c) for c in codes)})"


def upgrade() -> None:
    op.create_table('open311_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open311_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_open311_keys_key_hash')),
    sa.UniqueConstraint('name', name=op.f('uq_open311_keys_name'))
    )
    op.create_table('open311_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('path', sa.String(length=300), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['key_id'], ['open311_keys.id'], name=op.f('fk_open311_calls_key_id_open311_keys')),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_open311_calls_need_id_needs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open311_calls'))
    )
    with op.batch_alter_table('open311_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open311_calls_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_open311_calls_key_id'), ['key_id'], unique=False)
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_needs_channel'), type_='check')
        batch_op.create_check_constraint(op.f('ck_needs_channel'), _channel_check(CHANNELS_AFTER))


def downgrade() -> None:
    op.execute("UPDATE needs SET channel = 'import' WHERE channel = 'open311'")
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_needs_channel'), type_='check')
        batch_op.create_check_constraint(op.f('ck_needs_channel'), _channel_check(CHANNELS_BEFORE))
    with op.batch_alter_table('open311_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open311_calls_key_id'))
        batch_op.drop_index(batch_op.f('ix_open311_calls_at'))
    op.drop_table('open311_calls')
    op.drop_table('open311_keys')
