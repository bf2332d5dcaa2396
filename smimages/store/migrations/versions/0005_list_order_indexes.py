"""Indexes in each list's whole order (its sort column, then its tiebreak), so that a page is read in order and
stops at its limit instead of sorting what it skips.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# name, table, columns before, columns now (None: a new index)
_CHANGED = (
    ("ix_versions_created", "image_versions", ["image_id", "created_at"], ["image_id", "created_at", "version"]),
    ("ix_images_created", "images", None, ["account", "region", "created_at", "id"]),
    ("ix_images_name", "images", ["account", "region", "name"], ["account", "region", "name", "id"]),
    (
        "ix_app_image_configs_created",
        "app_image_configs",
        ["account", "region", "created_at"],
        ["account", "region", "created_at", "id"],
    ),
    (
        "ix_app_image_configs_name",
        "app_image_configs",
        ["account", "region", "name"],
        ["account", "region", "name", "id"],
    ),
)


def upgrade() -> None:
    for name, table, before, now in _CHANGED:
        if before is not None:
            op.drop_index(name, table_name=table)
        op.create_index(name, table, now)


def downgrade() -> None:
    for name, table, before, _ in reversed(_CHANGED):
        op.drop_index(name, table_name=table)
        if before is not None:
            op.create_index(name, table, before)
