"""Looks up images and versions for the operations, raising AWS's not-found and wrong-state errors."""

from collections.abc import Callable
from typing import Any, cast

from ..context import RequestContext
from ..domain.arns import image_arn, image_version_arn
from ..domain.lifecycle import IN_PROGRESS_VERB
from ..errors import ResourceInUse, ResourceLimitExceeded, ResourceNotFound, ValidationException
from ..store import CatalogTx


def image_not_found(ctx: RequestContext, name: str) -> ResourceNotFound:
    return ResourceNotFound(f"Image with ARN {image_arn(ctx, name)} does not exist")


def require_image(tx: CatalogTx, ctx: RequestContext, name: str, lock: bool = False) -> dict[str, Any]:
    image = tx.image(ctx.account, ctx.region, name, ctx.now, lock=lock)
    if image is None:
        raise image_not_found(ctx, name)
    return image


def find_version(
    tx: CatalogTx,
    ctx: RequestContext,
    name: str,
    request: dict[str, Any],
    lock: bool = False,
    selector_required: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (image, version) a request names by Version, by Alias, or (when allowed) the latest one."""
    number, alias = request.get("Version"), request.get("Alias")
    if number is not None and alias is not None:
        raise ValidationException("Only one of Version or Alias may be specified.")
    if selector_required and number is None and alias is None:
        raise ValidationException("Either Version or Alias must be specified.")
    found = (
        _locked_version(tx, ctx, name, number, alias)
        if lock
        else tx.image_version(ctx.account, ctx.region, name, ctx.now, number=number, alias=alias)
    )
    if found:
        return found
    if number is not None:
        raise ResourceNotFound(f"ImageVersion with ARN {image_version_arn(ctx, name, number)} does not exist")
    if alias is not None:
        raise ResourceNotFound(f"ImageVersion with Alias {alias} for Image {name} does not exist")
    raise ResourceNotFound(
        f"Latest ImageVersion with ImageName {name} does not exist. Please provide a valid ImageName."
    )


def _locked_version(
    tx: CatalogTx, ctx: RequestContext, name: str, number: int | None, alias: str | None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The (image, version) a write names, locking the image row first (FOR UPDATE on PostgreSQL)."""
    image = tx.image(ctx.account, ctx.region, name, ctx.now, lock=True)
    version = image and tx.version(image["id"], ctx.now, number=number, alias=alias)
    # a version is found only when the image was (mypy cannot tell from `image and ...`)
    return (cast("dict[str, Any]", image), version) if version else None


def require_state(row: dict[str, Any], allowed: set[str], kind: str, label: str) -> None:
    """Refuses an action from a status it cannot start from: busy resources are in use, others invalid."""
    status = row["status"]
    if status in allowed:
        return
    if status in IN_PROGRESS_VERB:
        raise ResourceInUse(f"{kind} ({label}) is being {IN_PROGRESS_VERB[status]}")
    raise ValidationException(f"{kind} {label} is in an invalid state.")


def require_quota(limit: int, count: Callable[[], int], what: str) -> None:
    """Raises ResourceLimitExceeded, worded as SageMaker words its account limits, when a quota is full;
    `count` (a query) runs only when a quota is set."""
    if not limit:
        return
    used = count()
    if used >= limit:
        raise ResourceLimitExceeded(
            f"The account-level service limit '{what}' is {limit} Resources, with current utilization of "
            f"{used} Resources and a request delta of 1 Resources. Please use AWS Service Quotas to request "
            "an increase for this quota. If AWS Service Quotas is not available, contact AWS support to "
            "request an increase for this quota."
        )
