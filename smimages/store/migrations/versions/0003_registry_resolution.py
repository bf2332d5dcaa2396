"""Registry resolution of new image versions: the claim columns (due time / lease expiry, owner, attempts) and the
earliest time an outcome may show.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable columns only: servers of the previous release keep running against the migrated database
    # (plain ALTER TABLE ADD COLUMN on both backends: SQLite never rebuilds the table for it)
    op.add_column("image_versions", sa.Column("resolve_due", sa.Float(), nullable=True))
    op.add_column("image_versions", sa.Column("resolve_owner", sa.String(length=64), nullable=True))
    op.add_column("image_versions", sa.Column("resolve_attempts", sa.Integer(), nullable=True))
    op.add_column("image_versions", sa.Column("min_due_at", sa.Float(), nullable=True))
    op.create_index("ix_versions_resolve_due", "image_versions", ["resolve_due"])


def downgrade() -> None:
    op.drop_index("ix_versions_resolve_due", table_name="image_versions")
    with op.batch_alter_table("image_versions") as batch_op:  # SQLite drops columns by rebuilding the table
        for column in ("min_due_at", "resolve_attempts", "resolve_owner", "resolve_due"):
            batch_op.drop_column(column)
