"""sagemaker-core's AppImageConfig resource (2.x, sagemaker.core.resources) against a real server, pointed at it by
AWS_ENDPOINT_URL_SAGEMAKER alone: create, get, update, get_all, delete, not found."""

import boto3
import pytest
from botocore.exceptions import ClientError
from sagemaker.core import shapes
from sagemaker.core.resources import AppImageConfig

ARN = "arn:aws:sagemaker:us-east-1:123456789012:app-image-config/"


def test_app_image_config_resource(server_factory, monkeypatch):
    server = server_factory("--db", "sqlite://").start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", server.url)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    session = boto3.session.Session("123456789012", "anything", region_name="us-east-1")
    kernel = shapes.KernelGatewayImageConfig(
        kernel_specs=[shapes.KernelSpec(name="python3", display_name="Python 3")],
        file_system_config=shapes.FileSystemConfig(
            mount_path="/home/sagemaker-user", default_uid=1000, default_gid=100
        ),
    )
    config = AppImageConfig.create(
        app_image_config_name="core-kernel",
        kernel_gateway_image_config=kernel,
        tags=[shapes.Tag(key="team", value="ml")],
        session=session,
        region="us-east-1",
    )
    assert config.app_image_config_arn == ARN + "core-kernel"
    assert config.kernel_gateway_image_config == kernel
    assert config.creation_time == config.last_modified_time

    lab = shapes.JupyterLabAppImageConfig(container_config=shapes.ContainerConfig(container_arguments=["--debug"]))
    AppImageConfig.create(
        app_image_config_name="core-lab", jupyter_lab_app_image_config=lab, session=session, region="us-east-1"
    )
    # update sends only what it is given: the kernel gateway block stays, the JupyterLab one is added
    config.update(jupyter_lab_app_image_config=lab)
    fetched = AppImageConfig.get(app_image_config_name="core-kernel", session=session, region="us-east-1")
    assert (fetched.kernel_gateway_image_config, fetched.jupyter_lab_app_image_config) == (kernel, lab)

    listed = AppImageConfig.get_all(sort_by="Name", sort_order="Ascending", session=session, region="us-east-1")
    assert [c.app_image_config_name for c in listed] == ["core-kernel", "core-lab"]
    found = AppImageConfig.get_all(name_contains="lab", session=session, region="us-east-1")
    assert [c.app_image_config_name for c in found] == ["core-lab"]

    config.delete()
    with pytest.raises(ClientError) as exc:
        AppImageConfig.get(app_image_config_name="core-kernel", session=session, region="us-east-1")
    assert exc.value.response["Error"] == {
        "Code": "ResourceNotFound",
        "Message": f"AppImageConfig with ARN {ARN}core-kernel does not exist",
    }
