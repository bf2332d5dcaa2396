"""ARNs: the ones handed out, and the one parser of ARNs clients send."""

import pytest

from smimages.context import RequestContext
from smimages.domain.arns import Arn, image_arn, image_version_arn, named_in, parse

CTX = RequestContext("123456789012", "eu-west-1", 0.0)


def test_image_and_version_arns():
    assert image_arn(CTX, "My-Image") == "arn:aws:sagemaker:eu-west-1:123456789012:image/My-Image"
    assert image_version_arn(CTX, "My-Image", 3) == "arn:aws:sagemaker:eu-west-1:123456789012:image-version/my-image/3"


def test_parse_takes_a_sagemaker_arn_apart():
    assert parse("arn:aws-cn:sagemaker:cn-north-1:123456789012:image-version/img/2") == Arn(
        "aws-cn", "cn-north-1", "123456789012", "image-version", "img/2"
    )


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:role/R",
        "arn:aws:sagemaker:eu-west-1:12345678901:image/img",  # 11 digits
        "arn:aws:sagemaker:eu-west-1:١٢٣٤٥٦٧٨٩٠١٢:image/img",  # digits of another script
        "arn:aws:sagemaker:eu-west-1:123456789012:image",
        "arn:aws:sagemaker:EU-west-1:123456789012:image/img",
    ],
)
def test_anything_else_is_not_an_arn(arn):
    assert parse(arn) is None


def test_named_in_keeps_the_callers_account_and_region_only():
    assert named_in(CTX, "arn:aws:sagemaker:eu-west-1:123456789012:image/img").resource == "img"
    for other in (
        "arn:aws:sagemaker:us-east-1:123456789012:image/img",
        "arn:aws:sagemaker:eu-west-1:210987654321:image/img",
        "arn:aws-cn:sagemaker:eu-west-1:123456789012:image/img",
    ):
        assert named_in(CTX, other) is None
