"""The store's transaction: every family's queries on one connection (what CatalogTx promises)."""

from __future__ import annotations

from .app_image_configs import AppImageConfigQueries
from .images import ImageQueries
from .lifecycle import LifecycleQueries
from .resolution import ResolutionQueries
from .rows import CatalogRows
from .scopes import ScopeQueries
from .tags import TagQueries


class Transaction(
    ImageQueries, AppImageConfigQueries, TagQueries, LifecycleQueries, ResolutionQueries, CatalogRows, ScopeQueries
):
    """One database transaction, with the catalog's reads and writes as methods."""
