"""The SQL of images, their versions and aliases, written once in SQLAlchemy Core for both backends."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Result, Select, bindparam, delete, func, insert, select, update

from ..domain.lifecycle import effective
from ..domain.paging import Listing
from .interface import ListedRows
from .schema import SHOWN_VERSION_COLUMNS, image_versions, images, version_aliases
from .sql import (
    SHOWN_LIFECYCLE,
    Row,
    SqlTx,
    gone,
    keyset_page,
    list_params,
    listed,
    modified,
    time_filters,
    visible,
)

# The image columns a joined image-and-version read fetches beside the version's SHOWN_VERSION_COLUMNS. Each column
# fetched costs (the sqlite3 driver gives up and takes back the GIL for every column of a row).
JOINED_IMAGE_COLUMNS = ("id", "name")
# What a version in a list shows (the ImageVersion summary): its number and its lifecycle as the clock shows it
# (sql.shown_lifecycle); fetched alone, since each column costs on every row
LISTED_VERSION_COLUMNS = ("version", *SHOWN_LIFECYCLE)
# What an image in a list shows (the ImageSummary): likewise
LISTED_IMAGE_COLUMNS = ("id", "name", "description", "display_name", *SHOWN_LIFECYCLE)
_SELECTORS = ("number", "alias", "token", "latest")
_IMAGE_COLUMNS = tuple(images.c.keys())
_VERSION_COLUMNS = tuple(image_versions.c.keys())
_NAMED = (
    images.c.account == bindparam("account"),
    images.c.region == bindparam("region"),
    images.c.name == bindparam("name"),
)
_IMAGE = select(images).where(*_NAMED)
_IMAGE_LOCKED = _IMAGE.with_for_update()
# An image with the number of its version holding a client token, and whether that version is still visible: what a
# new version's transaction reads first (one statement instead of two). Only the image row is locked.
_TOKEN = image_versions.alias("token")
_TOKEN_MATCH = (_TOKEN.c.image_id == images.c.id, _TOKEN.c.client_token == bindparam("token"))
_IMAGE_AND_TOKEN = select(
    images,
    select(_TOKEN.c.version).where(*_TOKEN_MATCH).scalar_subquery(),
    select(visible(_TOKEN)).where(*_TOKEN_MATCH).scalar_subquery(),
).where(*_NAMED)
_IMAGE_AND_TOKEN_LOCKED = _IMAGE_AND_TOKEN.with_for_update(of=images)
_PURGE_GONE_VERSIONS = delete(image_versions).where(
    image_versions.c.image_id == bindparam("image_id"), gone(image_versions)
)


def _versions(by: str, image_id: Any) -> Select[Any]:
    """The visible version of image `image_id` (a bound id or a joined image's column) by number, alias or client
    token (bound as :key), or the highest-numbered one ("latest")."""
    query = select(image_versions).where(image_versions.c.image_id == image_id, visible(image_versions))
    if by == "number":
        return query.where(image_versions.c.version == bindparam("key"))
    if by == "alias":
        return query.join(version_aliases, version_aliases.c.version_id == image_versions.c.id).where(
            version_aliases.c.image_id == image_id, version_aliases.c.alias == bindparam("key")
        )
    if by == "token":
        return query.where(image_versions.c.client_token == bindparam("key"))
    # a subquery rather than ORDER BY ... LIMIT 1, which would sort every version once joined to images
    newest = image_versions.alias("newest")
    latest = (
        select(newest.c.version)
        .where(newest.c.image_id == image_id, visible(newest))
        .order_by(newest.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    return query.where(image_versions.c.version == latest)


_VERSION_BY = {by: _versions(by, bindparam("image_id")) for by in _SELECTORS}
# A version and its image by the image's name, one statement instead of two, fetching only what a read shows.
_IMAGE_VERSION_BY = {
    by: _versions(by, images.c.id)
    .with_only_columns(
        *(image_versions.c[c] for c in SHOWN_VERSION_COLUMNS), *(images.c[c] for c in JOINED_IMAGE_COLUMNS)
    )
    .where(*_NAMED, visible(images))
    for by in _SELECTORS
}


@functools.cache
def _list_images_statement(
    sort_by: str, descending: bool, resume: bool, names: tuple[str, ...], contains: bool
) -> Select[Any]:
    sort_col = {
        "CREATION_TIME": images.c.created_at,
        "LAST_MODIFIED_TIME": modified(images),
        "IMAGE_NAME": images.c.name,
    }[sort_by]
    query = select(*listed(images, LISTED_IMAGE_COLUMNS), sort_col.label("sort_key")).where(
        images.c.account == bindparam("account"),
        images.c.region == bindparam("region"),
        visible(images),
        *time_filters(names, images.c.created_at, modified(images)),
    )
    if contains:
        query = query.where(images.c.name_key.like(bindparam("contains"), escape="/"))
    return keyset_page(query, sort_col, images.c.id, descending, resume)


@functools.cache
def _list_versions_statement(sort_by: str, descending: bool, resume: bool, names: tuple[str, ...]) -> Select[Any]:
    sort_col = {
        "CREATION_TIME": image_versions.c.created_at,
        "LAST_MODIFIED_TIME": modified(image_versions),
        "VERSION": image_versions.c.version,
    }[sort_by]
    query = select(*listed(image_versions, LISTED_VERSION_COLUMNS), sort_col.label("sort_key")).where(
        image_versions.c.image_id == bindparam("image_id"),
        visible(image_versions),
        *time_filters(names, image_versions.c.created_at, modified(image_versions)),
    )
    return keyset_page(query, sort_col, image_versions.c.version, descending, resume)


@functools.cache
def _aliases_statement(one_version: bool, one_alias: bool, resume: bool) -> Select[Any]:
    query = (
        select(version_aliases.c.alias)
        .join(image_versions, image_versions.c.id == version_aliases.c.version_id)
        .where(version_aliases.c.image_id == bindparam("image_id"), visible(image_versions))
    )
    if one_version:
        query = query.where(version_aliases.c.version_id == bindparam("version_id"))
    if one_alias:
        query = query.where(version_aliases.c.alias == bindparam("alias"))
    if resume:
        query = query.where(version_aliases.c.alias > bindparam("after"))
    return query.order_by(version_aliases.c.alias).limit(bindparam("limit"))


def _selector(number: int | None, alias: str | None, token: str | None) -> tuple[str, object]:
    """How a version is chosen: (by, key) for the first of number, alias and token given, else ("latest", None)."""
    for by, key in (("number", number), ("alias", alias), ("token", token)):
        if key is not None:
            return by, key
    return "latest", None


def _version(values: tuple[Any, ...], columns: tuple[str, ...] = _VERSION_COLUMNS) -> Row:
    """An image_versions row (or those of its columns that are given) from the driver's values, in column order."""
    row = dict(zip(columns, values, strict=False))
    if row["horovod"] is not None:
        row["horovod"] = bool(row["horovod"])  # SQLite stores Booleans as 0 / 1
    return row


class ImageQueries(SqlTx):
    """Images, versions and aliases; rows as the clock at `now` shows them."""

    # images

    def image(self, account: str, region: str, name: str, now: float, lock: bool = False) -> Row | None:
        query = _IMAGE_LOCKED if lock and self.locking else _IMAGE
        row = self._first(query, {"account": account, "region": region, "name": name})
        return None if row is None else effective(dict(zip(_IMAGE_COLUMNS, row, strict=False)), now)

    def image_for_new_version(
        self, account: str, region: str, name: str, now: float, token: str
    ) -> tuple[Row, int | None, bool] | None:
        """An image locked for adding a version (FOR UPDATE on PostgreSQL), and the number of its version holding
        `token` with whether that version is still visible (None, False when none has it); None without the image."""
        query = _IMAGE_AND_TOKEN_LOCKED if self.locking else _IMAGE_AND_TOKEN
        row = self._first(query, {"account": account, "region": region, "name": name, "now": now, "token": token})
        if row is None:
            return None
        image = effective(dict(zip(_IMAGE_COLUMNS, row, strict=False)), now)
        if image is None:
            return None
        return image, row[-2], bool(row[-1])

    def lock_scope(self, account: str, region: str) -> None:
        """Makes concurrent writers of one (account, region) take turns until commit (SQLite writers always do)."""
        if self.locking:
            self.conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"{account}/{region}"))))

    def purge_gone_image(self, account: str, region: str, name_key: str, now: float) -> None:
        self.conn.execute(
            delete(images).where(
                images.c.account == account,
                images.c.region == region,
                images.c.name_key == name_key,
                gone(images, now),
            )
        )

    def count_images(self, account: str, region: str, now: float) -> int:
        counted: int = self.conn.execute(
            select(func.count())
            .select_from(images)
            .where(images.c.account == account, images.c.region == region, visible(images, now))
        ).scalar_one()
        return counted

    def insert_image(self, values: Row) -> int:
        image_id: int = self.conn.execute(insert(images).values(**values).returning(images.c.id)).scalar_one()
        return image_id

    def update_image(self, image_id: int, values: Row) -> None:
        self.conn.execute(update(images).where(images.c.id == image_id).values(**values))

    def list_images(self, account: str, region: str, now: float, listing: Listing) -> ListedRows:
        """A page of an account's visible images: their LISTED_IMAGE_COLUMNS, then the sort key."""
        names, params = list_params(now, listing)
        statement = _list_images_statement(
            listing.sort_by, listing.descending, listing.after is not None, names, "contains" in params
        )
        params.update(account=account, region=region)
        return self._all(statement, params)

    # versions

    def purge_gone_versions(self, image_id: int, now: float) -> None:
        self.conn.execute(_PURGE_GONE_VERSIONS, {"image_id": image_id, "now": now})

    def count_versions(self, image_id: int, now: float) -> int:
        counted: int = self.conn.execute(
            select(func.count())
            .select_from(image_versions)
            .where(image_versions.c.image_id == image_id, visible(image_versions, now))
        ).scalar_one()
        return counted

    def add_version(self, values: Row) -> int:
        """Inserts a version and records its number as the last its image handed out (callers hold the image's lock
        and number it next_version + 1, so numbers are never handed out twice); on PostgreSQL in one statement (the
        update as a CTE), a round trip less inside the image's lock."""
        bump = update(images).where(images.c.id == values["image_id"]).values(next_version=values["version"])
        statement = insert(image_versions).values(**values).returning(image_versions.c.id)
        if self.locking:
            statement = statement.add_cte(bump.cte("bump"))
        else:
            self.conn.execute(bump)
        version_id: int = self.conn.execute(statement).scalar_one()
        return version_id

    def update_version(self, version_id: int, values: Row) -> None:
        self.conn.execute(update(image_versions).where(image_versions.c.id == version_id).values(**values))

    def version(
        self, image_id: int, now: float, number: int | None = None, alias: str | None = None, token: str | None = None
    ) -> Row | None:
        """One version by number, alias or client token; the highest-numbered visible one if none is given."""
        by, key = _selector(number, alias, token)
        row = self._first(_VERSION_BY[by], {"image_id": image_id, "now": now, "key": key})
        return None if row is None else effective(_version(row), now)

    def image_version(
        self, account: str, region: str, name: str, now: float, number: int | None = None, alias: str | None = None
    ) -> tuple[Row, Row] | None:
        """A visible image by name (its JOINED_IMAGE_COLUMNS) and one of its versions (its SHOWN_VERSION_COLUMNS),
        as image() then version() find them, in one statement; None when either is missing."""
        by, key = _selector(number, alias, None)
        params = {"account": account, "region": region, "name": name, "now": now, "key": key}
        row = self._first(_IMAGE_VERSION_BY[by], params)
        if row is None:
            return None
        split = len(SHOWN_VERSION_COLUMNS)
        image = dict(zip(JOINED_IMAGE_COLUMNS, row[split:], strict=False))
        version = effective(_version(row[:split], SHOWN_VERSION_COLUMNS), now)
        return None if version is None else (image, version)  # its WHERE keeps gone versions out

    def list_versions(self, image_id: int, now: float, listing: Listing) -> ListedRows:
        """A page of an image's visible versions: their LISTED_VERSION_COLUMNS, then the sort key."""
        names, params = list_params(now, listing)
        statement = _list_versions_statement(listing.sort_by, listing.descending, listing.after is not None, names)
        return self._all(statement, {**params, "image_id": image_id})

    # aliases

    def aliases(
        self, image_id: int, now: float, version_id: int | None, alias: str | None, after: str | None, limit: int
    ) -> list[str]:
        """Aliases of an image's visible versions (or of one version), in name order."""
        statement = _aliases_statement(version_id is not None, alias is not None, after is not None)
        params = {
            "image_id": image_id,
            "now": now,
            "version_id": version_id,
            "alias": alias,
            "after": after,
            "limit": limit + 1,
        }
        return list(self.conn.execute(statement, params).scalars())

    def alias_owners(self, image_id: int, aliases: list[str]) -> dict[str, int]:
        """alias -> id of the version holding it, for those of `aliases` taken (callers purge gone versions first)."""
        rows: Result[str, int] = self.conn.execute(
            select(version_aliases.c.alias, version_aliases.c.version_id).where(
                version_aliases.c.image_id == image_id, version_aliases.c.alias.in_(aliases)
            )
        )
        return {alias: version_id for alias, version_id in rows}

    def add_aliases(self, image_id: int, version_id: int, aliases: list[str]) -> None:
        rows = [{"image_id": image_id, "version_id": version_id, "alias": alias} for alias in aliases]
        self.conn.execute(insert(version_aliases).values(rows))

    def remove_aliases(self, version_id: int, aliases: list[str]) -> None:
        self.conn.execute(
            delete(version_aliases).where(
                version_aliases.c.version_id == version_id, version_aliases.c.alias.in_(aliases)
            )
        )
