"""the database refuses codes it does not know; needs record their channel

Every column holding a code of the vocabulary (statuses, roles, services, urgencies, kinds, forces,
scope types, channels) gets a CHECK constraint, so a value written by hand in SQL, a script or a
bug cannot slip past the schemas. ``needs.channel`` says how a need reached the grid.

The codes are written out here, not imported: a migration describes the schema at its revision.
On SQLite the tables are rebuilt (batch mode); the runner turns foreign keys off while it does so,
so rebuilding ``needs`` does not cascade into proposals and the audit trail.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 04:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

STATUSES = ("submitted", "triage", "proposed", "accepted", "approved", "in_service", "done", "closed",
            "unmatched", "escalated", "cancelled")
SERVICES = ("public", "social", "market", "volunteer")
ROLES = ("resident", "volunteer", "coordinator", "reviewer", "admin")

# table -> [(constraint name, column, allowed codes)]
CHECKS = {
    "needs": [
        ("ck_needs_status", "status", STATUSES),
        ("ck_needs_service", "service", SERVICES),
        ("ck_needs_urgency", "urgency", ("low", "normal", "high", "urgent")),
        ("ck_needs_channel", "channel", ("app", "hotline", "visit", "building_head", "snapshot", "walk_in",
                                         "import")),
    ],
    "proposals": [("ck_proposals_status", "status", ("proposed", "accepted", "declined", "withdrawn"))],
    "resources": [("ck_resources_service", "service", SERVICES)],
    "volunteers": [
        ("ck_volunteers_kind", "kind", ("person", "organization")),
        ("ck_volunteers_force", "force", ("governance", "liaison", "cobuilding", "professional", "selfgov")),
    ],
    "users": [
        ("ck_users_role", "role", ROLES),
        ("ck_users_scope_type", "scope_type", ("grid", "party_grid", "organization")),
    ],
    "audit_entries": [
        ("ck_audit_entries_actor_role", "actor_role", (*ROLES, "system")),
        ("ck_audit_entries_from_status", "from_status", ("", *STATUSES)),
        ("ck_audit_entries_to_status", "to_status", STATUSES),
    ],
}


def _condition(column: str, codes: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(c) for c in codes)})"


def upgrade() -> None:
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), server_default='app', nullable=False))
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, column, codes in checks:
                batch_op.create_check_constraint(op.f(name), _condition(column, codes))


def downgrade() -> None:
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _column, _codes in checks:
                batch_op.drop_constraint(op.f(name), type_="check")
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_column('channel')
