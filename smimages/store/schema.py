"""The catalog's tables: the one schema definition both backends and the migrations share."""
from sqlalchemy import (Boolean, Column, Float, ForeignKey, Index, Integer, MetaData, PrimaryKeyConstraint,
                        String, Table, UniqueConstraint)

metadata = MetaData()


def _text(length: int) -> String:
    """A string column that compares byte-wise on both backends, so name ordering agrees."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def _lifecycle() -> list[Column]:
    """Status columns plus the one pending transition a resource may have (target, reason, due time)."""
    return [
        Column("status", String(16), nullable=False),
        Column("failure_reason", String(1024)),
        Column("created_at", Float, nullable=False),
        Column("modified_at", Float, nullable=False),
        Column("pending_status", String(16)),
        Column("pending_reason", String(1024)),
        Column("due_at", Float),
    ]


images = Table(
    "images", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", _text(63), nullable=False),
    Column("name_key", _text(63), nullable=False),
    Column("role_arn", String(2048), nullable=False),
    Column("description", String(512)),
    Column("display_name", String(128)),
    Column("next_version", Integer, nullable=False),
    *_lifecycle(),
    UniqueConstraint("account", "region", "name_key", name="uq_images_name"),
    Index("ix_images_due", "due_at"),
    Index("ix_images_name", "account", "region", "name"),
)

image_versions = Table(
    "image_versions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("image_id", Integer, ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("client_token", String(36), nullable=False),
    Column("base_image", String(255), nullable=False),
    Column("container_image", String(255)),
    Column("vendor_guidance", String(16)),
    Column("job_type", String(16)),
    Column("ml_framework", String(128)),
    Column("programming_lang", String(128)),
    Column("processor", String(8)),
    Column("horovod", Boolean),
    Column("release_notes", String(255)),
    *_lifecycle(),
    # the registry check of a CREATING version (--registry-check on; smimages/store/resolution.py): resolve_due is
    # NULL when there is nothing to resolve, else when a worker may claim it (at first the creation time, then the
    # expiry of the claiming worker's lease); resolve_owner holds the lease; resolve_attempts counts claims;
    # min_due_at is the earliest time the outcome may show (creation time + transition delay)
    Column("resolve_due", Float),
    Column("resolve_owner", String(64)),
    Column("resolve_attempts", Integer),
    Column("min_due_at", Float),
    UniqueConstraint("image_id", "version", name="uq_versions_number"),
    UniqueConstraint("image_id", "client_token", name="uq_versions_token"),
    Index("ix_versions_created", "image_id", "created_at"),
    Index("ix_versions_due", "due_at"),
    Index("ix_versions_image_due", "image_id", "due_at"),
    Index("ix_versions_resolve_due", "resolve_due"),
)

version_aliases = Table(
    "version_aliases", metadata,
    Column("image_id", Integer, ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    Column("alias", _text(128), nullable=False),
    Column("version_id", Integer, ForeignKey("image_versions.id", ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("image_id", "alias", name="pk_version_aliases"),
    Index("ix_aliases_version", "version_id"),
)

image_tags = Table(
    "image_tags", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("image_id", Integer, ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(128), nullable=False),
    Column("value", String(256), nullable=False),
    UniqueConstraint("image_id", "key", name="uq_tags_key"),
)
