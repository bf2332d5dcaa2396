"""The store interface: what operations, the worker, snapshots and the registry job may call, and its exceptions."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ..domain.paging import Listing

if TYPE_CHECKING:
    from .health import Health

Row = dict[str, Any]
# A List query's rows as tuples: the list's columns (the store's LISTED_*_COLUMNS), then the sort key. The first
# column is the keyset tiebreak, so a row's position is [its last value, its first] (domain.paging.listed_page); rows
# stay tuples, since a dict per row of a 100-item page cost as much as the rest of the page's Python.
ListedRows = list[tuple[Any, ...]]


class StoreError(Exception):
    """A database condition the store names instead of leaking a driver exception."""


class Conflict(StoreError):
    """A write broke a uniqueness rule (name, version number, client token, alias, tag key)."""


class Aborted(StoreError):
    """The database gave up on a transaction before committing it (a deadlock, a serialization failure, a connection
    lost mid-way): nothing was written, so running it again is safe."""


class Busy(StoreError):
    """A lock another connection holds was not released in time (lock or statement timeout, SQLite's busy
    timeout): nothing was written; the caller may try again later."""


class Unavailable(StoreError):
    """The database cannot serve now: unreachable or lost, read-only, out of disk. `reason` names which, in words a
    person can act on; `fix`, when known, what to do about it."""

    def __init__(self, reason: str, detail: str = "", fix: str = ""):
        text = f"{reason}: {detail}" if detail else reason
        super().__init__(f"{text}; {fix}" if fix else text)
        self.reason = reason
        self.detail = detail
        self.fix = fix


class Disconnected(Unavailable):
    """The connection to the database was refused or lost."""


class ReadOnly(Unavailable):
    """The database refuses writes: a read-only file or file system, a standby after a failover."""


class SchemaTooNew(StoreError):
    """The database was migrated by a newer smimages than this one."""


class SchemaTooOld(StoreError):
    """The database was migrated by an older smimages, and the caller may not migrate it (export, worker, a
    read-only server)."""


class BadDatabaseURL(StoreError):
    """The database URL is malformed or names a database smimages does not support; the message says what to write."""


class CatalogMissing(StoreError):
    """There is no catalog where the URL points (no file, or a database never migrated), and the caller may not
    create one."""


@dataclass(frozen=True)
class Claimed:
    """A version whose registry check a worker holds: what it needs to resolve it and to write the outcome back."""

    id: int
    base_image: str
    attempts: int  # claims so far, this one included


class ImageTx(Protocol):
    """Images, their versions, aliases and tags. Rows come back as the clock at `now` shows them (a due transition
    applied, gone resources absent)."""

    def image(self, account: str, region: str, name: str, now: float, lock: bool = False) -> Row | None: ...

    def image_for_new_version(
        self, account: str, region: str, name: str, now: float, token: str
    ) -> tuple[Row, int | None, bool] | None: ...

    def lock_scope(self, account: str, region: str) -> None: ...

    def purge_gone_image(self, account: str, region: str, name_key: str, now: float) -> None: ...

    def count_images(self, account: str, region: str, now: float) -> int: ...

    def insert_image(self, values: Row) -> int: ...

    def update_image(self, image_id: int, values: Row) -> None: ...

    def list_images(self, account: str, region: str, now: float, listing: Listing) -> ListedRows: ...

    def purge_gone_versions(self, image_id: int, now: float) -> None: ...

    def count_versions(self, image_id: int, now: float) -> int: ...

    def add_version(self, values: Row) -> int: ...

    def update_version(self, version_id: int, values: Row) -> None: ...

    def version(
        self, image_id: int, now: float, number: int | None = None, alias: str | None = None, token: str | None = None
    ) -> Row | None: ...

    def image_version(
        self, account: str, region: str, name: str, now: float, number: int | None = None, alias: str | None = None
    ) -> tuple[Row, Row] | None: ...

    def list_versions(self, image_id: int, now: float, listing: Listing) -> ListedRows: ...

    def aliases(
        self, image_id: int, now: float, version_id: int | None, alias: str | None, after: str | None, limit: int
    ) -> list[str]: ...

    def alias_owners(self, image_id: int, aliases: list[str]) -> dict[str, int]: ...

    def add_aliases(self, image_id: int, version_id: int, aliases: list[str]) -> None: ...

    def remove_aliases(self, version_id: int, aliases: list[str]) -> None: ...


class AppImageConfigTx(Protocol):
    """App image configs; configuration blocks come and go as dicts (JSON in the database)."""

    def app_image_config(self, account: str, region: str, name: str, lock: bool = False) -> Row | None: ...

    def insert_app_image_config(self, values: Row) -> int: ...

    def update_app_image_config(self, config_id: int, values: Row) -> None: ...

    def delete_app_image_config(self, config_id: int) -> None: ...

    def list_app_image_configs(self, account: str, region: str, listing: Listing) -> ListedRows: ...


class TagTx(Protocol):
    """Tags of any taggable resource, named by its kind ("image", ...) and row id, in insertion order."""

    def tags(self, kind: str, resource_id: int, after: int | None = None, limit: int | None = None) -> list[Row]: ...

    def put_tags(self, kind: str, resource_id: int, tags: dict[str, str], existing: list[Row]) -> None: ...

    def delete_tags(self, kind: str, resource_id: int, keys: list[str]) -> None: ...


class LifecycleTx(Protocol):
    """Writing stored transitions down once they fall due (the lifecycle worker)."""

    def claim_due(self, kind: str, now: float, limit: int) -> list[tuple[int, bool]]: ...

    def materialize(self, kind: str, claimed: list[tuple[int, bool]]) -> None: ...

    def next_due(self) -> float | None: ...


class ResolutionTx(Protocol):
    """Registry checks of new versions, claimed under a lease (the registry job)."""

    def claim_resolutions(self, owner: str, now: float, lease: float, limit: int = 1) -> list[Claimed]: ...

    def finish_resolution(
        self, version_id: int, owner: str, now: float, outcome: Row, container_image: str | None = None
    ) -> bool: ...

    def next_resolution_due(self) -> float | None: ...


class ScopeTx(Protocol):
    """Which (account, region) scopes hold resources: the one read no AWS operation answers, made only for the
    console's scope selector (smimages/operations/overview.py)."""

    def scopes(self, now: float) -> list[Row]:
        """[{"account", "region", "images": n, "app_image_configs": n}] for each scope holding a resource that exists
        at `now`, ordered by account and region."""


class CatalogRowsTx(Protocol):
    """The whole catalog as rows, for export and import (smimages/snapshot.py)."""

    def catalog_rows(self) -> dict[str, list[Row]]: ...

    def is_empty(self) -> bool: ...

    def clear(self) -> None: ...

    def insert_catalog(self, images: list[CatalogEntry], configs: list[ConfigEntry]) -> None: ...


@dataclass
class CatalogEntry:
    """One image of a catalog document as columns: the image's, its tags, and its versions with their aliases."""

    image: Row
    tags: list[Row]
    versions: list[tuple[Row, list[str]]]


@dataclass
class ConfigEntry:
    """One app image config of a catalog document as columns: the config's and its tags."""

    config: Row
    tags: list[Row]


class CatalogTx(ImageTx, AppImageConfigTx, TagTx, LifecycleTx, ResolutionTx, CatalogRowsTx, ScopeTx, Protocol):
    """One transaction: everything the catalog's callers may do inside it."""


T = TypeVar("T")


class LoopReader(Protocol):
    """Runs a read request on the event loop, its statements awaited there (smimages/store/loopreads.py)."""

    async def run(self, fn: Callable[..., T], *args: Any) -> T: ...

    async def close(self) -> None:
        """Closes its connections, on the loop that opened them."""


class CatalogStore(Protocol):
    """A catalog database: short transactions, migrations, and what assemblers need to know to serve it."""

    @property
    def serial(self) -> bool:
        """Whether requests should take turns (SQLite's single writer) instead of running on a pool."""

    @property
    def connections(self) -> int:
        """How many requests it can serve at once (the pool's size)."""

    @property
    def memory(self) -> bool:
        """Whether the catalog lives in memory only (gone when the store is closed)."""

    @property
    def display_url(self) -> str:
        """The database URL without its password, for logs."""

    def loop_reader(self) -> LoopReader | None:
        """Where a server runs read requests on the event loop (PostgreSQL), made by the first call; None: they run as
        the other requests do."""

    def transaction(self, write: bool = False, snapshot: bool = False) -> AbstractContextManager[CatalogTx]: ...

    def waiting_since(self, arrived: float) -> AbstractContextManager[None]:
        """Writes begun inside wait for the (SQLite) write lock until `arrived` plus the lock timeout at the latest."""

    def migrate(self) -> str | None:
        """Brings the schema to this release's; returns the revision it was at before (None: it was created)."""

    @property
    def read_only(self) -> bool:
        """Whether this process only reads the catalog (`serve --read-only`)."""

    @property
    def health(self) -> Health:
        """The database's trouble as this process meets it (smimages/store/health.py)."""

    def revision(self) -> str | None: ...

    def readiness(self) -> str | None:
        """Why the database cannot serve now (unreachable, read-only, schema behind, disk full), or None."""

    def dispose(self) -> None: ...
