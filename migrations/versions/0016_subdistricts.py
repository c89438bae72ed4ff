"""subdistricts: a city's deployment holds many

``subdistricts`` (code, name, and ``map_version``, raised by every change to its grid map). Communities, Party grids, grids, government resources and volunteers belong to
one (``subdistrict_id``, required); needs belong to their grid's. Resources and volunteers are indexed by (subdistrict, last edit) for the provider index's check of what changed.
``users.subdistrict_id`` names a staff
account's subdistrict (an admin with none is the city's); ``match_runs.subdistrict_id`` the subdistrict a batch
matched. A deployment that already holds data was one subdistrict: it becomes ``main`` (本街道), and every
account but residents' belongs to it, admins included (a city account is made on purpose).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 12:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

OWNED = ("communities", "party_grids", "grids", "resources", "volunteers")


def upgrade() -> None:
    op.create_table(
        'subdistricts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('map_version', sa.Integer(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_subdistricts')),
        sa.UniqueConstraint('code', name=op.f('uq_subdistricts_code')),
    )
    for table in (*OWNED, "users", "match_runs"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('subdistrict_id', sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f'ix_{table}_subdistrict_id'), ['subdistrict_id'], unique=False)
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_subdistrict_id_subdistricts'), 'subdistricts',
                                        ['subdistrict_id'], ['id'])
    bind = op.get_bind()
    held = any(bind.execute(sa.text(f"SELECT 1 FROM {t} LIMIT 1")).first() for t in (*OWNED, "users"))
    if held:
        bind.execute(sa.text("INSERT INTO subdistricts (code, name) VALUES ('main', '本街道')"))
        main = bind.execute(sa.text("SELECT id FROM subdistricts WHERE code = 'main'")).scalar_one()
        for table in OWNED:
            bind.execute(sa.text(f"UPDATE {table} SET subdistrict_id = :s"), {"s": main})
        bind.execute(sa.text("UPDATE users SET subdistrict_id = :s WHERE role <> 'resident'"), {"s": main})
        bind.execute(sa.text("UPDATE match_runs SET subdistrict_id = :s"), {"s": main})
    for table in OWNED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('subdistrict_id', existing_type=sa.Integer(), nullable=False)
    # A subdistrict's last provider edit, asked by the provider index on every use.
    for table in ("resources", "volunteers"):
        op.create_index(f'ix_{table}_subdistrict_updated', table, ['subdistrict_id', 'updated_at'], unique=False)


def downgrade() -> None:
    for table in ("resources", "volunteers"):
        op.drop_index(f'ix_{table}_subdistrict_updated', table_name=table)
    for table in reversed((*OWNED, "users", "match_runs")):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_subdistrict_id_subdistricts'), type_='foreignkey')
            batch_op.drop_index(batch_op.f(f'ix_{table}_subdistrict_id'))
            batch_op.drop_column('subdistrict_id')
    op.drop_table('subdistricts')
