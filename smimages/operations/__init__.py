"""The SageMaker operations smimages serves, one function each, and the dispatcher that calls them by AWS name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..context import RequestContext
from ..domain import arns
from ..errors import CONCURRENT_MODIFICATION, AccessDeniedException, ResourceInUse
from ..store import Aborted, Conflict
from .service import CallPolicy, Service

ABORT_RETRIES = 3

Operation = Callable[[Service, RequestContext, dict[str, Any]], dict[str, Any]]
OPERATIONS: dict[str, Operation] = {}
TAG_OPERATIONS = frozenset({"AddTags", "ListTags", "DeleteTags"})


def operation(fn: Operation) -> Operation:
    """Registers fn under its AWS name (create_image_version -> CreateImageVersion)."""
    OPERATIONS["".join(part.capitalize() for part in fn.__name__.split("_"))] = fn
    return fn


def serves(name: str, request: dict[str, Any]) -> bool:
    """Whether smimages answers a call itself rather than an upstream: its operations, except tag calls on the ARN
    of a SageMaker resource of another kind (a domain, a model, ...). `request` is the parsed, unvalidated body."""
    if name not in OPERATIONS:
        return False
    if name not in TAG_OPERATIONS:
        return True
    arn = request.get("ResourceArn")
    parts = arns.parse(arn) if isinstance(arn, str) else None
    return parts is None or parts.kind in arns.SERVED_KINDS


def reads_only(name: str) -> bool:
    """Whether an operation only reads the catalog (SageMaker names exactly those Describe* and List*)."""
    return name.startswith(("Describe", "List"))


def dispatch(
    service: Service, ctx: RequestContext, name: str, request: dict[str, Any], policy: CallPolicy | None = None
) -> dict[str, Any]:
    """Runs one operation, within what an injected call policy (fault injection) says about it; a store opened
    read-only (`serve --read-only`) refuses every operation that writes."""
    if service.store.read_only and not reads_only(name):
        raise AccessDeniedException(f"This catalog is read-only (smimages serve --read-only): {name} is not allowed.")
    scope = None if policy is None else policy.around(ctx, name, request)
    if scope is None:
        return _run(service, ctx, name, request)
    with scope as outcomes:
        return _run(service, ctx._replace(outcomes=outcomes), name, request)


def _run(service: Service, ctx: RequestContext, name: str, request: dict[str, Any]) -> dict[str, Any]:
    """Runs one operation, again when a concurrent writer got in its way.

    Each operation is one transaction, rolled back whole when it fails, so running it again is safe: after a
    uniqueness race (Conflict) the rerun sees the winner's row and answers as AWS would (a ClientToken replay,
    an alias already taken, a tag overwritten); after the database aborted it (a deadlock, a dropped
    connection: Aborted) it simply goes through."""
    conflicts = aborts = 0
    while True:
        try:
            return OPERATIONS[name](service, ctx, request)
        except Conflict:
            conflicts += 1
            if conflicts > 1:
                raise ResourceInUse(CONCURRENT_MODIFICATION) from None
        except Aborted:
            aborts += 1
            if aborts > ABORT_RETRIES:
                raise ResourceInUse(CONCURRENT_MODIFICATION) from None


from . import aliases, app_image_configs, images, tags, versions  # noqa: E402,F401  (registers the operations)
