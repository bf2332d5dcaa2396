"""Persistence: one store interface (smimages/store/interface.py) over SQLite and PostgreSQL, with migrations."""

from .engine import DEFAULT_POOL_SIZE, Store, default_url, open_store
from .images import JOINED_IMAGE_COLUMNS
from .interface import (
    Aborted,
    BadDatabaseURL,
    Busy,
    CatalogEntry,
    CatalogMissing,
    CatalogStore,
    CatalogTx,
    Claimed,
    ConfigEntry,
    Conflict,
    Disconnected,
    SchemaTooNew,
    SchemaTooOld,
    StoreError,
    Unavailable,
)
from .schema import APP_IMAGE_CONFIG_MEMBERS, COLUMNS, SHOWN_VERSION_COLUMNS, VERSION_MEMBERS

__all__ = [
    "APP_IMAGE_CONFIG_MEMBERS",
    "COLUMNS",
    "DEFAULT_POOL_SIZE",
    "JOINED_IMAGE_COLUMNS",
    "SHOWN_VERSION_COLUMNS",
    "VERSION_MEMBERS",
    "Aborted",
    "BadDatabaseURL",
    "Busy",
    "CatalogEntry",
    "CatalogMissing",
    "CatalogStore",
    "CatalogTx",
    "Claimed",
    "ConfigEntry",
    "Conflict",
    "Disconnected",
    "SchemaTooNew",
    "SchemaTooOld",
    "Store",
    "StoreError",
    "Unavailable",
    "default_url",
    "open_store",
]
