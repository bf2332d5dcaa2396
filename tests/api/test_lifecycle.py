"""Asynchronous statuses under a moved clock, transitions that refuse busy resources, and the botocore waiters."""

import pytest
from botocore.exceptions import ClientError

from smimages.operations.service import Settings
from support import BASE, ROLE, error_of

DELAY = 30


@pytest.fixture
def settings():
    return Settings(transition_delay=DELAY)


def status(sm, name="img"):
    return sm.describe_image(ImageName=name)["ImageStatus"]


def version_status(sm, version=1):
    return sm.describe_image_version(ImageName="img", Version=version)["ImageVersionStatus"]


def test_image_creating_until_the_clock_allows(sm, service):
    sm.create_image(ImageName="img", RoleArn=ROLE)
    created = sm.describe_image(ImageName="img")
    assert created["ImageStatus"] == "CREATING"
    service.clock.advance(DELAY - 0.001)
    assert status(sm) == "CREATING"
    service.clock.advance(0.001)
    done = sm.describe_image(ImageName="img")
    assert done["ImageStatus"] == "CREATED"
    assert (done["LastModifiedTime"] - created["CreationTime"]).total_seconds() == DELAY


def test_busy_image_refuses_update_delete_and_new_versions(sm, service):
    sm.create_image(ImageName="img", RoleArn=ROLE)
    arn = "arn:aws:sagemaker:us-east-1:000000000000:image/img"
    with pytest.raises(ClientError) as exc:
        sm.update_image(ImageName="img", Description="x")
    assert error_of(exc) == ("ResourceInUse", f"Image ({arn}) is being created")
    with pytest.raises(ClientError) as exc:
        sm.create_image_version(ImageName="img", BaseImage=BASE)
    assert error_of(exc) == ("ValidationException", "Image img is in an invalid state.")
    service.clock.advance(DELAY)
    sm.update_image(ImageName="img", Description="x")
    assert status(sm) == "UPDATING"
    with pytest.raises(ClientError) as exc:
        sm.delete_image(ImageName="img")
    assert error_of(exc) == ("ResourceInUse", f"Image ({arn}) is being updated")
    service.clock.advance(DELAY)
    assert status(sm) == "CREATED"
    sm.delete_image(ImageName="img")
    assert status(sm) == "DELETING"
    assert [i["ImageStatus"] for i in sm.list_images()["Images"]] == ["DELETING"]
    with pytest.raises(ClientError) as exc:
        sm.delete_image(ImageName="img")
    assert error_of(exc) == ("ResourceInUse", f"Image ({arn}) is being deleted")
    service.clock.advance(DELAY)
    with pytest.raises(ClientError) as exc:
        sm.describe_image(ImageName="img")
    assert error_of(exc)[0] == "ResourceNotFound"


def test_version_lifecycle(sm, service):
    sm.create_image(ImageName="img", RoleArn=ROLE)
    service.clock.advance(DELAY)
    sm.create_image_version(ImageName="img", BaseImage=BASE)
    creating = sm.describe_image_version(ImageName="img")
    assert creating["ImageVersionStatus"] == "CREATING" and "ContainerImage" not in creating
    version_arn = "arn:aws:sagemaker:us-east-1:000000000000:image-version/img/1"
    with pytest.raises(ClientError) as exc:
        sm.update_image_version(ImageName="img", Version=1, ReleaseNotes="x")
    assert error_of(exc) == ("ResourceInUse", f"ImageVersion ({version_arn}) is being created")
    sm.create_image_version(ImageName="img", BaseImage=BASE)  # allowed while another version is CREATING
    service.clock.advance(DELAY)
    assert version_status(sm) == "CREATED"
    assert sm.describe_image_version(ImageName="img", Version=1)["ContainerImage"] == BASE
    sm.delete_image_version(ImageName="img", Version=1)
    assert version_status(sm) == "DELETING"
    with pytest.raises(ClientError) as exc:
        sm.delete_image_version(ImageName="img", Version=1)
    assert error_of(exc) == ("ResourceInUse", f"ImageVersion ({version_arn}) is being deleted")
    service.clock.advance(DELAY)
    assert [v["Version"] for v in sm.list_image_versions(ImageName="img")["ImageVersions"]] == [2]


def test_worker_pass_writes_down_what_reads_already_show(service, sm):
    sm.create_image(ImageName="img", RoleArn=ROLE)
    service.clock.advance(DELAY)
    sm.create_image_version(ImageName="img", BaseImage=BASE)
    sm.delete_image(ImageName="img")
    assert service.worker.run_once() == service.clock() + DELAY
    service.clock.advance(DELAY)
    assert service.worker.run_once() is None
    with service.service.store.transaction() as tx:
        assert tx.conn.exec_driver_sql("SELECT count(*) FROM images").scalar() == 0
        assert tx.conn.exec_driver_sql("SELECT count(*) FROM image_versions").scalar() == 0


class TestWaitersWithZeroDelay:
    """With the default delay of 0 the next read sees the final status, so waiters return at the first poll."""

    @pytest.fixture
    def settings(self):
        return Settings()

    def test_image_waiters(self, sm):
        sm.create_image(ImageName="img", RoleArn=ROLE)
        sm.get_waiter("image_created").wait(ImageName="img", WaiterConfig={"Delay": 0, "MaxAttempts": 1})
        sm.update_image(ImageName="img", Description="x")
        sm.get_waiter("image_updated").wait(ImageName="img", WaiterConfig={"Delay": 0, "MaxAttempts": 1})
        sm.create_image_version(ImageName="img", BaseImage=BASE)
        sm.get_waiter("image_version_created").wait(
            ImageName="img", Version=1, WaiterConfig={"Delay": 0, "MaxAttempts": 1}
        )

    @pytest.mark.parametrize("waiter", ["image_deleted", "image_version_deleted"])
    def test_deleted_waiters_behave_as_against_aws(self, sm, waiter):
        """AWS answers ResourceNotFound once gone: botocore >= 1.44 waits for that code and succeeds; older
        botocore waits for ResourceNotFoundException and fails, exactly as it does against AWS (botocore#3782)."""
        from botocore.exceptions import WaiterError

        sm.create_image(ImageName="img", RoleArn=ROLE)
        sm.create_image_version(ImageName="img", BaseImage=BASE)
        sm.delete_image_version(ImageName="img", Version=1)
        sm.delete_image(ImageName="img")
        wait = sm.get_waiter(waiter)
        kwargs = {"ImageName": "img", "WaiterConfig": {"Delay": 0, "MaxAttempts": 1}}
        if waiter == "image_version_deleted":
            kwargs["Version"] = 1
        expected = next(a.expected for a in wait.config.acceptors if a.state == "success")
        if expected == "ResourceNotFound":
            wait.wait(**kwargs)
        else:
            with pytest.raises(WaiterError, match="ResourceNotFound"):
                wait.wait(**kwargs)


def test_waiter_polls_until_created(sm, service, monkeypatch):
    """A waiter keeps polling while CREATING; each poll here moves the clock instead of sleeping."""
    import botocore.waiter

    monkeypatch.setattr(botocore.waiter.time, "sleep", lambda seconds: service.clock.advance(seconds))
    sm.create_image(ImageName="img", RoleArn=ROLE)
    sm.get_waiter("image_created").wait(ImageName="img", WaiterConfig={"Delay": 10, "MaxAttempts": 5})
    assert status(sm) == "CREATED"


def test_quotas_answer_resource_limit_exceeded(service):
    from smimages.testing import InProcess

    limited = InProcess(settings=Settings(max_images=1, max_versions_per_image=1))
    sm = limited.client()
    sm.create_image(ImageName="img", RoleArn=ROLE)
    with pytest.raises(ClientError) as exc:
        sm.create_image(ImageName="img2", RoleArn=ROLE)
    assert error_of(exc)[0] == "ResourceLimitExceeded"
    assert "'Maximum number of images per account' is 1" in error_of(exc)[1]
    sm.create_image_version(ImageName="img", BaseImage=BASE)
    with pytest.raises(ClientError) as exc:
        sm.create_image_version(ImageName="img", BaseImage=BASE)
    assert error_of(exc)[0] == "ResourceLimitExceeded"
    limited.close()
