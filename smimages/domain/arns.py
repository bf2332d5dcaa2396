"""ARNs of images and image versions, and parsing of resource ARNs given to the tagging calls."""
import re

from ..context import RequestContext

_RESOURCE = re.compile(r"arn:(aws[a-z-]*):sagemaker:([a-z0-9-]*):(\d{12}):([a-z-]+)/(.+)")


def image_arn(ctx: RequestContext, name: str) -> str:
    return f"arn:aws:sagemaker:{ctx.region}:{ctx.account}:image/{name}"


def image_version_arn(ctx: RequestContext, name: str, version: int) -> str:
    """Image-version ARNs carry the image name in lower case, as the model's ARN pattern requires."""
    return f"arn:aws:sagemaker:{ctx.region}:{ctx.account}:image-version/{name.lower()}/{version}"


def image_name_in(ctx: RequestContext, arn: str) -> str | None:
    """The image name an ARN designates within the caller's account and region, else None."""
    match = _RESOURCE.fullmatch(arn)
    if not match:
        return None
    partition, region, account, kind, name = match.groups()
    if (partition, region, account, kind) != ("aws", ctx.region, ctx.account, "image") or "/" in name:
        return None
    return name
