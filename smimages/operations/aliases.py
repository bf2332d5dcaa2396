"""ListAliases."""

from typing import Any

from ..context import RequestContext
from ..domain import paging
from ..domain.limits import DEFAULT_MAX_RESULTS
from ..errors import ResourceNotFound
from ..store import CatalogTx
from . import operation
from .resources import find_version, require_image
from .service import Service


def _image_with_version(tx: CatalogTx, ctx: RequestContext, name: str, number: int) -> tuple[dict[str, Any], int]:
    """An image and the id of its version `number`, in one statement; a missing image has an error of its own."""
    try:
        image, version = find_version(tx, ctx, name, {"Version": number})
    except ResourceNotFound:
        require_image(tx, ctx, name)  # the image's own error, when it is the image that is missing
        raise
    return image, version["id"]


@operation
def list_aliases(service: Service, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    name, number = request["ImageName"], request.get("Version")
    query = {key: request.get(key) for key in ("ImageName", "Alias", "Version")}
    after = paging.decode(query, request.get("NextToken"))
    limit = request.get("MaxResults", DEFAULT_MAX_RESULTS)
    with service.store.transaction() as tx:
        if number is None:
            image, version_id = require_image(tx, ctx, name), None
        else:
            image, version_id = _image_with_version(tx, ctx, name, number)
        aliases = tx.aliases(image["id"], ctx.now, version_id, request.get("Alias"), after[0] if after else None, limit)
    page, token = paging.page([(alias, [alias]) for alias in aliases], limit, query)
    return {"SageMakerImageVersionAliases": page, "NextToken": token}
