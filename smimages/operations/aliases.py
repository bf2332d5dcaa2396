"""ListAliases."""
from ..context import RequestContext
from ..domain import paging
from ..domain.arns import image_version_arn
from ..errors import ResourceNotFound
from . import operation
from .resources import require_image
from .service import Service


@operation
def list_aliases(service: Service, ctx: RequestContext, request: dict) -> dict:
    name, number = request["ImageName"], request.get("Version")
    query = {key: request.get(key) for key in ("ImageName", "Alias", "Version")}
    after = paging.decode(query, request.get("NextToken"))
    limit = request.get("MaxResults", 10)
    with service.store.transaction() as tx:
        image = require_image(tx, ctx, name)
        version_id = None
        if number is not None:
            version = tx.version(image["id"], ctx.now, number=number)
            if version is None:
                raise ResourceNotFound(
                    f"ImageVersion with ARN {image_version_arn(ctx, name, number)} does not exist")
            version_id = version["id"]
        aliases = tx.aliases(image["id"], ctx.now, version_id, request.get("Alias"),
                             after[0] if after else None, limit)
    page, token = paging.page([(alias, [alias]) for alias in aliases], limit, query)
    return {"SageMakerImageVersionAliases": page, "NextToken": token}
