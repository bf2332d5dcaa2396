"""CreateImage, DescribeImage, UpdateImage, DeleteImage and ListImages."""

from typing import Any

from ..context import RequestContext
from ..domain import paging
from ..domain.arns import image_arn
from ..domain.lifecycle import IMAGE_ALLOWED
from ..errors import ResourceInUse, ValidationException
from ..protocol.wire import Shaped
from ..store import CatalogTx, Conflict
from . import operation
from .resources import require_image, require_quota, require_state
from .service import Service
from .tags import tag_map, taggable

_EDITABLE = {"Description": "description", "DisplayName": "display_name", "RoleArn": "role_arn"}
_LIST_FILTERS = (
    "CreationTimeAfter",
    "CreationTimeBefore",
    "LastModifiedTimeAfter",
    "LastModifiedTimeBefore",
    "NameContains",
)


def image_fields(ctx: RequestContext, row: dict[str, Any]) -> dict[str, Any]:
    """An image as DescribeImage shows it (the output shape puts the members in order and drops what is None)."""
    return {
        "CreationTime": row["created_at"],
        "Description": row["description"],
        "DisplayName": row["display_name"],
        "FailureReason": row["failure_reason"],
        "ImageArn": image_arn(ctx, row["name"]),
        "ImageName": row["name"],
        "ImageStatus": row["status"],
        "LastModifiedTime": row["modified_at"],
        "RoleArn": row["role_arn"],
    }


@taggable("image")
def _image_for_tags(tx: CatalogTx, ctx: RequestContext, name: str, lock: bool) -> dict[str, Any] | None:
    return tx.image(ctx.account, ctx.region, name, ctx.now, lock=lock)


@operation
def create_image(service: Service, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    name = request["ImageName"]
    tags = tag_map(request.get("Tags", []))
    with service.store.transaction(write=True) as tx:
        if service.settings.max_images:  # concurrent CreateImage calls of one account take turns to count
            tx.lock_scope(ctx.account, ctx.region)
        tx.purge_gone_image(ctx.account, ctx.region, name.lower(), ctx.now)
        require_quota(
            service.settings.max_images,
            lambda: tx.count_images(ctx.account, ctx.region, ctx.now),
            "Maximum number of images per account",
        )
        try:
            image_id = tx.insert_image(
                {
                    "account": ctx.account,
                    "region": ctx.region,
                    "name": name,
                    "name_key": name.lower(),
                    "role_arn": request["RoleArn"],
                    "description": request.get("Description"),
                    "display_name": request.get("DisplayName"),
                    "next_version": 0,
                    "created_at": ctx.now,
                    **service.begin("CreateImage", ctx, name),
                }
            )
        except Conflict:
            raise ResourceInUse(
                f"The Image with ImageName {name} already exists. Please use a different ImageName."
            ) from None
        tx.put_tags("image", image_id, tags, [])
    return {"ImageArn": image_arn(ctx, name)}


@operation
def describe_image(service: Service, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    with service.store.transaction() as tx:
        return image_fields(ctx, require_image(tx, ctx, request["ImageName"]))


@operation
def update_image(service: Service, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    removed = request.get("DeleteProperties", [])
    both = [prop for prop in removed if prop in request]
    if both:
        raise ValidationException(f"{both[0]} cannot be both updated and deleted in the same request.")
    with service.store.transaction(write=True) as tx:
        image = require_image(tx, ctx, request["ImageName"], lock=True)
        arn = image_arn(ctx, image["name"])
        require_state(image, IMAGE_ALLOWED["update"], "Image", arn)
        values = {column: request[prop] for prop, column in _EDITABLE.items() if prop in request}
        values.update({_EDITABLE[prop]: None for prop in removed})
        values.update(service.begin("UpdateImage", ctx, image["name"]))
        tx.update_image(image["id"], values)
    return {"ImageArn": arn}


@operation
def delete_image(service: Service, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    with service.store.transaction(write=True) as tx:
        image = require_image(tx, ctx, request["ImageName"], lock=True)
        require_state(image, IMAGE_ALLOWED["delete"], "Image", image_arn(ctx, image["name"]))
        tx.update_image(image["id"], service.begin("DeleteImage", ctx, image["name"]))
    return {}


@operation
def list_images(service: Service, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    listing = paging.listing(request, _LIST_FILTERS, "CREATION_TIME")
    with service.store.transaction() as tx:
        rows = tx.list_images(ctx.account, ctx.region, ctx.now, listing)
    page, token = paging.listed_page(rows, listing.limit, listing.query)
    prefix = image_arn(ctx, "")
    summaries = Shaped()
    # each row: the store's LISTED_IMAGE_COLUMNS, then the sort key; each summary in its wire form (wire.Shaped)
    for _, name, description, display_name, status, reason, created, changed, _ in page:
        summary: dict[str, Any] = {"CreationTime": created}
        if description is not None:
            summary["Description"] = description
        if display_name is not None:
            summary["DisplayName"] = display_name
        if reason is not None:
            summary["FailureReason"] = reason
        summary["ImageArn"] = prefix + name
        summary["ImageName"] = name
        summary["ImageStatus"] = status
        summary["LastModifiedTime"] = changed
        summaries.append(summary)
    return {"Images": summaries, "NextToken": token}
