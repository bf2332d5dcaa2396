"""ListAliases."""
from ..context import RequestContext
from ..domain import paging
from ..domain.arns import image_version_arn
from ..errors import ResourceNotFound
from ..store.sql import Transaction
from . import operation
from .resources import require_image
from .service import Service


def _image_with_version(tx: Transaction, ctx: RequestContext, name: str, number: int) -> tuple[dict, int]:
    """An image and the id of its version `number`, in one statement; a missing image has an error of its own."""
    found = tx.image_version(ctx.account, ctx.region, name, ctx.now, number=number)
    if found is None:
        require_image(tx, ctx, name)
        raise ResourceNotFound(f"ImageVersion with ARN {image_version_arn(ctx, name, number)} does not exist")
    image, version = found
    return image, version["id"]


@operation
def list_aliases(service: Service, ctx: RequestContext, request: dict) -> dict:
    name, number = request["ImageName"], request.get("Version")
    query = {key: request.get(key) for key in ("ImageName", "Alias", "Version")}
    after = paging.decode(query, request.get("NextToken"))
    limit = request.get("MaxResults", 10)
    with service.store.transaction() as tx:
        if number is None:
            image, version_id = require_image(tx, ctx, name), None
        else:
            image, version_id = _image_with_version(tx, ctx, name, number)
        aliases = tx.aliases(image["id"], ctx.now, version_id, request.get("Alias"),
                             after[0] if after else None, limit)
    page, token = paging.page([(alias, [alias]) for alias in aliases], limit, query)
    return {"SageMakerImageVersionAliases": page, "NextToken": token}
