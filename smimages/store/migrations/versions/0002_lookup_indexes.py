"""Indexes for exact-name image lookups and per-image purges of gone versions.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_images_name", "images", ["account", "region", "name"])
    op.create_index("ix_versions_image_due", "image_versions", ["image_id", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_versions_image_due", table_name="image_versions")
    op.drop_index("ix_images_name", table_name="images")
