"""What the console shows that no AWS operation answers: the (account, region) scopes holding resources, and how
many versions images have. Plain functions, not operations: nothing dispatches them and the API does not serve
them."""

from typing import Any

from ..context import RequestContext
from .service import Service


def scopes(service: Service) -> list[dict[str, Any]]:
    """Every (account, region) holding an image or an app image config, with how many of each, in order."""
    with service.store.transaction() as tx:
        return tx.scopes(service.now())


def version_counts(service: Service, ctx: RequestContext, names: list[str]) -> dict[str, int]:
    """How many versions each named image of ctx's scope has (images that do not exist there are left out)."""
    counts = {}
    with service.store.transaction() as tx:
        for name in dict.fromkeys(names):
            image = tx.image(ctx.account, ctx.region, name, ctx.now)
            if image is not None:
                counts[name] = tx.count_versions(image["id"], ctx.now)
    return counts
