"""The SQL of app image configs: lookups by name, writes, and the keyset-paged list."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Select, Text, bindparam, cast, delete, func, insert, select, update

from ..domain.paging import Listing
from .interface import ListedRows
from .schema import APP_IMAGE_CONFIG_MEMBERS, app_image_configs
from .sql import Row, SqlTx, keyset_page, list_params, time_filters, to_millisecond

c = app_image_configs.c
# What a config in a list shows: all of it but its account, region and name key, its blocks as their stored JSON
# text (for the page to carry as they are: decoding and encoding them again was a third of a page's cost)
LISTED_COLUMNS = ("id", "name", "created_at", "modified_at", *APP_IMAGE_CONFIG_MEMBERS.values())
LIST_FILTERS = ("CreationTimeAfter", "CreationTimeBefore", "ModifiedTimeAfter", "ModifiedTimeBefore")
_BLOCKS = frozenset(APP_IMAGE_CONFIG_MEMBERS.values())
_TIMES = frozenset(("created_at", "modified_at"))
_SORT_COLUMNS = {"CreationTime": c.created_at, "LastModifiedTime": c.modified_at, "Name": c.name}
_NAMED = select(app_image_configs).where(
    c.account == bindparam("account"), c.region == bindparam("region"), c.name == bindparam("name")
)
_NAMED_LOCKED = _NAMED.with_for_update()


def _block_text(column: Any) -> Any:
    """A block's stored JSON text, or NULL without one (None written by an import is stored as JSON's null)."""
    return func.nullif(cast(column, Text), "null").label(column.name)


def _shown(column: Any) -> Any:
    """A listed column as a page shows it: a block as its stored text, a time to the millisecond."""
    if column.name in _BLOCKS:
        return _block_text(column)
    return to_millisecond(column).label(column.name) if column.name in _TIMES else column


@functools.cache
def _list_statement(
    sort_by: str, descending: bool, resume: bool, names: tuple[str, ...], contains: bool
) -> Select[Any]:
    sort_col = _SORT_COLUMNS[sort_by]
    shown = (_shown(c[name]) for name in LISTED_COLUMNS)
    query = select(*shown, sort_col.label("sort_key")).where(
        c.account == bindparam("account"),
        c.region == bindparam("region"),
        *time_filters(names, c.created_at, c.modified_at),
    )
    if contains:
        query = query.where(c.name_key.like(bindparam("contains"), escape="/"))
    return keyset_page(query, sort_col, c.id, descending, resume)


class AppImageConfigQueries(SqlTx):
    """App image configs of an account and region (they have no lifecycle: every write is final at once)."""

    def app_image_config(self, account: str, region: str, name: str, lock: bool = False) -> Row | None:
        """A config by its exact name (JSON columns decoded), locked for the transaction with `lock`."""
        query = _NAMED_LOCKED if lock and self.locking else _NAMED
        return next(self._rows(query, {"account": account, "region": region, "name": name}), None)

    def insert_app_image_config(self, values: Row) -> int:
        config_id: int = self.conn.execute(insert(app_image_configs).values(**values).returning(c.id)).scalar_one()
        return config_id

    def update_app_image_config(self, config_id: int, values: Row) -> None:
        self.conn.execute(update(app_image_configs).where(c.id == config_id).values(**values))

    def delete_app_image_config(self, config_id: int) -> None:
        self.conn.execute(delete(app_image_configs).where(c.id == config_id))

    def list_app_image_configs(self, account: str, region: str, listing: Listing) -> ListedRows:
        """A page of an account's configs: their LISTED_COLUMNS, then the sort key."""
        names, params = list_params(0.0, listing, LIST_FILTERS)
        statement = _list_statement(
            listing.sort_by, listing.descending, listing.after is not None, names, "contains" in params
        )
        params.update(account=account, region=region)
        return self._all(statement, params)
