"""The SageMaker image operations, one function each, and the dispatcher that calls them by AWS name."""
from typing import Callable

from ..context import RequestContext
from ..errors import ResourceInUse
from ..store import Conflict
from .service import Service

OPERATIONS: dict[str, Callable[[Service, RequestContext, dict], dict]] = {}


def operation(fn):
    """Registers fn under its AWS name (create_image_version -> CreateImageVersion)."""
    OPERATIONS["".join(part.capitalize() for part in fn.__name__.split("_"))] = fn
    return fn


def dispatch(service: Service, ctx: RequestContext, name: str, request: dict) -> dict:
    """Runs one operation; a uniqueness race the operation did not expect is a concurrent modification."""
    try:
        return OPERATIONS[name](service, ctx, request)
    except Conflict:
        raise ResourceInUse("Resource was modified concurrently") from None


from . import aliases, images, tags, versions  # noqa: E402,F401  (registers the operations)
