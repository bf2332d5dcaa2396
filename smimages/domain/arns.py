"""ARNs: the ones smimages hands out, and the one parser of ARNs clients send (tags, faults)."""

from __future__ import annotations

import re
from typing import NamedTuple

from ..context import RequestContext

# arn:partition:sagemaker:region:account:kind/resource (ASCII digits only: \d would admit other scripts' digits)
_SAGEMAKER_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):sagemaker:(?P<region>[a-z0-9-]*):(?P<account>[0-9]{12}):"
    r"(?P<kind>[a-z-]+)/(?P<resource>.+)"
)
# The kinds of the ARNs below: the resources smimages serves (tag calls on other kinds go to an upstream, if any)
SERVED_KINDS = frozenset({"image", "image-version", "app-image-config"})


class Arn(NamedTuple):
    """A SageMaker ARN taken apart."""

    partition: str
    region: str
    account: str
    kind: str  # image, image-version, app-image-config, ...
    resource: str  # what follows kind/: a name, or name/version


def parse(arn: str) -> Arn | None:
    """The parts of a SageMaker resource ARN, or None for anything else."""
    match = _SAGEMAKER_ARN.fullmatch(arn)
    return None if match is None else Arn(*match.groups())


def image_arn(ctx: RequestContext, name: str) -> str:
    return f"arn:aws:sagemaker:{ctx.region}:{ctx.account}:image/{name}"


def image_version_arn(ctx: RequestContext, name: str, version: int) -> str:
    return f"{image_versions_arn(ctx, name)}{version}"


def image_versions_arn(ctx: RequestContext, name: str) -> str:
    """The ARN of an image's versions without the number. Image-version ARNs carry the image name in lower case, as
    the model's ARN pattern requires."""
    return f"arn:aws:sagemaker:{ctx.region}:{ctx.account}:image-version/{name.lower()}/"


def app_image_config_arn(ctx: RequestContext, name: str) -> str:
    return f"arn:aws:sagemaker:{ctx.region}:{ctx.account}:app-image-config/{name}"


def named_in(ctx: RequestContext, arn: str) -> Arn | None:
    """An ARN of the standard partition naming a resource in the caller's account and region (else None)."""
    parts = parse(arn)
    if parts is None or (parts.partition, parts.region, parts.account) != ("aws", ctx.region, ctx.account):
        return None
    return parts
