"""proposals a coordinator confirms: across services, or for a need the classifier was unsure of

A proposal made on a strong skill match by a provider of another service than the need's (按技能
跨服务推荐), or for a need waiting for triage, waits for a coordinator: ``review_required``. Its
``service`` is the one the provider gives; accepting it sets the need's service.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 06:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

SERVICES = ("public", "social", "market", "volunteer")


def upgrade() -> None:
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_required', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('service', sa.String(length=16), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_proposals_service'), f"service IN ({', '.join(repr(s) for s in SERVICES)})")


def downgrade() -> None:
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_proposals_service'), type_='check')
        batch_op.drop_column('service')
        batch_op.drop_column('review_required')
