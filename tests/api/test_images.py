"""CreateImage, DescribeImage, UpdateImage, DeleteImage and ListImages through boto3."""

import pytest
from botocore.exceptions import ClientError

from support import ROLE, error_of, strip, ts

ARN = "arn:aws:sagemaker:us-east-1:000000000000:image/"


def test_create_then_describe_whole_response(sm, service):
    created = sm.create_image(ImageName="my-image", RoleArn=ROLE, Description="d", DisplayName="My Image")
    assert strip(created) == {"ImageArn": ARN + "my-image"}
    now = ts(service.clock())
    assert strip(sm.describe_image(ImageName="my-image")) == {
        "CreationTime": now,
        "Description": "d",
        "DisplayName": "My Image",
        "ImageArn": ARN + "my-image",
        "ImageName": "my-image",
        "ImageStatus": "CREATED",
        "LastModifiedTime": now,
        "RoleArn": ROLE,
    }


def test_describe_omits_unset_members(sm, image):
    described = sm.describe_image(ImageName=image)
    assert "DisplayName" not in described and "Description" not in described and "FailureReason" not in described


def test_dots_are_allowed_in_names(sm):
    assert sm.create_image(ImageName="my.image-1", RoleArn=ROLE)["ImageArn"] == ARN + "my.image-1"


def test_duplicate_name_is_resource_in_use(sm, image):
    with pytest.raises(ClientError) as exc:
        sm.create_image(ImageName=image, RoleArn=ROLE)
    assert error_of(exc) == (
        "ResourceInUse",
        "The Image with ImageName my-image already exists. Please use a different ImageName.",
    )
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_names_are_unique_regardless_of_case(sm, image):
    with pytest.raises(ClientError) as exc:
        sm.create_image(ImageName="My-Image", RoleArn=ROLE)
    assert error_of(exc)[0] == "ResourceInUse"


@pytest.mark.parametrize("call", ["describe_image", "update_image", "delete_image"])
def test_missing_image_is_resource_not_found(sm, call):
    with pytest.raises(ClientError) as exc:
        getattr(sm, call)(ImageName="nope")
    assert error_of(exc) == ("ResourceNotFound", f"Image with ARN {ARN}nope does not exist")


def test_update_sets_and_deletes_properties(sm, service):
    sm.create_image(ImageName="img", RoleArn=ROLE, Description="old", DisplayName="Old")
    service.clock.advance(5)
    new_role = "arn:aws:iam::123456789012:role/Other"
    assert strip(
        sm.update_image(ImageName="img", DeleteProperties=["DisplayName"], Description="new", RoleArn=new_role)
    ) == {"ImageArn": ARN + "img"}
    described = sm.describe_image(ImageName="img")
    assert described["Description"] == "new" and "DisplayName" not in described
    assert described["RoleArn"] == new_role and described["ImageStatus"] == "CREATED"
    assert described["LastModifiedTime"] == ts(service.clock())
    assert described["CreationTime"] == ts(service.clock() - 5)
    sm.update_image(ImageName="img", DeleteProperties=["Description", "DisplayName"])
    assert "Description" not in sm.describe_image(ImageName="img")


def test_update_cannot_set_and_delete_one_property(sm, image):
    with pytest.raises(ClientError) as exc:
        sm.update_image(ImageName=image, DisplayName="x", DeleteProperties=["DisplayName"])
    assert error_of(exc) == (
        "ValidationException",
        "DisplayName cannot be both updated and deleted in the same request.",
    )
    assert "DisplayName" not in sm.describe_image(ImageName=image)


def test_delete_removes_image_and_versions(sm, image):
    sm.create_image_version(ImageName=image, BaseImage="repo:1")
    assert strip(sm.delete_image(ImageName=image)) == {}
    with pytest.raises(ClientError) as exc:
        sm.describe_image(ImageName=image)
    assert error_of(exc)[0] == "ResourceNotFound"
    with pytest.raises(ClientError) as exc:
        sm.describe_image_version(ImageName=image, Version=1)
    assert error_of(exc)[0] == "ResourceNotFound"
    assert sm.list_images()["Images"] == []


def test_name_is_free_again_after_delete_and_versions_restart(sm, image):
    sm.create_image_version(ImageName=image, BaseImage="repo:1")
    sm.delete_image(ImageName=image)
    sm.create_image(ImageName=image, RoleArn=ROLE)
    arn = sm.create_image_version(ImageName=image, BaseImage="repo:1")["ImageVersionArn"]
    assert arn.endswith("image-version/my-image/1")


def _make(sm, service, names):
    for name in names:
        sm.create_image(ImageName=name, RoleArn=ROLE)
        service.clock.advance(1)


def test_list_defaults_newest_first_ten_per_page(sm, service):
    names = [f"img-{i:02d}" for i in range(12)]
    _make(sm, service, names)
    first = sm.list_images()
    assert [i["ImageName"] for i in first["Images"]] == names[::-1][:10]
    assert set(first["Images"][0]) == {"CreationTime", "ImageArn", "ImageName", "ImageStatus", "LastModifiedTime"}
    second = sm.list_images(NextToken=first["NextToken"])
    assert [i["ImageName"] for i in second["Images"]] == names[::-1][10:]
    assert "NextToken" not in second


def test_list_sort_and_paginator(sm, service):
    _make(sm, service, ["b-img", "a-img", "c-img", "B-up"])
    by_name = sm.list_images(SortBy="IMAGE_NAME", SortOrder="ASCENDING")["Images"]
    assert [i["ImageName"] for i in by_name] == ["B-up", "a-img", "b-img", "c-img"]
    pages = sm.get_paginator("list_images").paginate(
        SortBy="IMAGE_NAME", SortOrder="DESCENDING", PaginationConfig={"PageSize": 1}
    )
    assert [i["ImageName"] for p in pages for i in p["Images"]] == ["c-img", "b-img", "a-img", "B-up"]
    service.clock.advance(1)
    sm.update_image(ImageName="a-img", Description="touched")
    by_modified = sm.list_images(SortBy="LAST_MODIFIED_TIME")["Images"]
    assert by_modified[0]["ImageName"] == "a-img"


def test_list_filters_are_inclusive(sm, service):
    start = service.clock()
    _make(sm, service, ["one", "two", "three"])
    names = lambda **kw: sorted(i["ImageName"] for i in sm.list_images(**kw)["Images"])  # noqa: E731
    assert names(CreationTimeAfter=ts(start + 1)) == ["three", "two"]
    assert names(CreationTimeBefore=ts(start + 1)) == ["one", "two"]
    assert names(CreationTimeAfter=ts(start + 1), CreationTimeBefore=ts(start + 1)) == ["two"]
    assert names(LastModifiedTimeAfter=ts(start + 2)) == ["three"]
    assert names(LastModifiedTimeBefore=ts(start)) == ["one"]
    assert names(NameContains="t") == ["three", "two"]
    assert names(NameContains="O") == ["one", "two"]


def test_next_token_of_another_query_is_rejected(sm, service):
    _make(sm, service, ["a1", "a2", "b1"])
    token = sm.list_images(MaxResults=1)["NextToken"]
    with pytest.raises(ClientError) as exc:
        sm.list_images(MaxResults=1, NextToken=token, SortBy="IMAGE_NAME")
    assert error_of(exc) == ("ValidationException", "The NextToken provided is invalid.")
    with pytest.raises(ClientError) as exc:
        sm.list_images(NextToken="garbage")
    assert error_of(exc)[0] == "ValidationException"
