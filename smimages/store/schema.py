"""The catalog's tables: the one schema definition both backends and the migrations share."""

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

metadata = MetaData()


def _text(length: int) -> String:
    """A string column that compares byte-wise on both backends, so name ordering agrees."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def _member(name: str, type_: String | type[Boolean] | type[JSON], api: str) -> Column[Any]:
    """A column an API member reads and writes as it is (an image version's metadata, an app image config's
    configuration blocks): declared here once, the operations take it from the *_MEMBERS maps below."""
    return Column(name, type_, info={"api": api})


def _internal(name: str, type_: type[Integer] | type[Float[Any]] | String, **kwargs: Any) -> Column[Any]:
    """A column only the store and the worker use: reads that show a resource do not fetch it."""
    return Column(name, type_, info={"internal": True}, **kwargs)


def _lifecycle() -> list[Column[Any]]:
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
    "images",
    metadata,
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
    # each list's whole order (sort column, then tiebreak): a page is read in order and stops at its limit
    Index("ix_images_name", "account", "region", "name", "id"),
    Index("ix_images_created", "account", "region", "created_at", "id"),
)

image_versions = Table(
    "image_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("image_id", Integer, ForeignKey("images.id", ondelete="CASCADE"), nullable=False, info={"internal": True}),
    Column("version", Integer, nullable=False),
    _internal("client_token", String(36), nullable=False),
    Column("base_image", String(255), nullable=False),
    Column("container_image", String(255)),
    _member("vendor_guidance", String(16), "VendorGuidance"),
    _member("job_type", String(16), "JobType"),
    _member("ml_framework", String(128), "MLFramework"),
    _member("programming_lang", String(128), "ProgrammingLang"),
    _member("processor", String(8), "Processor"),
    _member("horovod", Boolean, "Horovod"),
    _member("release_notes", String(255), "ReleaseNotes"),
    *_lifecycle(),
    # the registry check of a CREATING version (--registry-check on; smimages/store/resolution.py): resolve_due is
    # NULL when there is nothing to resolve, else when a worker may claim it (at first the creation time, then the
    # expiry of the claiming worker's lease); resolve_owner holds the lease; resolve_attempts counts claims;
    # min_due_at is the earliest time the outcome may show (creation time + transition delay)
    _internal("resolve_due", Float),
    _internal("resolve_owner", String(64)),
    _internal("resolve_attempts", Integer),
    _internal("min_due_at", Float),
    UniqueConstraint("image_id", "version", name="uq_versions_number"),
    UniqueConstraint("image_id", "client_token", name="uq_versions_token"),
    Index("ix_versions_created", "image_id", "created_at", "version"),
    Index("ix_versions_due", "due_at"),
    Index("ix_versions_image_due", "image_id", "due_at"),
    Index("ix_versions_resolve_due", "resolve_due"),
)

version_aliases = Table(
    "version_aliases",
    metadata,
    Column("image_id", Integer, ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    Column("alias", _text(128), nullable=False),
    Column("version_id", Integer, ForeignKey("image_versions.id", ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("image_id", "alias", name="pk_version_aliases"),
    Index("ix_aliases_version", "version_id"),
)

image_tags = Table(
    "image_tags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("image_id", Integer, ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(128), nullable=False),
    Column("value", String(256), nullable=False),
    UniqueConstraint("image_id", "key", name="uq_tags_key"),
)

app_image_configs = Table(
    "app_image_configs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", _text(63), nullable=False),
    Column("name_key", _text(63), nullable=False),
    # each configuration block as the request gave it (JSON), None when the config has none
    _member("kernel_gateway", JSON, "KernelGatewayImageConfig"),
    _member("jupyter_lab", JSON, "JupyterLabAppImageConfig"),
    _member("code_editor", JSON, "CodeEditorAppImageConfig"),
    Column("created_at", Float, nullable=False),
    Column("modified_at", Float, nullable=False),
    UniqueConstraint("account", "region", "name_key", name="uq_app_image_configs_name"),
    Index("ix_app_image_configs_name", "account", "region", "name", "id"),
    Index("ix_app_image_configs_created", "account", "region", "created_at", "id"),
)

app_image_config_tags = Table(
    "app_image_config_tags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("config_id", Integer, ForeignKey("app_image_configs.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(128), nullable=False),
    Column("value", String(256), nullable=False),
    UniqueConstraint("config_id", "key", name="uq_app_image_config_tags_key"),
)


def _members(table: Table) -> dict[str, str]:
    """API member -> column, for the columns declared by _member."""
    return {c.info["api"]: c.name for c in table.c if "api" in c.info}


# What the rest of smimages may know of the tables: plain names, no SQLAlchemy objects.
# An image version's metadata members, and an app image config's configuration blocks: API name -> column.
VERSION_MEMBERS: dict[str, str] = _members(image_versions)
APP_IMAGE_CONFIG_MEMBERS: dict[str, str] = _members(app_image_configs)
# The version columns a read that shows a version fetches (every column but the internal ones).
SHOWN_VERSION_COLUMNS: tuple[str, ...] = tuple(c.name for c in image_versions.c if not c.info.get("internal"))
# Every column of each table, by table name.
COLUMNS: dict[str, tuple[str, ...]] = {table.name: tuple(table.c.keys()) for table in metadata.sorted_tables}


def _kind(column: Column[Any]) -> tuple[str, int | None, bool]:
    """(kind, maximum length, whether it may be null): "text", "integer", "number", "boolean" or "json"."""
    kinds = ((Boolean, "boolean"), (Integer, "integer"), (Float, "number"), (JSON, "json"), (String, "text"))
    kind = next(name for type_, name in kinds if isinstance(column.type, type_))
    return kind, getattr(column.type, "length", None), bool(column.nullable)


# What a value of each column must be, by table and column name (for documents imported into the catalog).
COLUMN_KINDS: dict[str, dict[str, tuple[str, int | None, bool]]] = {
    table.name: {column.name: _kind(column) for column in table.c} for table in metadata.sorted_tables
}
