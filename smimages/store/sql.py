"""What every family's queries share: the transaction base class, visibility by the clock, keyset paging, filters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Connection, Float, FromClause, Table, and_, bindparam, case, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import Executable, Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ..domain.lifecycle import GONE
from ..domain.paging import Listing
from .fastpath import Lookups

Row = dict[str, Any]

# Statements are built once with bound parameters (":now" is the request's clock reading) and reused: building
# a SQLAlchemy statement per call costs more than running it.
NOW = bindparam("now", type_=Float)
TIME_FILTERS = ("CreationTimeAfter", "CreationTimeBefore", "LastModifiedTimeAfter", "LastModifiedTimeBefore")


class SqlTx:
    """One database transaction: its connection, whether rows are locked (PostgreSQL), and how lookups run."""

    def __init__(self, conn: Connection, locking: bool, lookups: Lookups):
        self.conn = conn
        self.locking = locking
        self.lookups = lookups

    def _first(self, statement: Select[Any], params: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row of a prebuilt per-request lookup (smimages/store/fastpath.py)."""
        return self.lookups.first(self.conn, statement, params)

    def _all(self, statement: Select[Any], params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Every row of a prebuilt per-request query (smimages/store/fastpath.py); its columns need no type
        processing."""
        return self.lookups.all(self.conn, statement, params)

    def _rows(self, statement: Executable, params: dict[str, Any] | None = None) -> Iterator[Row]:
        """A statement's rows as dicts (SQLAlchemy's row mappings cost several times more to copy)."""
        result = self.conn.execute(statement, params)
        keys = tuple(result.keys())
        return (dict(zip(keys, row, strict=False)) for row in result)


def gone(table: Table, now: Any = NOW) -> ColumnElement[bool]:
    """Rows whose pending disappearance has fallen due."""
    return and_(table.c.pending_status == GONE, table.c.due_at <= now)


def visible(table: FromClause, now: Any = NOW) -> ColumnElement[bool]:
    """Rows that still exist at `now`."""
    return or_(table.c.due_at.is_(None), table.c.due_at > now, table.c.pending_status != GONE)


def modified(table: Table) -> ColumnElement[Any]:
    """LastModifiedTime as the clock shows it: a due transition's time, else the stored one."""
    return case((table.c.due_at <= NOW, table.c.due_at), else_=table.c.modified_at)


# What shown_lifecycle() fetches, by name
SHOWN_LIFECYCLE = ("status", "failure_reason", "created_at", "modified_at")


def shown_lifecycle(table: Table) -> tuple[ColumnElement[Any], ...]:
    """SHOWN_LIFECYCLE of a visible row as the clock at :now shows them (domain.lifecycle.effective in SQL, for list
    pages: a due transition applied; its times to the millisecond), labelled as their columns."""
    due = table.c.due_at <= NOW
    return (
        case((due, table.c.pending_status), else_=table.c.status).label("status"),
        case((due, table.c.pending_reason), else_=table.c.failure_reason).label("failure_reason"),
        to_millisecond(table.c.created_at).label("created_at"),
        to_millisecond(modified(table)).label("modified_at"),
    )


class to_millisecond(FunctionElement[float]):
    """Epoch seconds (never negative) rounded to the millisecond by the database, with the operations of
    protocol.wire.milliseconds, so that the two agree to the bit: floor(t * 1000 + 0.5) / 1000 in double precision.
    A list page's times, each a call in Python otherwise."""

    type = Float()
    inherit_cache = True


@compiles(to_millisecond)
def _to_millisecond(element: to_millisecond, compiler: SQLCompiler, **kw: Any) -> str:
    return f"floor(({compiler.process(element.clauses, **kw)}) * 1000 + 0.5) / 1000"


@compiles(to_millisecond, "sqlite")
def _to_millisecond_sqlite(element: to_millisecond, compiler: SQLCompiler, **kw: Any) -> str:
    # floor() only where SQLite has its math functions; a cast to INTEGER truncates, which for t >= 0 is floor
    return f"CAST(({compiler.process(element.clauses, **kw)}) * 1000 + 0.5 AS INTEGER) / 1000.0"


def listed(table: Table, columns: tuple[str, ...]) -> list[ColumnElement[Any]]:
    """What a list page selects of table: its `columns` in order, those of SHOWN_LIFECYCLE as the clock shows them."""
    shown = dict(zip(SHOWN_LIFECYCLE, shown_lifecycle(table), strict=True))
    return [shown[name] if name in shown else table.c[name] for name in columns]


def keyset_page(query: Select[Any], sort_col: Any, tiebreak: Any, descending: bool, resume: bool) -> Select[Any]:
    """Keyset paging: rows strictly after (:key, :last) in the requested order, at most :limit of them.

    The redundant bound on the sort column alone lets the database range-scan its index instead of filtering."""
    if resume:
        key: BindParameter[Any]
        last: BindParameter[Any]
        key, last = bindparam("key"), bindparam("last")
        if descending:
            query = query.where(sort_col <= key, or_(sort_col < key, and_(sort_col == key, tiebreak < last)))
        else:
            query = query.where(sort_col >= key, or_(sort_col > key, and_(sort_col == key, tiebreak > last)))
    order = (sort_col.desc(), tiebreak.desc()) if descending else (sort_col.asc(), tiebreak.asc())
    return query.order_by(*order).limit(bindparam("limit"))


def time_filters(names: tuple[str, ...], created: Any, changed: Any) -> list[ColumnElement[bool]]:
    """The inclusive time-window filters of a List request, bound by name: `CreationTime*` bound `created`, the
    other (`LastModifiedTime*`, `ModifiedTime*`) `changed`; `...After` is "on or after", `...Before` "on or before"."""
    filters = []
    for name in names:
        column = created if name.startswith("Creation") else changed
        filters.append(column >= bindparam(name) if name.endswith("After") else column <= bindparam(name))
    return filters


def list_params(now: float, listing: Listing, names: tuple[str, ...] = TIME_FILTERS) -> tuple[tuple[str, ...], Row]:
    """The time filters (of `names`) a List request uses, and the parameters of its statement: `contains` holds the
    LIKE pattern of a NameContains filter."""
    filters = listing.query
    used = tuple(name for name in names if filters.get(name) is not None)
    params = {"now": now, "limit": listing.limit + 1, **{name: filters[name] for name in used}}
    if listing.after is not None:
        params.update(key=listing.after[0], last=listing.after[1])
    if filters.get("NameContains"):
        params["contains"] = like_pattern(filters["NameContains"])
    return used, params


def like_pattern(text: str) -> str:
    """A case-folded LIKE pattern for a substring, with LIKE's wildcards escaped by '/'."""
    escaped = "".join("/" + ch if ch in "%_/" else ch for ch in text.lower())
    return f"%{escaped}%"
