"""CreateImageVersion, DescribeImageVersion, UpdateImageVersion, DeleteImageVersion and ListImageVersions."""

import pytest
from botocore.exceptions import ClientError

from support import BASE, ROLE, error_of, strip, ts

IMAGE_ARN = "arn:aws:sagemaker:us-east-1:000000000000:image/my-image"
VERSION_ARN = "arn:aws:sagemaker:us-east-1:000000000000:image-version/my-image/"
METADATA = {
    "VendorGuidance": "STABLE",
    "JobType": "TRAINING",
    "MLFramework": "PyTorch 2.1",
    "ProgrammingLang": "Python 3.10",
    "Processor": "GPU",
    "Horovod": True,
    "ReleaseNotes": "first",
}


def test_create_and_describe_whole_response(sm, image, service):
    created = sm.create_image_version(ImageName=image, BaseImage=BASE, **METADATA)
    assert strip(created) == {"ImageVersionArn": VERSION_ARN + "1"}
    now = ts(service.clock())
    assert strip(sm.describe_image_version(ImageName=image, Version=1)) == {
        "BaseImage": BASE,
        "ContainerImage": BASE,
        "CreationTime": now,
        "ImageArn": IMAGE_ARN,
        "ImageVersionArn": VERSION_ARN + "1",
        "ImageVersionStatus": "CREATED",
        "LastModifiedTime": now,
        "Version": 1,
        **METADATA,
    }


def test_version_arn_lowercases_the_image_name(sm):
    sm.create_image(ImageName="MyImage", RoleArn=ROLE)
    arn = sm.create_image_version(ImageName="MyImage", BaseImage=BASE)["ImageVersionArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:000000000000:image-version/myimage/1"
    assert sm.describe_image_version(ImageName="MyImage")["ImageArn"].endswith(":image/MyImage")


def test_numbers_start_at_one_and_are_never_reused(sm, image):
    for _ in range(3):
        sm.create_image_version(ImageName=image, BaseImage=BASE)
    sm.delete_image_version(ImageName=image, Version=3)
    arn = sm.create_image_version(ImageName=image, BaseImage=BASE)["ImageVersionArn"]
    assert arn == VERSION_ARN + "4"
    assert [
        v["Version"]
        for v in sm.list_image_versions(ImageName=image, SortBy="VERSION", SortOrder="ASCENDING")["ImageVersions"]
    ] == [1, 2, 4]


def test_client_token_replay_returns_first_version(sm, image):
    first = sm.create_image_version(ImageName=image, BaseImage=BASE, ClientToken="token-1")
    again = sm.create_image_version(ImageName=image, BaseImage="other:2", ClientToken="token-1")
    assert first["ImageVersionArn"] == again["ImageVersionArn"] == VERSION_ARN + "1"
    assert len(sm.list_image_versions(ImageName=image)["ImageVersions"]) == 1
    other = sm.create_image_version(ImageName=image, BaseImage=BASE, ClientToken="token-2")
    assert other["ImageVersionArn"] == VERSION_ARN + "2"


def test_a_client_token_is_free_again_once_its_version_is_gone(sm, image, service):
    sm.create_image_version(ImageName=image, BaseImage=BASE, ClientToken="token-1")
    sm.delete_image_version(ImageName=image, Version=1)  # gone at once (no transition delay), not yet purged
    again = sm.create_image_version(ImageName=image, BaseImage=BASE, ClientToken="token-1")
    assert again["ImageVersionArn"] == VERSION_ARN + "2"
    assert [v["Version"] for v in sm.list_image_versions(ImageName=image)["ImageVersions"]] == [2]


def test_create_on_missing_image(sm):
    with pytest.raises(ClientError) as exc:
        sm.create_image_version(ImageName="nope", BaseImage=BASE)
    assert error_of(exc) == (
        "ResourceNotFound",
        "Image with ARN arn:aws:sagemaker:us-east-1:000000000000:image/nope does not exist",
    )


def test_describe_latest_by_alias_and_missing(sm, image):
    with pytest.raises(ClientError) as exc:
        sm.describe_image_version(ImageName=image)
    assert error_of(exc) == (
        "ResourceNotFound",
        "Latest ImageVersion with ImageName my-image does not exist. Please provide a valid ImageName.",
    )
    sm.create_image_version(ImageName=image, BaseImage=BASE, Aliases=["stable"])
    sm.create_image_version(ImageName=image, BaseImage=BASE, Aliases=["latest"])
    assert sm.describe_image_version(ImageName=image)["Version"] == 2
    assert sm.describe_image_version(ImageName=image, Alias="stable")["Version"] == 1
    with pytest.raises(ClientError) as exc:
        sm.describe_image_version(ImageName=image, Version=9)
    assert error_of(exc) == ("ResourceNotFound", f"ImageVersion with ARN {VERSION_ARN}9 does not exist")
    with pytest.raises(ClientError) as exc:
        sm.describe_image_version(ImageName=image, Alias="nope")
    assert error_of(exc)[0] == "ResourceNotFound" and "does not exist" in error_of(exc)[1]
    with pytest.raises(ClientError) as exc:
        sm.describe_image_version(ImageName=image, Version=1, Alias="stable")
    assert error_of(exc) == ("ValidationException", "Only one of Version or Alias may be specified.")


def test_update_metadata_and_aliases_in_one_call(sm, image, service):
    sm.create_image_version(ImageName=image, BaseImage=BASE, Aliases=["first"], ReleaseNotes="r1")
    service.clock.advance(3)
    updated = sm.update_image_version(
        ImageName=image,
        Alias="first",
        AliasesToAdd=["second"],
        AliasesToDelete=["first"],
        ReleaseNotes="r2",
        Horovod=False,
        VendorGuidance="STABLE",
        JobType="INFERENCE",
    )
    assert strip(updated) == {"ImageVersionArn": VERSION_ARN + "1"}
    assert sm.list_aliases(ImageName=image, Version=1)["SageMakerImageVersionAliases"] == ["second"]
    described = sm.describe_image_version(ImageName=image, Version=1)
    assert {
        k: described[k] for k in ("ReleaseNotes", "Horovod", "VendorGuidance", "JobType", "ImageVersionStatus")
    } == {
        "ReleaseNotes": "r2",
        "Horovod": False,
        "VendorGuidance": "STABLE",
        "JobType": "INFERENCE",
        "ImageVersionStatus": "CREATED",
    }
    assert described["LastModifiedTime"] == ts(service.clock())


def test_alias_held_by_another_version_is_refused(sm, image):
    sm.create_image_version(ImageName=image, BaseImage=BASE, Aliases=["latest"])
    with pytest.raises(ClientError) as exc:
        sm.create_image_version(ImageName=image, BaseImage=BASE, Aliases=["latest"])
    assert error_of(exc) == (
        "ValidationException",
        "Alias latest is already associated with another ImageVersion of Image my-image.",
    )
    assert len(sm.list_image_versions(ImageName=image)["ImageVersions"]) == 1
    sm.create_image_version(ImageName=image, BaseImage=BASE)
    with pytest.raises(ClientError):
        sm.update_image_version(ImageName=image, Version=2, AliasesToAdd=["latest"])
    sm.update_image_version(ImageName=image, Version=1, AliasesToDelete=["latest"])
    sm.update_image_version(ImageName=image, Version=2, AliasesToAdd=["latest"])
    assert sm.describe_image_version(ImageName=image, Alias="latest")["Version"] == 2


def test_alias_of_a_deleted_version_is_free_again(sm, image):
    sm.create_image_version(ImageName=image, BaseImage=BASE, Aliases=["latest"])
    sm.delete_image_version(ImageName=image, Alias="latest")
    sm.create_image_version(ImageName=image, BaseImage=BASE, Aliases=["latest"])
    assert sm.describe_image_version(ImageName=image, Alias="latest")["Version"] == 2


@pytest.mark.parametrize("call", ["update_image_version", "delete_image_version"])
def test_update_and_delete_need_version_or_alias(sm, image, call):
    sm.create_image_version(ImageName=image, BaseImage=BASE)
    with pytest.raises(ClientError) as exc:
        getattr(sm, call)(ImageName=image)
    assert error_of(exc) == ("ValidationException", "Either Version or Alias must be specified.")


@pytest.mark.parametrize("call", ["describe_image_version", "update_image_version", "delete_image_version"])
def test_missing_version(sm, image, call):
    with pytest.raises(ClientError) as exc:
        getattr(sm, call)(ImageName=image, Version=5)
    assert error_of(exc) == ("ResourceNotFound", f"ImageVersion with ARN {VERSION_ARN}5 does not exist")


def test_delete_by_version_and_by_alias(sm, image):
    sm.create_image_version(ImageName=image, BaseImage=BASE)
    sm.create_image_version(ImageName=image, BaseImage=BASE, Aliases=["x"])
    assert strip(sm.delete_image_version(ImageName=image, Version=1)) == {}
    assert strip(sm.delete_image_version(ImageName=image, Alias="x")) == {}
    assert sm.list_image_versions(ImageName=image)["ImageVersions"] == []


def test_list_versions_summary_sort_filters_and_paging(sm, image, service):
    start = service.clock()
    for _ in range(5):
        sm.create_image_version(ImageName=image, BaseImage=BASE)
        service.clock.advance(1)
    listed = sm.list_image_versions(ImageName=image)["ImageVersions"]
    assert [v["Version"] for v in listed] == [5, 4, 3, 2, 1]
    assert listed[0] == {
        "CreationTime": ts(start + 4),
        "ImageArn": IMAGE_ARN,
        "ImageVersionArn": VERSION_ARN + "5",
        "ImageVersionStatus": "CREATED",
        "LastModifiedTime": ts(start + 4),
        "Version": 5,
    }
    asc = sm.list_image_versions(ImageName=image, SortBy="VERSION", SortOrder="ASCENDING")["ImageVersions"]
    assert [v["Version"] for v in asc] == [1, 2, 3, 4, 5]
    window = sm.list_image_versions(ImageName=image, CreationTimeAfter=ts(start + 1), CreationTimeBefore=ts(start + 3))[
        "ImageVersions"
    ]
    assert [v["Version"] for v in window] == [4, 3, 2]
    sm.update_image_version(ImageName=image, Version=2, ReleaseNotes="touched")
    recent = sm.list_image_versions(ImageName=image, SortBy="LAST_MODIFIED_TIME", LastModifiedTimeAfter=ts(start + 4))[
        "ImageVersions"
    ]
    assert [v["Version"] for v in recent] == [2, 5]
    pages = sm.get_paginator("list_image_versions").paginate(ImageName=image, PaginationConfig={"PageSize": 2})
    assert [[v["Version"] for v in p["ImageVersions"]] for p in pages] == [[5, 4], [3, 2], [1]]


def test_list_versions_of_missing_image(sm):
    with pytest.raises(ClientError) as exc:
        sm.list_image_versions(ImageName="nope")
    assert error_of(exc)[0] == "ResourceNotFound"


def test_version_token_is_bound_to_its_image(sm, image):
    sm.create_image(ImageName="other", RoleArn=ROLE)
    for name in (image, "other"):
        sm.create_image_version(ImageName=name, BaseImage=BASE)
        sm.create_image_version(ImageName=name, BaseImage=BASE)
    token = sm.list_image_versions(ImageName=image, MaxResults=1)["NextToken"]
    with pytest.raises(ClientError) as exc:
        sm.list_image_versions(ImageName="other", MaxResults=1, NextToken=token)
    assert error_of(exc)[0] == "ValidationException"
