"""App image configs and their tags.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _text(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length=length).with_variant(sa.String(length=length, collation="C"), "postgresql")


def upgrade() -> None:
    # new tables only: servers of the previous release keep running against the migrated database
    op.create_table(
        "app_image_configs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("name", _text(63), nullable=False),
        sa.Column("name_key", _text(63), nullable=False),
        sa.Column("kernel_gateway", sa.JSON(), nullable=True),
        sa.Column("jupyter_lab", sa.JSON(), nullable=True),
        sa.Column("code_editor", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("modified_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account", "region", "name_key", name="uq_app_image_configs_name"),
    )
    op.create_index("ix_app_image_configs_name", "app_image_configs", ["account", "region", "name"])
    op.create_index("ix_app_image_configs_created", "app_image_configs", ["account", "region", "created_at"])
    op.create_table(
        "app_image_config_tags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("config_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(["config_id"], ["app_image_configs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("config_id", "key", name="uq_app_image_config_tags_key"),
    )


def downgrade() -> None:
    op.drop_table("app_image_config_tags")
    op.drop_index("ix_app_image_configs_created", table_name="app_image_configs")
    op.drop_index("ix_app_image_configs_name", table_name="app_image_configs")
    op.drop_table("app_image_configs")
