"""Fault injection in-process (through the plugin's fixtures): failed lifecycles, error answers, scopes, counts."""

import types

import botocore.endpoint
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, WaiterError

from smimages.faults import Fault, FaultError
from support import BASE, ROLE, error_of, strip

NO_WAIT = {"Delay": 0, "MaxAttempts": 1}
BROKEN = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-repo:broken"


@pytest.fixture
def sleeps(monkeypatch):
    """botocore's retry sleeps, recorded instead of slept."""
    slept = []
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=slept.append))
    return slept


@pytest.fixture
def image(sagemaker_client):
    sagemaker_client.create_image(ImageName="img", RoleArn=ROLE)
    return "img"


def version_of(client, number, name="img"):
    return strip(client.describe_image_version(ImageName=name, Version=number))


def test_next_version_creations_matching_a_base_image_end_create_failed(smimages, sagemaker_client, image):
    fault = smimages.faults.fail(
        "CreateImageVersion", "Failed to pull the container image.", count=2, base_image="*:broken"
    )
    for base in (BROKEN, BASE, BROKEN, BROKEN):
        sagemaker_client.create_image_version(ImageName=image, BaseImage=base)
    statuses = [
        (v["ImageVersionStatus"], v.get("FailureReason"), "ContainerImage" in v)
        for v in (version_of(sagemaker_client, n) for n in (1, 2, 3, 4))
    ]
    assert statuses == [
        ("CREATE_FAILED", "Failed to pull the container image.", False),
        ("CREATED", None, True),
        ("CREATE_FAILED", "Failed to pull the container image.", False),
        ("CREATED", None, True),
    ]
    assert (fault.count, fault.hits) == (0, 2) and smimages.faults.list() == []
    with pytest.raises(WaiterError, match="CREATE_FAILED"):
        sagemaker_client.get_waiter("image_version_created").wait(ImageName=image, Version=1, WaiterConfig=NO_WAIT)


@pytest.mark.smimages(transition_delay=60)
def test_failure_shows_once_the_transition_is_due(smimages, sagemaker_client):
    smimages.faults.fail("CreateImage", "The role could not be assumed.", image="img")
    sagemaker_client.create_image(ImageName="img", RoleArn=ROLE)
    creating = sagemaker_client.describe_image(ImageName="img")
    assert creating["ImageStatus"] == "CREATING" and "FailureReason" not in creating
    smimages.advance(60)
    failed = sagemaker_client.describe_image(ImageName="img")
    assert (failed["ImageStatus"], failed["FailureReason"]) == ("CREATE_FAILED", "The role could not be assumed.")
    with pytest.raises(ClientError) as exc:
        sagemaker_client.create_image_version(ImageName="img", BaseImage=BASE)
    assert error_of(exc) == ("ValidationException", "Image img is in an invalid state.")


def test_image_update_ends_update_failed_and_can_be_retried(smimages, sagemaker_client, image):
    smimages.faults.fail("UpdateImage", "Update failed.", image="img")
    sagemaker_client.update_image(ImageName=image, Description="new")
    with pytest.raises(WaiterError, match="UPDATE_FAILED"):
        sagemaker_client.get_waiter("image_updated").wait(ImageName=image, WaiterConfig=NO_WAIT)
    described = sagemaker_client.describe_image(ImageName=image)
    assert (described["ImageStatus"], described["FailureReason"], described["Description"]) == (
        "UPDATE_FAILED",
        "Update failed.",
        "new",
    )
    sagemaker_client.update_image(ImageName=image, Description="again")
    described = sagemaker_client.describe_image(ImageName=image)
    assert described["ImageStatus"] == "CREATED" and "FailureReason" not in described


def test_deletions_end_delete_failed(smimages, sagemaker_client, image):
    sagemaker_client.create_image_version(ImageName=image, BaseImage=BASE)
    sagemaker_client.create_image_version(ImageName=image, BaseImage=BASE)
    version_arn = "arn:aws:sagemaker:us-east-1:000000000000:image-version/img/2"
    smimages.faults.fail("DeleteImageVersion", "Version delete failed.", image=version_arn)
    smimages.faults.fail(
        "DeleteImage", "Image delete failed.", image="arn:aws:sagemaker:us-east-1:000000000000:image/img"
    )
    sagemaker_client.delete_image_version(ImageName=image, Version=1)
    sagemaker_client.delete_image_version(ImageName=image, Version=2)
    assert [v["Version"] for v in sagemaker_client.list_image_versions(ImageName=image)["ImageVersions"]] == [2]
    assert (
        version_of(sagemaker_client, 2)["ImageVersionStatus"],
        version_of(sagemaker_client, 2)["FailureReason"],
    ) == ("DELETE_FAILED", "Version delete failed.")
    sagemaker_client.delete_image(ImageName=image)
    described = sagemaker_client.describe_image(ImageName=image)
    assert (described["ImageStatus"], described["FailureReason"]) == ("DELETE_FAILED", "Image delete failed.")
    with pytest.raises(WaiterError, match="DELETE_FAILED"):
        sagemaker_client.get_waiter("image_deleted").wait(ImageName=image, WaiterConfig=NO_WAIT)
    sagemaker_client.delete_image(ImageName=image)  # the fault is used up: this one goes through
    with pytest.raises(ClientError) as exc:
        sagemaker_client.describe_image(ImageName=image)
    assert error_of(exc)[0] == "ResourceNotFound"


def test_throttling_is_retried_by_botocore(smimages, sagemaker_client, image, sleeps):
    fault = smimages.faults.throttle("DescribeImage", count=2)
    response = sagemaker_client.describe_image(ImageName=image)
    assert response["ResponseMetadata"]["RetryAttempts"] == 2 and len(sleeps) == 2
    assert fault.hits == 2
    always = smimages.faults.throttle("DescribeImage", count=None)  # every call, until removed
    with pytest.raises(ClientError) as exc:
        sagemaker_client.describe_image(ImageName=image)
    assert error_of(exc) == ("ThrottlingException", "Rate exceeded")
    assert always.hits == exc.value.response["ResponseMetadata"]["RetryAttempts"] + 1 > 1  # botocore gave up
    smimages.faults.clear()
    assert sagemaker_client.describe_image(ImageName=image)["ImageStatus"] == "CREATED"


def test_resource_limit_exceeded_n_times(smimages, sagemaker_client, sleeps):
    smimages.faults.limit_exceeded("CreateImage", count=1, image="img-*")
    sagemaker_client.create_image(ImageName="other", RoleArn=ROLE)  # out of scope
    with pytest.raises(ClientError) as exc:
        sagemaker_client.create_image(ImageName="img-1", RoleArn=ROLE)
    assert error_of(exc)[0] == "ResourceLimitExceeded" and sleeps == []  # not retried
    sagemaker_client.create_image(ImageName="img-1", RoleArn=ROLE)
    assert len(sagemaker_client.list_images()["Images"]) == 2


def test_any_error_code_status_and_message(smimages, sagemaker_client, image, sleeps):
    smimages.faults.error("*", "InternalFailure", count=1)
    response = sagemaker_client.list_images()  # a 500, retried
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    smimages.faults.error("ListAliases", "AccessDeniedException", "Not for you.", status=403)
    with pytest.raises(ClientError) as exc:
        sagemaker_client.list_aliases(ImageName=image)
    assert error_of(exc) == ("AccessDeniedException", "Not for you.")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_concurrent_create_image_version_answers_resource_in_use(smimages, sagemaker_client, image):
    smimages.faults.concurrent_modification(image="img")
    with pytest.raises(ClientError) as exc:
        sagemaker_client.create_image_version(ImageName=image, BaseImage=BASE)
    assert error_of(exc) == ("ResourceInUse", "Resource was modified concurrently")
    arn = sagemaker_client.create_image_version(ImageName=image, BaseImage=BASE)["ImageVersionArn"]
    assert arn.endswith("/img/1")  # the refused call created nothing


def test_a_call_that_fails_gives_its_lifecycle_fault_back(smimages, sagemaker_client, image):
    sagemaker_client.create_image_version(ImageName=image, BaseImage=BASE, Aliases=["taken"])
    fault = smimages.faults.fail("CreateImageVersion", "Broken.")
    with pytest.raises(ClientError) as exc:  # refused after the version row was written, then rolled back
        sagemaker_client.create_image_version(ImageName=image, BaseImage=BASE, Aliases=["taken"])
    assert error_of(exc)[0] == "ValidationException"
    assert (fault.count, fault.hits) == (1, 0) and smimages.faults.list() == [fault]
    sagemaker_client.create_image_version(ImageName=image, BaseImage=BASE)
    assert version_of(sagemaker_client, 2)["ImageVersionStatus"] == "CREATE_FAILED"


def test_scopes_account_region_and_version(smimages, sagemaker_client, image):
    smimages.faults.fail("CreateImageVersion", "Only in eu-west-1.", region="eu-west-1")
    smimages.faults.fail("DeleteImageVersion", "Only version 2.", version=2, count=None)
    smimages.faults.fail("CreateImage", "Only that account.", account="111111111111")
    sagemaker_client.create_image_version(ImageName=image, BaseImage=BASE)
    sagemaker_client.create_image_version(ImageName=image, BaseImage=BASE)
    sagemaker_client.delete_image_version(ImageName=image, Version=1)
    sagemaker_client.delete_image_version(ImageName=image, Version=2)
    assert [
        v["ImageVersionStatus"] for v in sagemaker_client.list_image_versions(ImageName=image)["ImageVersions"]
    ] == ["DELETE_FAILED"]
    other = smimages.client(access_key="111111111111")
    other.create_image(ImageName="img", RoleArn=ROLE)
    assert other.describe_image(ImageName="img")["ImageStatus"] == "CREATE_FAILED"
    europe = smimages.client(region="eu-west-1")
    europe.create_image(ImageName="img", RoleArn=ROLE)
    europe.create_image_version(ImageName="img", BaseImage=BASE)
    assert version_of(europe, 1)["FailureReason"] == "Only in eu-west-1."


def test_error_faults_match_tag_calls_by_the_image_in_the_arn(smimages, sagemaker_client, image):
    smimages.faults.error("AddTags", "ThrottlingException", image="img", count=1)
    raw = smimages.client(retries={"total_max_attempts": 1})
    arn = "arn:aws:sagemaker:us-east-1:000000000000:image/img"
    with pytest.raises(ClientError) as exc:
        raw.add_tags(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert error_of(exc)[0] == "ThrottlingException"
    raw.add_tags(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])


def test_faults_are_listed_removed_and_cleared(smimages):
    first = smimages.faults.throttle()
    second = smimages.faults.fail("DeleteImage", count=None)
    assert [f.id for f in smimages.faults.list()] == [first.id, second.id]
    assert second.reason == "DeleteImage failed (fault injected by smimages)."
    assert first.to_dict() == {
        "type": "error",
        "operation": "*",
        "count": 1,
        "image": "*",
        "base_image": "*",
        "version": None,
        "account": None,
        "region": None,
        "reason": None,
        "code": "ThrottlingException",
        "message": "Rate exceeded",
        "status": 400,
        "id": first.id,
        "hits": 0,
    }
    assert smimages.faults.remove(first) and not smimages.faults.remove(first.id)
    smimages.faults.clear()
    assert len(smimages.faults) == 0


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"type": "fail", "operation": "ListImages"}, "lifecycle fault needs one of"),
        ({"type": "error", "operation": "CreateModel", "code": "ThrottlingException"}, "unknown operation"),
        ({"type": "error", "operation": "*"}, "needs an error code"),
        ({"type": "error", "operation": "*", "code": "X", "status": 200}, "status must be"),
        ({"type": "fail", "operation": "CreateImage", "count": 0}, "count must be"),
        ({"type": "fail", "operation": "CreateImage", "reason": "x" * 1025}, "reason must be"),
        ({"type": "boom", "operation": "CreateImage"}, "unknown fault type"),
        ({"type": "fail", "operation": "CreateImage", "colour": "red"}, "unknown fault fields: colour"),
        ({"operation": "CreateImage"}, "needs a type"),
    ],
)
def test_faults_that_make_no_sense_are_refused(smimages, spec, message):
    with pytest.raises(FaultError, match=message):
        smimages.faults.add(spec)
    assert isinstance(smimages.faults.add({"type": "fail", "operation": "CreateImage"}), Fault)


def test_server_validation_still_runs_before_error_faults(smimages):
    smimages.faults.throttle("ListImages", count=None)
    raw = smimages.client(validate=False, retries={"total_max_attempts": 1})
    with pytest.raises(ClientError) as exc:
        raw.list_images(MaxResults=0)
    assert error_of(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        raw.list_images()
    assert error_of(exc)[0] == "ThrottlingException"


def test_config_kwargs_reach_the_client(smimages):
    client = smimages.client(retries={"total_max_attempts": 1}, read_timeout=5)
    assert isinstance(client.meta.config, Config) and client.meta.config.read_timeout == 5


def test_error_faults_on_app_image_configs_match_by_name(smimages, sagemaker_client, sleeps):
    smimages.faults.limit_exceeded("CreateAppImageConfig", count=None, image="team-*")
    sagemaker_client.create_app_image_config(AppImageConfigName="other")
    with pytest.raises(ClientError) as exc:
        sagemaker_client.create_app_image_config(AppImageConfigName="team-a")
    assert error_of(exc)[0] == "ResourceLimitExceeded"
    arn = "arn:aws:sagemaker:us-east-1:000000000000:app-image-config/other"
    smimages.faults.throttle("ListTags", count=1, image=arn)
    assert sagemaker_client.list_tags(ResourceArn=arn)["ResponseMetadata"]["RetryAttempts"] == 1
    assert [c["AppImageConfigName"] for c in sagemaker_client.list_app_image_configs()["AppImageConfigs"]] == ["other"]
