"""AddTags, ListTags and DeleteTags on the ARNs of every taggable kind (each family registers its own)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..context import RequestContext
from ..domain import paging
from ..domain.arns import named_in
from ..domain.limits import DEFAULT_TAG_PAGE, MAX_TAGS_PER_RESOURCE
from ..errors import ValidationException
from ..store import CatalogTx
from . import operation
from .service import Service

Row = dict[str, Any]
Finder = Callable[[CatalogTx, RequestContext, str, bool], "Row | None"]
# ARN kind -> how the resource a tag call names is found, by the name its ARN carries (locked for writes)
FINDERS: dict[str, Finder] = {}


def taggable(kind: str) -> Callable[[Finder], Finder]:
    """Registers how the resources of an ARN kind (image, app-image-config, ...) are found for the tag calls."""

    def register(find: Finder) -> Finder:
        FINDERS[kind] = find
        return find

    return register


def tag_map(tags: list[Row]) -> dict[str, str]:
    """Tags of a request as a key -> value map; a key given twice is refused."""
    mapped = {}
    for tag in tags:
        if tag["Key"] in mapped:
            raise ValidationException(f"Duplicate tag key '{tag['Key']}' in request. Tag keys must be unique.")
        mapped[tag["Key"]] = tag["Value"]
    return mapped


def _tagged(tx: CatalogTx, ctx: RequestContext, arn: str, lock: bool = False) -> tuple[str, int]:
    """(kind, row id) of the resource an ARN designates; anything else does not exist, as AWS answers it."""
    parts = named_in(ctx, arn)
    if parts is not None and "/" not in parts.resource and parts.kind in FINDERS:
        row = FINDERS[parts.kind](tx, ctx, parts.resource, lock)
        if row is not None:
            return parts.kind, row["id"]
    raise ValidationException("Resource does not exist")


@operation
def add_tags(service: Service, ctx: RequestContext, request: Row) -> Row:
    tags = tag_map(request["Tags"])
    with service.store.transaction(write=True) as tx:
        kind, resource_id = _tagged(tx, ctx, request["ResourceArn"], lock=True)  # concurrent AddTags take turns
        existing = tx.tags(kind, resource_id)
        keys = {row["key"] for row in existing} | tags.keys()
        if len(keys) > MAX_TAGS_PER_RESOURCE:
            raise ValidationException(
                f"The resource would have {len(keys)} tags; a resource can have at most {MAX_TAGS_PER_RESOURCE} tags."
            )
        tx.put_tags(kind, resource_id, tags, existing)
    return {"Tags": request["Tags"]}


@operation
def list_tags(service: Service, ctx: RequestContext, request: Row) -> Row:
    query = {"ResourceArn": request["ResourceArn"]}
    after = paging.decode(query, request.get("NextToken"))
    limit = request.get("MaxResults", DEFAULT_TAG_PAGE)
    with service.store.transaction() as tx:
        kind, resource_id = _tagged(tx, ctx, request["ResourceArn"])
        rows = tx.tags(kind, resource_id, after[0] if after else None, limit)
    tags, token = paging.page([({"Key": r["key"], "Value": r["value"]}, [r["id"]]) for r in rows], limit, query)
    return {"Tags": tags, "NextToken": token}


@operation
def delete_tags(service: Service, ctx: RequestContext, request: Row) -> Row:
    with service.store.transaction(write=True) as tx:
        kind, resource_id = _tagged(tx, ctx, request["ResourceArn"], lock=True)
        tx.delete_tags(kind, resource_id, request["TagKeys"])
    return {}
