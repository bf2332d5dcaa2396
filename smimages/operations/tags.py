"""AddTags, ListTags and DeleteTags on image ARNs."""
from ..context import RequestContext
from ..domain import paging
from ..domain.arns import image_name_in
from ..errors import ValidationException
from ..store.sql import Transaction
from . import operation
from .service import Service

MAX_TAGS_PER_RESOURCE = 50


def tag_map(tags: list[dict]) -> dict[str, str]:
    """Tags of a request as a key -> value map; a key given twice is refused."""
    mapped = {}
    for tag in tags:
        if tag["Key"] in mapped:
            raise ValidationException(f"Duplicate tag key '{tag['Key']}' in request. Tag keys must be unique.")
        mapped[tag["Key"]] = tag["Value"]
    return mapped


def _tagged_image(tx: Transaction, ctx: RequestContext, arn: str, lock: bool = False) -> dict:
    """The image an ARN designates; any other ARN is a resource that does not exist, as AWS answers it."""
    name = image_name_in(ctx, arn)
    image = name and tx.image(ctx.account, ctx.region, name, ctx.now, lock=lock)
    if not image:
        raise ValidationException("Resource does not exist")
    return image


@operation
def add_tags(service: Service, ctx: RequestContext, request: dict) -> dict:
    tags = tag_map(request["Tags"])
    with service.store.transaction(write=True) as tx:
        image = _tagged_image(tx, ctx, request["ResourceArn"], lock=True)  # concurrent AddTags take turns
        existing = tx.tags(image["id"])
        keys = {row["key"] for row in existing} | tags.keys()
        if len(keys) > MAX_TAGS_PER_RESOURCE:
            raise ValidationException(
                f"The resource would have {len(keys)} tags; a resource can have at most "
                f"{MAX_TAGS_PER_RESOURCE} tags.")
        tx.put_tags(image["id"], tags, existing)
    return {"Tags": request["Tags"]}


@operation
def list_tags(service: Service, ctx: RequestContext, request: dict) -> dict:
    query = {"ResourceArn": request["ResourceArn"]}
    after = paging.decode(query, request.get("NextToken"))
    limit = request.get("MaxResults", 50)
    with service.store.transaction() as tx:
        image = _tagged_image(tx, ctx, request["ResourceArn"])
        rows = tx.tags(image["id"], after[0] if after else None, limit)
    tags, token = paging.page([({"Key": r["key"], "Value": r["value"]}, [r["id"]]) for r in rows], limit, query)
    return {"Tags": tags, "NextToken": token}


@operation
def delete_tags(service: Service, ctx: RequestContext, request: dict) -> dict:
    with service.store.transaction(write=True) as tx:
        image = _tagged_image(tx, ctx, request["ResourceArn"], lock=True)
        tx.delete_tags(image["id"], request["TagKeys"])
    return {}
