"""The SageMaker image operations, one function each, and the dispatcher that calls them by AWS name."""
from typing import Callable

from ..context import RequestContext
from ..errors import CONCURRENT_MODIFICATION, ResourceInUse
from ..store import Aborted, Conflict
from .service import Service

ABORT_RETRIES = 3

OPERATIONS: dict[str, Callable[[Service, RequestContext, dict], dict]] = {}


def operation(fn):
    """Registers fn under its AWS name (create_image_version -> CreateImageVersion)."""
    OPERATIONS["".join(part.capitalize() for part in fn.__name__.split("_"))] = fn
    return fn


def dispatch(service: Service, ctx: RequestContext, name: str, request: dict) -> dict:
    """Runs one operation unless an armed fault answers it instead (smimages/faults.py)."""
    if not service.faults:  # none armed: nothing to consult
        return _run(service, ctx, name, request)
    with service.faults.applied(ctx, name, request):
        return _run(service, ctx, name, request)


def _run(service: Service, ctx: RequestContext, name: str, request: dict) -> dict:
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


from . import aliases, images, tags, versions  # noqa: E402,F401  (registers the operations)
