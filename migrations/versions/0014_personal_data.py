"""Residents' personal data: the read audit, and contacts encrypted at rest

``access_records``: who saw a resident's personal data (an unmasked contact, a photo, a sensitive need, an
export), when, from where and why. ``needs.contact``, ``needs.resident_name``, ``needs.resident_phone``,
``recurrences.contact`` and ``users.phone`` hold Fernet tokens (``core.crypto``, keys from DATA_KEYS) instead of
text; ``needs.resident_phone_hash`` and ``users.phone_hash`` (unique), keyed hashes under LOOKUP_KEY, find a phone
by equality. Existing values are encrypted here, so the app's keys must be configured (``flask db upgrade``).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 09:30:00
"""
from __future__ import annotations

from typing import Callable

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# table -> (encrypted columns, (phone column, its hash column) or None)
ENCRYPTED = {
    "needs": (("contact", "resident_name", "resident_phone"), ("resident_phone", "resident_phone_hash")),
    "recurrences": (("contact",), None),
    "users": (("phone",), ("phone", "phone_hash")),
}


def _convert(table: str, change: Callable[[str], str], hashed: bool) -> None:
    """Every non-empty value of the table's encrypted columns through ``change`` (and its phone's hash)."""
    from core import crypto  # configured by the app that runs the migration

    columns, phone = ENCRYPTED[table]
    conn = op.get_bind()
    rows = conn.execute(sa.text(f"SELECT id, {', '.join(columns)} FROM {table}")).mappings().all()
    for row in rows:
        values = {c: change(row[c]) for c in columns if row[c]}
        if hashed and phone is not None and row[phone[0]]:
            plain = row[phone[0]] if change is crypto.encrypt else values[phone[0]]
            values[phone[1]] = crypto.lookup_hash(plain)
        if values:
            assignments = ", ".join(f"{c} = :{c}" for c in values)
            conn.execute(sa.text(f"UPDATE {table} SET {assignments} WHERE id = :id"), {**values, "id": row["id"]})


def upgrade() -> None:
    from core import crypto

    op.create_table('access_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('need_id', sa.Integer(), nullable=True),
    sa.Column('what', sa.String(length=16), nullable=False),
    sa.Column('via', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_access_records_need_id_needs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_access_records_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_records'))
    )
    with op.batch_alter_table('access_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_records_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_records_need_id'), ['need_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_records_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resident_phone_hash', sa.String(length=64), server_default='', nullable=False))
        batch_op.alter_column('contact', existing_type=sa.VARCHAR(length=200), type_=sa.Text(), existing_nullable=False)
        batch_op.alter_column('resident_name', existing_type=sa.VARCHAR(length=100), type_=sa.Text(),
                              existing_nullable=False, existing_server_default=sa.text("''"))
        batch_op.alter_column('resident_phone', existing_type=sa.VARCHAR(length=20), type_=sa.Text(),
                              existing_nullable=False, existing_server_default=sa.text("''"))
        batch_op.drop_index(batch_op.f('ix_needs_resident_phone'))
        batch_op.create_index(batch_op.f('ix_needs_resident_phone_hash'), ['resident_phone_hash'], unique=False)
    with op.batch_alter_table('recurrences', schema=None) as batch_op:
        batch_op.alter_column('contact', existing_type=sa.VARCHAR(length=200), type_=sa.Text(), existing_nullable=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_hash', sa.String(length=64), nullable=True))
        batch_op.alter_column('phone', existing_type=sa.VARCHAR(length=20), type_=sa.Text(), existing_nullable=True)
        batch_op.drop_constraint(batch_op.f('uq_users_phone'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_users_phone_hash'), ['phone_hash'])
    for table in ENCRYPTED:
        _convert(table, crypto.encrypt, hashed=True)


def downgrade() -> None:
    from core import crypto

    for table in ENCRYPTED:
        _convert(table, crypto.decrypt, hashed=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_phone_hash'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_users_phone'), ['phone'])
        batch_op.alter_column('phone', existing_type=sa.Text(), type_=sa.VARCHAR(length=20), existing_nullable=True)
        batch_op.drop_column('phone_hash')
    with op.batch_alter_table('recurrences', schema=None) as batch_op:
        batch_op.alter_column('contact', existing_type=sa.Text(), type_=sa.VARCHAR(length=200), existing_nullable=False)
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_needs_resident_phone_hash'))
        batch_op.create_index(batch_op.f('ix_needs_resident_phone'), ['resident_phone'], unique=False)
        batch_op.alter_column('resident_phone', existing_type=sa.Text(), type_=sa.VARCHAR(length=20),
                              existing_nullable=False, existing_server_default=sa.text("''"))
        batch_op.alter_column('resident_name', existing_type=sa.Text(), type_=sa.VARCHAR(length=100),
                              existing_nullable=False, existing_server_default=sa.text("''"))
        batch_op.alter_column('contact', existing_type=sa.Text(), type_=sa.VARCHAR(length=200), existing_nullable=False)
        batch_op.drop_column('resident_phone_hash')
    with op.batch_alter_table('access_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_records_user_id'))
        batch_op.drop_index(batch_op.f('ix_access_records_need_id'))
        batch_op.drop_index(batch_op.f('ix_access_records_at'))
    op.drop_table('access_records')
