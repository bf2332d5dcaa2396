"""The catalog's queries, written once in SQLAlchemy Core for both backends; rows come back as the clock shows them."""
import functools
from typing import Iterator

from sqlalchemy import Connection, Float, and_, bindparam, case, delete, func, insert, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError

from ..domain.lifecycle import GONE, effective
from .schema import image_tags, image_versions, images, version_aliases


class Conflict(Exception):
    """A write broke a uniqueness rule (name, version number, client token, alias, tag key)."""


class Aborted(Exception):
    """The database gave up on a transaction before committing it (a deadlock, a connection lost mid-way):
    nothing was written, so running it again is safe."""


# Statements are built once with bound parameters (":now" is the request's clock reading) and reused: building
# a SQLAlchemy statement per call costs more than running it.
_NOW = bindparam("now", type_=Float)
_TIME_FILTERS = ("CreationTimeAfter", "CreationTimeBefore", "LastModifiedTimeAfter", "LastModifiedTimeBefore")


def _gone(table, now=_NOW):
    return and_(table.c.pending_status == GONE, table.c.due_at <= now)


def _visible(table, now=_NOW):
    return or_(table.c.due_at.is_(None), table.c.due_at > now, table.c.pending_status != GONE)


def _modified(table):
    """LastModifiedTime as the clock shows it: a due transition's time, else the stored one."""
    return case((table.c.due_at <= _NOW, table.c.due_at), else_=table.c.modified_at)


def _page(query, sort_col, tiebreak, descending: bool, resume: bool):
    """Keyset paging: rows strictly after (:key, :last) in the requested order, at most :limit of them.

    The redundant bound on the sort column alone lets the database range-scan its index instead of filtering."""
    if resume:
        key, last = bindparam("key"), bindparam("last")
        if descending:
            query = query.where(sort_col <= key, or_(sort_col < key, and_(sort_col == key, tiebreak < last)))
        else:
            query = query.where(sort_col >= key, or_(sort_col > key, and_(sort_col == key, tiebreak > last)))
    order = (sort_col.desc(), tiebreak.desc()) if descending else (sort_col.asc(), tiebreak.asc())
    return query.order_by(*order).limit(bindparam("limit"))


def _time_filters(table, names: tuple[str, ...]) -> list:
    """The inclusive time-window filters of a List request ("on or after", "on or before"), bound by name."""
    modified = _modified(table)
    bounds = {
        "CreationTimeAfter": lambda t: table.c.created_at >= t,
        "CreationTimeBefore": lambda t: table.c.created_at <= t,
        "LastModifiedTimeAfter": lambda t: modified >= t,
        "LastModifiedTimeBefore": lambda t: modified <= t,
    }
    return [bounds[name](bindparam(name)) for name in names]


def _list_params(now: float, filters: dict, after: list | None, limit: int) -> tuple[tuple, dict]:
    """The time filters a List request uses, and the parameters of its statement."""
    names = tuple(name for name in _TIME_FILTERS if filters.get(name) is not None)
    params = {"now": now, "limit": limit + 1, **{name: filters[name] for name in names}}
    if after is not None:
        params.update(key=after[0], last=after[1])
    return names, params


@functools.cache
def _list_images_statement(sort_by: str, descending: bool, resume: bool, names: tuple, contains: bool):
    sort_col = {"CREATION_TIME": images.c.created_at, "LAST_MODIFIED_TIME": _modified(images),
                "IMAGE_NAME": images.c.name}[sort_by]
    query = select(images, sort_col.label("sort_key")).where(
        images.c.account == bindparam("account"), images.c.region == bindparam("region"), _visible(images),
        *_time_filters(images, names))
    if contains:
        query = query.where(images.c.name_key.like(bindparam("contains"), escape="/"))
    return _page(query, sort_col, images.c.id, descending, resume)


@functools.cache
def _list_versions_statement(sort_by: str, descending: bool, resume: bool, names: tuple):
    sort_col = {"CREATION_TIME": image_versions.c.created_at, "LAST_MODIFIED_TIME": _modified(image_versions),
                "VERSION": image_versions.c.version}[sort_by]
    query = select(image_versions, sort_col.label("sort_key")).where(
        image_versions.c.image_id == bindparam("image_id"), _visible(image_versions),
        *_time_filters(image_versions, names))
    return _page(query, sort_col, image_versions.c.version, descending, resume)


@functools.cache
def _aliases_statement(one_version: bool, one_alias: bool, resume: bool):
    query = (select(version_aliases.c.alias)
             .join(image_versions, image_versions.c.id == version_aliases.c.version_id)
             .where(version_aliases.c.image_id == bindparam("image_id"), _visible(image_versions)))
    if one_version:
        query = query.where(version_aliases.c.version_id == bindparam("version_id"))
    if one_alias:
        query = query.where(version_aliases.c.alias == bindparam("alias"))
    if resume:
        query = query.where(version_aliases.c.alias > bindparam("after"))
    return query.order_by(version_aliases.c.alias).limit(bindparam("limit"))


_PURGE_GONE_VERSIONS = delete(image_versions).where(image_versions.c.image_id == bindparam("image_id"),
                                                    _gone(image_versions))


@functools.cache
def _driver_sql(statement, dialect) -> tuple:
    """A statement compiled once per dialect: (SQL text, its parameters' fixed values, positional order or None)."""
    compiled = statement.compile(dialect=dialect)
    positions = getattr(compiled, "positiontup", None)
    return compiled.string, compiled.params, tuple(positions) if positions else None


_SELECTORS = ("number", "alias", "token", "latest")
_IMAGE_COLUMNS = tuple(images.c.keys())
_VERSION_COLUMNS = tuple(image_versions.c.keys())
_NAMED = (images.c.account == bindparam("account"), images.c.region == bindparam("region"),
          images.c.name == bindparam("name"))
_IMAGE = select(images).where(*_NAMED)
_IMAGE_LOCKED = _IMAGE.with_for_update()


def _versions(by: str, image_id):
    """The visible version of image `image_id` (a bound id or a joined image's column) by number, alias or client
    token (bound as :key), or the highest-numbered one ("latest")."""
    query = select(image_versions).where(image_versions.c.image_id == image_id, _visible(image_versions))
    if by == "number":
        return query.where(image_versions.c.version == bindparam("key"))
    if by == "alias":
        return query.join(version_aliases, version_aliases.c.version_id == image_versions.c.id).where(
            version_aliases.c.image_id == image_id, version_aliases.c.alias == bindparam("key"))
    if by == "token":
        return query.where(image_versions.c.client_token == bindparam("key"))
    # a subquery rather than ORDER BY ... LIMIT 1, which would sort every version once joined to images
    newest = image_versions.alias("newest")
    return query.where(image_versions.c.version == select(newest.c.version).where(
        newest.c.image_id == image_id, _visible(newest)).order_by(newest.c.version.desc()).limit(1).scalar_subquery())


_VERSION_BY = {by: _versions(by, bindparam("image_id")) for by in _SELECTORS}
# A version and its image by the image's name, one statement instead of two, fetching only what a read shows: the
# version's attributes and lifecycle (and its id), and the visible image's id and name. Each column fetched costs
# (the sqlite3 driver gives up and takes back the GIL for every column of a row).
SHOWN_VERSION_COLUMNS = ("id", "version", "base_image", "container_image", "vendor_guidance", "job_type",
                         "ml_framework", "programming_lang", "processor", "horovod", "release_notes", "status",
                         "failure_reason", "created_at", "modified_at", "pending_status", "pending_reason", "due_at")
JOINED_IMAGE_COLUMNS = ("id", "name")
_IMAGE_VERSION_BY = {by: _versions(by, images.c.id).with_only_columns(
    *(image_versions.c[c] for c in SHOWN_VERSION_COLUMNS), *(images.c[c] for c in JOINED_IMAGE_COLUMNS))
    .where(*_NAMED, _visible(images)) for by in _SELECTORS}


def _selector(number: int | None, alias: str | None, token: str | None) -> tuple[str, object]:
    """How a version is chosen: (by, key) for the first of number, alias and token given, else ("latest", None)."""
    for by, key in (("number", number), ("alias", alias), ("token", token)):
        if key is not None:
            return by, key
    return "latest", None


def _image(values) -> dict:
    """An images row from the driver's values, in column order."""
    return dict(zip(_IMAGE_COLUMNS, values))


def _version(values, columns: tuple[str, ...] = _VERSION_COLUMNS) -> dict:
    """An image_versions row (or those of its columns that are given) from the driver's values, in column order."""
    row = dict(zip(columns, values))
    if row["horovod"] is not None:
        row["horovod"] = bool(row["horovod"])  # SQLite stores Booleans as 0 / 1
    return row


class Transaction:
    """One database transaction, with the catalog's reads and writes as methods."""

    def __init__(self, conn: Connection, locking: bool):
        self.conn = conn
        self.locking = locking

    def _first(self, statement, params: dict) -> tuple | None:
        """The first row of a prebuilt query, as the driver returns it, run on the driver's own cursor.

        For the per-request lookups: SQLAlchemy compiles the SQL once per dialect, and skipping its execution
        layer here saves most of a lookup's cost (about 17 of 18 µs on SQLite). Parameters and columns go to
        and from the driver unconverted, so they must need no type processing (callers convert Booleans)."""
        sql, fixed, positions = _driver_sql(statement, self.conn.dialect)
        values = {**fixed, **params}
        cursor = self.conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(sql, tuple(map(values.__getitem__, positions)) if positions else values)
            return cursor.fetchone()
        finally:
            cursor.close()

    def _rows(self, statement, params: dict | None = None) -> Iterator[dict]:
        """A statement's rows as dicts (SQLAlchemy's row mappings cost several times more to copy)."""
        result = self.conn.execute(statement, params)
        keys = tuple(result.keys())
        return (dict(zip(keys, row)) for row in result)

    def _write(self, statement):
        try:
            return self.conn.execute(statement)
        except IntegrityError as exc:
            raise Conflict(str(exc.orig)) from None

    # images

    def image(self, account: str, region: str, name: str, now: float, lock: bool = False) -> dict | None:
        query = _IMAGE_LOCKED if lock and self.locking else _IMAGE
        row = self._first(query, {"account": account, "region": region, "name": name})
        return None if row is None else effective(_image(row), now)

    def lock_scope(self, account: str, region: str) -> None:
        """Makes concurrent writers of one (account, region) take turns until commit (SQLite writers always do)."""
        if self.locking:
            self.conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"{account}/{region}"))))

    def purge_gone_image(self, account: str, region: str, name_key: str, now: float) -> None:
        self.conn.execute(delete(images).where(images.c.account == account, images.c.region == region,
                                               images.c.name_key == name_key, _gone(images, now)))

    def count_images(self, account: str, region: str, now: float) -> int:
        return self.conn.execute(select(func.count()).select_from(images).where(
            images.c.account == account, images.c.region == region, _visible(images, now))).scalar_one()

    def insert_image(self, values: dict) -> int:
        return self._write(insert(images).values(**values).returning(images.c.id)).scalar_one()

    def update_image(self, image_id: int, values: dict) -> None:
        self.conn.execute(update(images).where(images.c.id == image_id).values(**values))

    def list_images(self, account: str, region: str, now: float, filters: dict, sort_by: str,
                    descending: bool, after: list | None, limit: int) -> list[tuple]:
        names, params = _list_params(now, filters, after, limit)
        contains = bool(filters.get("NameContains"))
        statement = _list_images_statement(sort_by, descending, after is not None, names, contains)
        params.update(account=account, region=region)
        if contains:
            escaped = "".join("/" + ch if ch in "%_/" else ch for ch in filters["NameContains"].lower())
            params["contains"] = f"%{escaped}%"
        return [(effective(row, now), [row["sort_key"], row["id"]]) for row in self._rows(statement, params)]

    # versions

    def allocate_version(self, image_id: int) -> int:
        """The next version number of an image; numbers are never handed out twice."""
        statement = (update(images).where(images.c.id == image_id)
                     .values(next_version=images.c.next_version + 1).returning(images.c.next_version))
        return self.conn.execute(statement).scalar_one()

    def purge_gone_versions(self, image_id: int, now: float) -> None:
        self.conn.execute(_PURGE_GONE_VERSIONS, {"image_id": image_id, "now": now})

    def count_versions(self, image_id: int, now: float) -> int:
        return self.conn.execute(select(func.count()).select_from(image_versions).where(
            image_versions.c.image_id == image_id, _visible(image_versions, now))).scalar_one()

    def insert_version(self, values: dict) -> int:
        return self._write(insert(image_versions).values(**values).returning(image_versions.c.id)).scalar_one()

    def update_version(self, version_id: int, values: dict) -> None:
        self.conn.execute(update(image_versions).where(image_versions.c.id == version_id).values(**values))

    def version(self, image_id: int, now: float, number: int | None = None, alias: str | None = None,
                token: str | None = None) -> dict | None:
        """One version by number, alias or client token; the highest-numbered visible one if none is given."""
        by, key = _selector(number, alias, token)
        row = self._first(_VERSION_BY[by], {"image_id": image_id, "now": now, "key": key})
        return None if row is None else effective(_version(row), now)

    def image_version(self, account: str, region: str, name: str, now: float, number: int | None = None,
                      alias: str | None = None) -> tuple[dict, dict] | None:
        """A visible image by name (its JOINED_IMAGE_COLUMNS) and one of its versions (its SHOWN_VERSION_COLUMNS),
        as image() then version() find them, in one statement; None when either is missing."""
        by, key = _selector(number, alias, None)
        row = self._first(_IMAGE_VERSION_BY[by], {"account": account, "region": region, "name": name, "now": now,
                                                   "key": key})
        if row is None:
            return None
        split = len(SHOWN_VERSION_COLUMNS)  # its WHERE keeps gone images and versions out
        image = dict(zip(JOINED_IMAGE_COLUMNS, row[split:]))
        return image, effective(_version(row[:split], SHOWN_VERSION_COLUMNS), now)

    def list_versions(self, image_id: int, now: float, filters: dict, sort_by: str, descending: bool,
                      after: list | None, limit: int) -> list[tuple]:
        names, params = _list_params(now, filters, after, limit)
        statement = _list_versions_statement(sort_by, descending, after is not None, names)
        rows = self._rows(statement, {**params, "image_id": image_id})
        return [(effective(row, now), [row["sort_key"], row["version"]]) for row in rows]

    # aliases

    def aliases(self, image_id: int, now: float, version_id: int | None, alias: str | None,
                after: str | None, limit: int) -> list[str]:
        """Aliases of an image's visible versions (or of one version), in name order."""
        statement = _aliases_statement(version_id is not None, alias is not None, after is not None)
        params = {"image_id": image_id, "now": now, "version_id": version_id, "alias": alias, "after": after,
                  "limit": limit + 1}
        return list(self.conn.execute(statement, params).scalars())

    def alias_owners(self, image_id: int, aliases: list[str]) -> dict[str, int]:
        """alias -> id of the version holding it, for those of `aliases` taken (callers purge gone versions first)."""
        rows = self.conn.execute(select(version_aliases.c.alias, version_aliases.c.version_id).where(
            version_aliases.c.image_id == image_id, version_aliases.c.alias.in_(aliases)))
        return {alias: version_id for alias, version_id in rows}

    def add_aliases(self, image_id: int, version_id: int, aliases: list[str]) -> None:
        self._write(insert(version_aliases).values(
            [{"image_id": image_id, "version_id": version_id, "alias": alias} for alias in aliases]))

    def remove_aliases(self, version_id: int, aliases: list[str]) -> None:
        self.conn.execute(delete(version_aliases).where(version_aliases.c.version_id == version_id,
                                                        version_aliases.c.alias.in_(aliases)))

    # tags

    def tags(self, image_id: int, after: int | None = None, limit: int | None = None) -> list[dict]:
        query = select(image_tags).where(image_tags.c.image_id == image_id).order_by(image_tags.c.id)
        if after is not None:
            query = query.where(image_tags.c.id > after)
        if limit is not None:
            query = query.limit(limit + 1)
        return list(self._rows(query))

    def put_tags(self, image_id: int, tags: dict[str, str], existing: list[dict]) -> None:
        """Adds tags to an image that has `existing` (its tags() rows), overwriting the values of known keys."""
        rows = {row["key"]: row for row in existing}
        for key, value in tags.items():
            if key in rows and rows[key]["value"] != value:
                self.conn.execute(update(image_tags).where(image_tags.c.id == rows[key]["id"]).values(value=value))
        new = [{"image_id": image_id, "key": key, "value": value} for key, value in tags.items() if key not in rows]
        if new:
            self._write(insert(image_tags).values(new))

    def delete_tags(self, image_id: int, keys: list[str]) -> None:
        self.conn.execute(delete(image_tags).where(image_tags.c.image_id == image_id,
                                                   image_tags.c.key.in_(keys)))

    # lifecycle

    def claim_due(self, table, now: float, limit: int) -> list[tuple[int, bool]]:
        """Locks up to `limit` rows of `table` whose transition is due, as (id, disappears) pairs.

        On PostgreSQL rows another transaction holds are skipped (FOR UPDATE SKIP LOCKED): a busy row waits
        for a later pass, and concurrent workers in other processes never take the same row."""
        query = (select(table.c.id, table.c.pending_status == GONE).where(table.c.due_at <= now)
                 .order_by(table.c.due_at, table.c.id).limit(limit))
        if self.locking:
            query = query.with_for_update(skip_locked=True)
        return [(row_id, bool(disappears)) for row_id, disappears in self.conn.execute(query)]

    def materialize(self, table, claimed: list[tuple[int, bool]]) -> None:
        """Writes down the due transitions of claimed rows: gone rows are deleted (with what hangs off them),
        the others take their pending status. Idempotent, and a cache of what reads already compute."""
        gone = [row_id for row_id, disappears in claimed if disappears]
        settled = [row_id for row_id, disappears in claimed if not disappears]
        if gone:
            self.conn.execute(delete(table).where(table.c.id.in_(gone), table.c.due_at.is_not(None)))
        if settled:
            self.conn.execute(update(table).where(table.c.id.in_(settled), table.c.due_at.is_not(None)).values(
                status=table.c.pending_status, failure_reason=table.c.pending_reason,
                modified_at=table.c.due_at, pending_status=None, pending_reason=None, due_at=None))

    def next_due(self) -> float | None:
        """The earliest time a stored transition falls due, if any is pending."""
        dues = union_all(*(select(func.min(table.c.due_at).label("due")) for table in (images, image_versions)))
        return self.conn.execute(select(func.min(dues.subquery().c.due))).scalar()
