"""Lists whose items operations build in their wire form (protocol.wire.Shaped) serialize exactly as the plain
shaping of the same items does, whatever state the items are in, and show the times Describe shows."""

import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_
from hypothesis import strategies as st
from sqlalchemy import Float, literal, select

from smimages.clock import LATEST
from smimages.context import RequestContext
from smimages.operations import dispatch
from smimages.operations.service import Settings
from smimages.protocol.wire import Shaped, milliseconds, serialize
from smimages.spec import operation_model
from smimages.store.sql import to_millisecond
from support import ACCOUNT, BASE, REGION, ROLE


@pytest.fixture
def settings():
    return Settings(transition_delay=10)


def test_listed_versions_are_in_their_wire_form(service, sm):
    sm.create_image(ImageName="img", RoleArn=ROLE)
    service.clock.advance(10)
    service.faults.fail("CreateImageVersion", "Failed to pull the container image.", count=2)
    for _ in range(5):
        sm.create_image_version(ImageName="img", BaseImage=BASE)
    service.clock.advance(10.1234567)  # created (or failed) at times that are not whole milliseconds
    sm.delete_image_version(ImageName="img", Version=5)  # DELETING, due later
    ctx = RequestContext(ACCOUNT, REGION, service.service.now())
    shape = operation_model("ListImageVersions").output_shape
    for request in ({"ImageName": "img"}, {"ImageName": "img", "SortBy": "VERSION", "SortOrder": "ASCENDING"}):
        result = dispatch(service.service, ctx, "ListImageVersions", request)
        assert type(result["ImageVersions"]) is Shaped and len(result["ImageVersions"]) == 5
        plain = {**result, "ImageVersions": [dict(item) for item in result["ImageVersions"]]}
        assert serialize(shape, result) == serialize(shape, plain)
        reasons = [item.get("FailureReason") for item in result["ImageVersions"]]
        assert reasons.count("Failed to pull the container image.") == 2


def test_listed_images_are_in_their_wire_form(service, sm):
    sm.create_image(ImageName="plain", RoleArn=ROLE)
    sm.create_image(ImageName="full", RoleArn=ROLE, Description="d", DisplayName="Full")
    service.faults.fail("UpdateImage", "Not allowed.")
    service.clock.advance(10.1234567)
    sm.update_image(ImageName="plain", Description="changed")  # UPDATING, then UPDATE_FAILED with a reason
    service.clock.advance(10)
    ctx = RequestContext(ACCOUNT, REGION, service.service.now())
    shape = operation_model("ListImages").output_shape
    result = dispatch(service.service, ctx, "ListImages", {"SortBy": "IMAGE_NAME", "SortOrder": "ASCENDING"})
    assert type(result["Images"]) is Shaped and [i["ImageName"] for i in result["Images"]] == ["full", "plain"]
    plain = {**result, "Images": [dict(item) for item in result["Images"]]}
    assert serialize(shape, result) == serialize(shape, plain)
    assert result["Images"][1]["FailureReason"] == "Not allowed." and "DisplayName" not in result["Images"][1]


def test_listed_app_image_configs_are_in_their_wire_form(service, sm):
    # text beyond ASCII, and characters some encoders escape: the stored text must be what the wire carries
    kernel = {
        "KernelSpecs": [{"Name": "python3", "DisplayName": "Python 3 é\u2028\x7f"}],
        "FileSystemConfig": {"DefaultUid": 0},
    }
    jupyter = {"ContainerConfig": {"ContainerEnvironmentVariables": {"B": "2", "A": "1"}, "ContainerArguments": ["x"]}}
    sm.create_app_image_config(
        AppImageConfigName="both", KernelGatewayImageConfig=kernel, JupyterLabAppImageConfig=jupyter
    )
    service.clock.advance(0.1234567)
    sm.create_app_image_config(AppImageConfigName="bare")
    service.load(
        {
            **service.dump(),
            "app_image_configs": [
                *service.dump()["app_image_configs"],
                {"name": "seeded", "code_editor": {"FileSystemConfig": {"DefaultGid": 5, "MountPath": "/x"}}},
            ],
        }
    )
    ctx = RequestContext(ACCOUNT, REGION, service.service.now())
    shape = operation_model("ListAppImageConfigs").output_shape
    result = dispatch(service.service, ctx, "ListAppImageConfigs", {"SortBy": "Name", "SortOrder": "Ascending"})
    assert type(result["AppImageConfigs"]) is Shaped
    assert [c["AppImageConfigName"] for c in result["AppImageConfigs"]] == ["bare", "both", "seeded"]
    blocks = [value for item in result["AppImageConfigs"] for value in item.values() if type(value) is orjson.Fragment]
    assert len(blocks) == 3  # the stored text, carried as it is
    decoded = [
        {
            member: orjson.loads(orjson.dumps(value)) if type(value) is orjson.Fragment else value
            for member, value in item.items()
        }
        for item in result["AppImageConfigs"]
    ]
    assert serialize(shape, result) == serialize(shape, {**result, "AppImageConfigs": decoded})


@pytest.mark.parametrize(
    "settings",
    [Settings(transition_delay=10.1), Settings(transition_delay=0.0005)],  # due times inexact; on half milliseconds
    ids=["inexact", "half"],
)
def test_a_list_page_shows_the_times_describe_shows(service, sm, settings):
    """List pages take their times rounded by the database, Describe rounds them in Python: the same times, for
    versions, images and configs, a transition due (its time the creation's plus the delay) or not, and for times an
    import brings as they are."""
    delay = settings.transition_delay
    sm.create_image(ImageName="img", RoleArn=ROLE)
    service.clock.advance(delay + 0.1234567)
    sm.create_image_version(ImageName="img", BaseImage=BASE)
    sm.create_app_image_config(AppImageConfigName="config")
    service.clock.advance(delay + 0.0004999)  # the version's creation is due: shown at its due time
    sm.create_image_version(ImageName="img", BaseImage=BASE)  # still pending
    sm.update_app_image_config(AppImageConfigName="config")
    document = service.dump()
    document["images"].append({"name": "imported", "role_arn": ROLE, "created_at": 1_700_000_000.0005})
    document["app_image_configs"].append({"name": "imported", "created_at": 1_600_000_000.1234567})
    service.load(document)

    def wire(operation: str, **request) -> dict:  # what the wire carries: the times as JSON numbers, not datetimes
        ctx = RequestContext(ACCOUNT, REGION, service.service.now())
        result = dispatch(service.service, ctx, operation, request)
        return orjson.loads(serialize(operation_model(operation).output_shape, result))

    def times(item: dict) -> tuple:
        return item["CreationTime"], item["LastModifiedTime"]

    versions = wire("ListImageVersions", ImageName="img")["ImageVersions"]
    assert len(versions) == 2
    for item in versions:
        assert times(item) == times(wire("DescribeImageVersion", ImageName="img", Version=item["Version"]))
    images = wire("ListImages")["Images"]
    assert len(images) == 2
    for item in images:
        assert times(item) == times(wire("DescribeImage", ImageName=item["ImageName"]))
    configs = wire("ListAppImageConfigs")["AppImageConfigs"]
    assert len(configs) == 2
    for item in configs:
        assert times(item) == times(wire("DescribeAppImageConfig", AppImageConfigName=item["AppImageConfigName"]))


@settings_(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.floats(min_value=0, max_value=LATEST)
    | st.integers(min_value=0, max_value=int(LATEST * 1000)).map(lambda ms: (ms + 0.5) / 1000)  # half milliseconds
)
def test_the_database_rounds_a_time_as_the_wire_does(service, seconds):
    with service.service.store.engine.connect() as conn:
        rounded = conn.execute(select(to_millisecond(literal(seconds, Float)))).scalar_one()
    assert rounded == milliseconds(seconds)
