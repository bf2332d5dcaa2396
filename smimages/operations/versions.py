"""CreateImageVersion, DescribeImageVersion, UpdateImageVersion, DeleteImageVersion and ListImageVersions."""

from typing import Any

from ..context import RequestContext
from ..domain import paging
from ..domain.arns import image_arn, image_version_arn, image_versions_arn
from ..domain.lifecycle import IMAGE_ALLOWED, VERSION_ALLOWED, awaiting_check, touched
from ..errors import ValidationException
from ..protocol.wire import Shaped
from ..store import VERSION_MEMBERS, CatalogTx
from . import operation
from .resources import find_version, image_not_found, require_image, require_quota, require_state
from .service import Service

_LIST_FILTERS = (
    "ImageName",
    "CreationTimeAfter",
    "CreationTimeBefore",
    "LastModifiedTimeAfter",
    "LastModifiedTimeBefore",
)
_NO_CONTAINER_YET = {"CREATING", "CREATE_FAILED"}


def version_fields(ctx: RequestContext, image: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """A version as DescribeImageVersion shows it: the summary's members, BaseImage, ContainerImage and metadata
    (the output shape puts them in order and drops what is None)."""
    name, status = image["name"], row["status"]
    fields = {
        "BaseImage": row["base_image"],
        "ContainerImage": None if status in _NO_CONTAINER_YET else row["container_image"],
        "CreationTime": row["created_at"],
        "FailureReason": row["failure_reason"],
        "ImageArn": image_arn(ctx, name),
        "ImageVersionArn": image_version_arn(ctx, name, row["version"]),
        "ImageVersionStatus": status,
        "LastModifiedTime": row["modified_at"],
        "Version": row["version"],
    }
    for prop, column in VERSION_MEMBERS.items():
        fields[prop] = row[column]
    return fields


def set_aliases(tx: CatalogTx, image: dict[str, Any], version_id: int, add: list[str], remove: list[str]) -> None:
    """Moves aliases on one version; an alias another version holds is refused, never moved.

    Callers lock the image and purge its gone versions first, so their aliases are free again."""
    if remove:
        tx.remove_aliases(version_id, remove)
    add = list(dict.fromkeys(add))
    owners = tx.alias_owners(image["id"], add) if add else {}
    for alias in add:
        if owners.get(alias, version_id) != version_id:
            raise ValidationException(
                f"Alias {alias} is already associated with another ImageVersion of Image {image['name']}."
            )
    new = [alias for alias in add if alias not in owners]
    if new:
        tx.add_aliases(image["id"], version_id, new)


@operation
def create_image_version(service: Service, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    # The image row lock orders concurrent calls on one image (on every backend): version numbers are handed
    # out without gaps, and a ClientToken replay sees the first call's version. Were a same-token call to race
    # past it anyway, the unique token constraint fails it and dispatch reruns it, which answers the replay.
    name, token = request["ImageName"], request["ClientToken"]
    with service.store.transaction(write=True) as tx:
        found = tx.image_for_new_version(ctx.account, ctx.region, name, ctx.now, token)
        if found is None:
            raise image_not_found(ctx, name)
        image, replay, replay_visible = found
        if replay is not None and replay_visible:
            return {"ImageVersionArn": image_version_arn(ctx, image["name"], replay)}
        if replay is not None or request.get("Aliases"):  # a gone version still holds the token, or aliases
            tx.purge_gone_versions(image["id"], ctx.now)
        if image["status"] not in IMAGE_ALLOWED["create_version"]:
            raise ValidationException(f"Image {image['name']} is in an invalid state.")
        require_quota(
            service.settings.max_versions_per_image,
            lambda: tx.count_versions(image["id"], ctx.now),
            "Maximum number of versions per image",
        )
        number = image["next_version"] + 1  # under the image's lock: numbers are never handed out twice
        base = request["BaseImage"]
        # With --registry-check on the version stays CREATING until the worker has resolved BaseImage (its
        # outcome shows no earlier than the transition delay allows); an armed CREATE_FAILED fault needs no check.
        lifecycle = service.begin(
            "CreateImageVersion", ctx, image["name"], number, base, wait=service.settings.registry_check
        )
        checked = lifecycle["due_at"] is None
        version_id = tx.add_version(
            {
                "image_id": image["id"],
                "version": number,
                "client_token": token,
                "base_image": base,
                "container_image": None if checked else base,
                "created_at": ctx.now,
                **{column: request.get(prop) for prop, column in VERSION_MEMBERS.items()},
                **lifecycle,
                **(awaiting_check(ctx.now, ctx.now + service.settings.transition_delay) if checked else {}),
            }
        )
        set_aliases(tx, image, version_id, request.get("Aliases", []), [])
    return {"ImageVersionArn": image_version_arn(ctx, image["name"], number)}


@operation
def describe_image_version(service: Service, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    with service.store.transaction() as tx:
        image, version = find_version(tx, ctx, request["ImageName"], request)
        return version_fields(ctx, image, version)


@operation
def update_image_version(service: Service, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    with service.store.transaction(write=True) as tx:
        image, version = find_version(tx, ctx, request["ImageName"], request, lock=True, selector_required=True)
        arn = image_version_arn(ctx, image["name"], version["version"])
        require_state(version, VERSION_ALLOWED["update"], "ImageVersion", arn)
        tx.purge_gone_versions(image["id"], ctx.now)
        set_aliases(tx, image, version["id"], request.get("AliasesToAdd", []), request.get("AliasesToDelete", []))
        values = {column: request[prop] for prop, column in VERSION_MEMBERS.items() if prop in request}
        tx.update_version(version["id"], {**values, **touched(version, ctx.now)})
    return {"ImageVersionArn": arn}


@operation
def delete_image_version(service: Service, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    with service.store.transaction(write=True) as tx:
        image, version = find_version(tx, ctx, request["ImageName"], request, lock=True, selector_required=True)
        arn = image_version_arn(ctx, image["name"], version["version"])
        require_state(version, VERSION_ALLOWED["delete"], "ImageVersion", arn)
        tx.update_version(
            version["id"],
            service.begin("DeleteImageVersion", ctx, image["name"], version["version"], version["base_image"]),
        )
    return {}


@operation
def list_image_versions(service: Service, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    listing = paging.listing(request, _LIST_FILTERS, "CREATION_TIME")
    with service.store.transaction() as tx:
        image = require_image(tx, ctx, request["ImageName"])
        rows = tx.list_versions(image["id"], ctx.now, listing)
    page, token = paging.listed_page(rows, listing.limit, listing.query)
    name = image["name"]
    shown_arn, prefix = image_arn(ctx, name), image_versions_arn(ctx, name)
    summaries = Shaped()
    # each row: the store's LISTED_VERSION_COLUMNS, then the sort key; each summary in its wire form (wire.Shaped)
    for version, status, reason, created, changed, _ in page:
        summary: dict[str, Any] = {"CreationTime": created}
        if reason is not None:
            summary["FailureReason"] = reason
        summary["ImageArn"] = shown_arn
        summary["ImageVersionArn"] = f"{prefix}{version}"
        summary["ImageVersionStatus"] = status
        summary["LastModifiedTime"] = changed
        summary["Version"] = version
        summaries.append(summary)
    return {"ImageVersions": summaries, "NextToken": token}
