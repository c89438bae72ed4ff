"""notification delivery state and the job that made a match run

``notifications`` gains what a sender's retries need: ``attempts``, ``next_attempt_at`` (a backoff or a
lease), ``last_error`` and ``dead_at`` (the dead letter, after the last try). ``match_runs.task_id`` names
the Celery task that made a run, unique, so a retried task finds its run and does nothing again.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('dead_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_notifications_next_attempt_at'), ['next_attempt_at'], unique=False)
    with op.batch_alter_table('match_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('task_id', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_match_runs_task_id'), ['task_id'])


def downgrade() -> None:
    with op.batch_alter_table('match_runs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_match_runs_task_id'), type_='unique')
        batch_op.drop_column('task_id')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_next_attempt_at'))
        batch_op.drop_column('dead_at')
        batch_op.drop_column('last_error')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
