"""Opaque NextToken values: a keyset position bound to the query that produced it."""

import base64
import hashlib
import json
from typing import Any, NamedTuple

from ..errors import ValidationException
from .limits import DEFAULT_MAX_RESULTS


def _fingerprint(query: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:16]


def encode(query: dict[str, Any], position: list[Any]) -> str:
    """A token that resumes `query` after `position`."""
    raw = json.dumps({"q": _fingerprint(query), "p": position}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode(query: dict[str, Any], token: str | None) -> list[Any] | None:
    """The position a token resumes from, or None without one; a token from another query is invalid."""
    if not token:
        return None
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode()))
        if doc["q"] == _fingerprint(query) and isinstance(doc["p"], list):
            return doc["p"]
    except (ValueError, KeyError, TypeError):
        pass
    raise ValidationException("The NextToken provided is invalid.")


def page(rows: list[tuple[Any, list[Any]]], limit: int, query: dict[str, Any]) -> tuple[list[Any], str | None]:
    """The first `limit` items of (item, position) rows fetched with one extra, and the token for the rest."""
    items = [item for item, _ in rows[:limit]]
    token = encode(query, rows[limit - 1][1]) if len(rows) > limit else None
    return items, token


def listed_page(rows: list[tuple[Any, ...]], limit: int, query: dict[str, Any]) -> tuple[list[Any], str | None]:
    """The first `limit` of a store's list rows fetched with one extra (each a tuple whose last value is its sort key
    and whose first is its tiebreak: store.interface.ListedRows), and the token for the rest."""
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode(query, [last[-1], last[0]])


def list_query(
    request: dict[str, Any], filters: tuple[str, ...], default_sort: str, default_order: str = "DESCENDING"
) -> dict[str, Any]:
    """The parts of a List request that define its result order and contents (what a token is bound to)."""
    query = {name: request[name] for name in filters if name in request}
    query["SortBy"] = request.get("SortBy", default_sort)
    query["SortOrder"] = request.get("SortOrder", default_order)
    return query


class Listing(NamedTuple):
    """A List request as the store runs it: its query (filters, SortBy, SortOrder), whether that order descends, the
    keyset position to resume after (from NextToken), and the page size."""

    query: dict[str, Any]
    descending: bool
    after: list[Any] | None
    limit: int

    @property
    def sort_by(self) -> str:
        return str(self.query["SortBy"])


def listing(
    request: dict[str, Any], filters: tuple[str, ...], default_sort: str, default_order: str = "DESCENDING"
) -> Listing:
    """The Listing a List request asks for; a NextToken of another query is invalid."""
    query = list_query(request, filters, default_sort, default_order)
    after = decode(query, request.get("NextToken"))
    limit = request.get("MaxResults", DEFAULT_MAX_RESULTS)
    return Listing(query, query["SortOrder"].upper() == "DESCENDING", after, limit)
