"""ListAliases, and AddTags / ListTags / DeleteTags on image ARNs."""

import pytest
from botocore.exceptions import ClientError

from support import BASE, ROLE, error_of, strip

IMAGE_ARN = "arn:aws:sagemaker:us-east-1:000000000000:image/my-image"


@pytest.fixture
def versions(sm, image):
    sm.create_image_version(ImageName=image, BaseImage=BASE, Aliases=["b", "a"])
    sm.create_image_version(ImageName=image, BaseImage=BASE, Aliases=["c"])
    sm.create_image_version(ImageName=image, BaseImage=BASE)
    return image


def aliases(sm, **kw):
    return sm.list_aliases(ImageName="my-image", **kw)["SageMakerImageVersionAliases"]


def test_list_aliases_with_and_without_version(sm, versions):
    assert aliases(sm) == ["a", "b", "c"]
    assert aliases(sm, Version=1) == ["a", "b"]
    assert aliases(sm, Version=3) == []
    assert aliases(sm, Alias="c") == ["c"]
    assert aliases(sm, Alias="c", Version=1) == []
    assert aliases(sm, Alias="zzz") == []


def test_list_aliases_pages(sm, versions):
    first = sm.list_aliases(ImageName=versions, MaxResults=2)
    assert first["SageMakerImageVersionAliases"] == ["a", "b"]
    second = sm.list_aliases(ImageName=versions, MaxResults=2, NextToken=first["NextToken"])
    assert strip(second) == {"SageMakerImageVersionAliases": ["c"]}
    pages = sm.get_paginator("list_aliases").paginate(ImageName=versions, PaginationConfig={"PageSize": 1})
    assert [a for p in pages for a in p["SageMakerImageVersionAliases"]] == ["a", "b", "c"]


def test_list_aliases_missing_image_or_version(sm, versions):
    with pytest.raises(ClientError) as exc:
        sm.list_aliases(ImageName="nope")
    assert error_of(exc)[0] == "ResourceNotFound"
    with pytest.raises(ClientError) as exc:
        sm.list_aliases(ImageName=versions, Version=7)
    assert error_of(exc)[0] == "ResourceNotFound" and "does not exist" in error_of(exc)[1]


def test_tags_from_create_add_overwrite_delete(sm):
    sm.create_image(ImageName="my-image", RoleArn=ROLE, Tags=[{"Key": "team", "Value": "ml"}])
    assert strip(sm.list_tags(ResourceArn=IMAGE_ARN)) == {"Tags": [{"Key": "team", "Value": "ml"}]}
    added = sm.add_tags(ResourceArn=IMAGE_ARN, Tags=[{"Key": "team", "Value": "platform"}, {"Key": "env", "Value": ""}])
    assert strip(added) == {"Tags": [{"Key": "team", "Value": "platform"}, {"Key": "env", "Value": ""}]}
    assert sm.list_tags(ResourceArn=IMAGE_ARN)["Tags"] == [
        {"Key": "team", "Value": "platform"},
        {"Key": "env", "Value": ""},
    ]
    assert strip(sm.delete_tags(ResourceArn=IMAGE_ARN, TagKeys=["team", "absent"])) == {}
    assert sm.list_tags(ResourceArn=IMAGE_ARN)["Tags"] == [{"Key": "env", "Value": ""}]


def test_unicode_tags_match_the_java_pattern(sm, image):
    sm.add_tags(ResourceArn=IMAGE_ARN, Tags=[{"Key": "équipe données", "Value": "日本 + 1"}])
    assert sm.list_tags(ResourceArn=IMAGE_ARN)["Tags"] == [{"Key": "équipe données", "Value": "日本 + 1"}]


def test_tag_limit_per_resource(sm, image):
    sm.add_tags(ResourceArn=IMAGE_ARN, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    with pytest.raises(ClientError) as exc:
        sm.add_tags(ResourceArn=IMAGE_ARN, Tags=[{"Key": "one-more", "Value": "v"}])
    assert error_of(exc) == (
        "ValidationException",
        "The resource would have 51 tags; a resource can have at most 50 tags.",
    )
    pages = sm.get_paginator("list_tags").paginate(ResourceArn=IMAGE_ARN, PaginationConfig={"PageSize": 50})
    assert len([t for p in pages for t in p["Tags"]]) == 50


def test_duplicate_keys_in_one_request(sm, image):
    with pytest.raises(ClientError) as exc:
        sm.add_tags(ResourceArn=IMAGE_ARN, Tags=[{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}])
    assert error_of(exc)[0] == "ValidationException"
    assert sm.list_tags(ResourceArn=IMAGE_ARN)["Tags"] == []


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:sagemaker:us-east-1:000000000000:image/nope",
        "arn:aws:sagemaker:us-east-1:000000000000:image-version/my-image/1",
        "arn:aws:sagemaker:us-east-1:000000000000:training-job/my-image",
        "arn:aws:sagemaker:eu-west-1:000000000000:image/my-image",
        "arn:aws:sagemaker:us-east-1:111111111111:image/my-image",
    ],
)
def test_tags_on_unknown_resources(sm, image, arn):
    for call, kw in (
        ("list_tags", {}),
        ("add_tags", {"Tags": [{"Key": "k", "Value": "v"}]}),
        ("delete_tags", {"TagKeys": ["k"]}),
    ):
        with pytest.raises(ClientError) as exc:
            getattr(sm, call)(ResourceArn=arn, **kw)
        assert error_of(exc) == ("ValidationException", "Resource does not exist")
