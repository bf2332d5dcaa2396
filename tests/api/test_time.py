"""Time control: advance() moves the service clock, settle() completes every pending transition."""

import time
from datetime import UTC

import botocore.exceptions
import pytest
from botocore.exceptions import ClientError

from smimages.admin import ControlError
from smimages.clock import ManualClock, ShiftedClock
from support import BASE, ROLE, error_of


@pytest.mark.smimages(transition_delay=30)
def test_advance_shows_creating_then_created_without_sleeping(smimages, sagemaker_client):
    sagemaker_client.create_image(ImageName="img", RoleArn=ROLE)
    assert sagemaker_client.describe_image(ImageName="img")["ImageStatus"] == "CREATING"
    smimages.advance(29.999)
    assert sagemaker_client.describe_image(ImageName="img")["ImageStatus"] == "CREATING"
    smimages.advance(0.001)
    assert sagemaker_client.describe_image(ImageName="img")["ImageStatus"] == "CREATED"
    sagemaker_client.create_image_version(ImageName="img", BaseImage=BASE)
    assert sagemaker_client.describe_image_version(ImageName="img")["ImageVersionStatus"] == "CREATING"
    smimages.advance(30)
    assert sagemaker_client.describe_image_version(ImageName="img")["ImageVersionStatus"] == "CREATED"


@pytest.mark.smimages(transition_delay=120)
def test_settle_completes_every_pending_transition(smimages, sagemaker_client):
    start = smimages.now()
    for name in ("a", "b", "c"):
        sagemaker_client.create_image(ImageName=name, RoleArn=ROLE)
        smimages.advance(10)
    smimages.settle()
    assert smimages.now() == start + 20 + 120  # the last one fell due then, and the clock stopped there
    images = {i["ImageName"]: i for i in sagemaker_client.list_images()["Images"]}
    assert {name: i["ImageStatus"] for name, i in images.items()} == {"a": "CREATED", "b": "CREATED", "c": "CREATED"}
    assert images["a"]["LastModifiedTime"].timestamp() == start + 120
    assert all(row["pending_status"] is None for row in smimages.dump()["images"])  # written down, not just shown
    sagemaker_client.create_image_version(ImageName="a", BaseImage=BASE)
    sagemaker_client.delete_image(ImageName="b")
    smimages.settle()
    assert sagemaker_client.describe_image_version(ImageName="a")["ImageVersionStatus"] == "CREATED"
    with pytest.raises(ClientError) as exc:
        sagemaker_client.describe_image(ImageName="b")
    assert error_of(exc)[0] == "ResourceNotFound"
    now = smimages.now()
    assert smimages.settle() == now  # nothing pending: the clock stays


def test_the_mock_clock_stands_still_at_the_current_time(smimages, sagemaker_client):
    sagemaker_client.create_image(ImageName="img", RoleArn=ROLE)
    created = sagemaker_client.describe_image(ImageName="img")["CreationTime"]
    assert created.tzinfo is not None and abs(created.astimezone(UTC).timestamp() - time.time()) < 60
    time.sleep(0.01)
    assert smimages.now() == created.timestamp()


@pytest.mark.smimages(clock=ManualClock(1_800_000_000), transition_delay=5)
def test_an_injected_clock(smimages, sagemaker_client):
    sagemaker_client.create_image(ImageName="img", RoleArn=ROLE)
    assert sagemaker_client.describe_image(ImageName="img")["CreationTime"].timestamp() == 1_800_000_000
    assert smimages.settle() == 1_800_000_005


@pytest.mark.smimages(transition_delay=300)
def test_a_waiter_moves_the_mock_clock_instead_of_sleeping(smimages, sagemaker_client):
    """image_created polls every 60 s: five polls later (300 s of the mock's time, no real time) it is CREATED."""
    sagemaker_client.create_image(ImageName="img", RoleArn=ROLE)
    start, started = time.monotonic(), smimages.now()
    sagemaker_client.get_waiter("image_created").wait(ImageName="img")
    assert time.monotonic() - start < 1
    assert smimages.now() - started == 300
    assert sagemaker_client.describe_image(ImageName="img")["ImageStatus"] == "CREATED"


@pytest.mark.smimages(transition_delay=300)
def test_a_waiter_keeps_its_config_and_time_sleep_is_untouched(smimages):
    """Delay and MaxAttempts of WaiterConfig hold (a waiter giving up too early still does, at once); the code under
    test sleeping on its own sleeps in real time and leaves the mock's clock alone."""
    client = smimages.client()  # bound explicitly, not through the class hook
    client.create_image(ImageName="img", RoleArn=ROLE)
    started = smimages.now()
    with pytest.raises(botocore.exceptions.WaiterError, match="Max attempts exceeded"):
        client.get_waiter("image_created").wait(ImageName="img", WaiterConfig={"Delay": 20, "MaxAttempts": 5})
    assert smimages.now() - started == 80  # four waits between five polls
    start = time.monotonic()
    time.sleep(0.2)
    assert time.monotonic() - start >= 0.2 and smimages.now() - started == 80
    client.get_waiter("image_created").wait(ImageName="img", WaiterConfig={"Delay": 200})  # polls at 80, 280, 480
    assert smimages.now() - started == 480 and client.describe_image(ImageName="img")["ImageStatus"] == "CREATED"


def test_the_clock_only_moves_forward(smimages):
    with pytest.raises(ControlError):
        smimages.advance(-1)
    with pytest.raises(ControlError):
        smimages.advance(float("nan"))
    with pytest.raises(ValueError):
        ManualClock().advance(-1)


def test_shifted_clock_runs_and_can_be_moved_ahead():
    clock = ShiftedClock()
    before = clock()
    clock.advance(3600)
    assert clock() - before >= 3600 and abs(clock() - 3600 - time.time()) < 5
    with pytest.raises(ValueError):
        clock.advance(-1)
