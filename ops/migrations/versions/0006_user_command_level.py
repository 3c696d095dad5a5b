"""Users carry a command level (city, district, department); NULL is the centre's top level.

Revision ID: 0006_user_command_level
Revises: 0005_incidents_dispatch
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_user_command_level"
down_revision = "0005_incidents_dispatch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("command_level", sa.Text, nullable=True))
    op.create_check_constraint(
        "users_command_level",
        "users",
        "command_level IN ('department', 'district', 'city')",
    )


def downgrade() -> None:
    op.drop_constraint("users_command_level", "users", type_="check")
    op.drop_column("users", "command_level")
