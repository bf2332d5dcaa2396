"""CreateAppImageConfig, DescribeAppImageConfig, UpdateAppImageConfig, DeleteAppImageConfig, ListAppImageConfigs and
the tag calls on app-image-config ARNs, through boto3, on both databases."""

import pytest
from botocore.exceptions import ClientError

from support import error_of, strip, ts

ARN = "arn:aws:sagemaker:us-east-1:000000000000:app-image-config/"
KERNEL = {"KernelSpecs": [{"Name": "python3", "DisplayName": "Python 3"}]}
FILE_SYSTEM = {"MountPath": "/home/sagemaker-user", "DefaultUid": 1000, "DefaultGid": 100}
JUPYTER = {
    "ContainerConfig": {
        "ContainerArguments": ["--ServerApp.port=8888"],
        "ContainerEntrypoint": ["jupyter-lab"],
        "ContainerEnvironmentVariables": {"MODE": "fast"},
    }
}


def test_create_then_describe_whole_response(sm, service):
    kernel = {**KERNEL, "FileSystemConfig": {"MountPath": "/home/me", "DefaultUid": 0, "DefaultGid": 0}}
    created = sm.create_app_image_config(AppImageConfigName="cfg", KernelGatewayImageConfig=kernel)
    assert strip(created) == {"AppImageConfigArn": ARN + "cfg"}
    now = ts(service.clock())
    assert strip(sm.describe_app_image_config(AppImageConfigName="cfg")) == {
        "AppImageConfigArn": ARN + "cfg",
        "AppImageConfigName": "cfg",
        "CreationTime": now,
        "LastModifiedTime": now,
        "KernelGatewayImageConfig": kernel,
    }


def test_a_config_without_blocks_and_one_with_all_three(sm):
    sm.create_app_image_config(AppImageConfigName="bare")
    assert set(strip(sm.describe_app_image_config(AppImageConfigName="bare"))) == {
        "AppImageConfigArn",
        "AppImageConfigName",
        "CreationTime",
        "LastModifiedTime",
    }
    sm.create_app_image_config(
        AppImageConfigName="all",
        KernelGatewayImageConfig=KERNEL,
        JupyterLabAppImageConfig=JUPYTER,
        CodeEditorAppImageConfig=JUPYTER,
    )
    described = sm.describe_app_image_config(AppImageConfigName="all")
    assert (
        described["KernelGatewayImageConfig"],
        described["JupyterLabAppImageConfig"],
        described["CodeEditorAppImageConfig"],
    ) == (KERNEL, JUPYTER, JUPYTER)


def test_file_system_members_left_out_take_their_documented_defaults(sm):
    sm.create_app_image_config(
        AppImageConfigName="cfg",
        JupyterLabAppImageConfig={"FileSystemConfig": {}},
        KernelGatewayImageConfig={**KERNEL, "FileSystemConfig": {"DefaultUid": 0}},
    )
    described = sm.describe_app_image_config(AppImageConfigName="cfg")
    assert described["JupyterLabAppImageConfig"] == {"FileSystemConfig": FILE_SYSTEM}
    assert described["KernelGatewayImageConfig"]["FileSystemConfig"] == {**FILE_SYSTEM, "DefaultUid": 0}


@pytest.mark.parametrize("name", ["cfg", "CFG"])
def test_a_taken_name_is_resource_in_use_whatever_its_case(sm, name):
    sm.create_app_image_config(AppImageConfigName="cfg")
    with pytest.raises(ClientError) as exc:
        sm.create_app_image_config(AppImageConfigName=name, KernelGatewayImageConfig=KERNEL)
    assert error_of(exc) == ("ResourceInUse", "The ID or Name specified is already in use.")
    assert "KernelGatewayImageConfig" not in sm.describe_app_image_config(AppImageConfigName="cfg")


@pytest.mark.parametrize(
    "call, extra",
    [
        ("describe_app_image_config", {}),
        ("update_app_image_config", {"KernelGatewayImageConfig": KERNEL}),
        ("delete_app_image_config", {}),
    ],
)
def test_a_missing_config_is_resource_not_found(sm, call, extra):
    with pytest.raises(ClientError) as exc:
        getattr(sm, call)(AppImageConfigName="nope", **extra)
    assert error_of(exc) == ("ResourceNotFound", f"AppImageConfig with ARN {ARN}nope does not exist")


def test_update_replaces_the_blocks_it_names_and_keeps_the_others(sm, service):
    sm.create_app_image_config(
        AppImageConfigName="cfg", KernelGatewayImageConfig=KERNEL, JupyterLabAppImageConfig=JUPYTER
    )
    created = ts(service.clock())
    service.clock.advance(7)
    kernel = {"KernelSpecs": [{"Name": "r"}], "FileSystemConfig": FILE_SYSTEM}
    assert strip(sm.update_app_image_config(AppImageConfigName="cfg", KernelGatewayImageConfig=kernel)) == {
        "AppImageConfigArn": ARN + "cfg"
    }
    described = sm.describe_app_image_config(AppImageConfigName="cfg")
    assert (described["KernelGatewayImageConfig"], described["JupyterLabAppImageConfig"]) == (kernel, JUPYTER)
    assert (described["CreationTime"], described["LastModifiedTime"]) == (created, ts(service.clock()))


def test_delete_is_synchronous_and_frees_the_name(sm):
    sm.create_app_image_config(AppImageConfigName="cfg", Tags=[{"Key": "k", "Value": "v"}])
    assert strip(sm.delete_app_image_config(AppImageConfigName="cfg")) == {}
    with pytest.raises(ClientError) as exc:
        sm.describe_app_image_config(AppImageConfigName="cfg")
    assert error_of(exc)[0] == "ResourceNotFound"
    sm.create_app_image_config(AppImageConfigName="cfg")
    assert sm.list_tags(ResourceArn=ARN + "cfg")["Tags"] == []  # the old config's tags went with it


def test_container_arguments_must_follow_the_services_own_pattern(sm):
    bad = {"ContainerConfig": {"ContainerArguments": ["--ServerApp.allow_origin=*"]}}
    with pytest.raises(ClientError) as exc:
        sm.create_app_image_config(AppImageConfigName="cfg", JupyterLabAppImageConfig=bad)
    assert error_of(exc) == (
        "ValidationException",
        r"ContainerArgument [--ServerApp.allow_origin=*] must follow the pattern : [^[a-zA-Z0-9,_\/.:=@\-\\+]+$]",
    )
    sm.create_app_image_config(AppImageConfigName="cfg")
    with pytest.raises(ClientError):
        sm.update_app_image_config(AppImageConfigName="cfg", CodeEditorAppImageConfig=bad)
    assert "CodeEditorAppImageConfig" not in sm.describe_app_image_config(AppImageConfigName="cfg")


# ---- ListAppImageConfigs ----------------------------------------------------------------------------------------


@pytest.fixture
def configs(sm, service):
    """Twelve configs created a second apart (cfg-00 first); cfg-05 modified last."""
    for i in range(12):
        sm.create_app_image_config(AppImageConfigName=f"cfg-{i:02d}")
        service.clock.advance(1)
    sm.update_app_image_config(AppImageConfigName="cfg-05", KernelGatewayImageConfig=KERNEL)
    return [f"cfg-{i:02d}" for i in range(12)]


def names(response) -> list[str]:
    return [config["AppImageConfigName"] for config in response["AppImageConfigs"]]


def test_list_defaults_to_ten_newest_first_with_a_token(sm, configs):
    first = sm.list_app_image_configs()
    assert names(first) == configs[::-1][:10] and "NextToken" in first
    rest = sm.list_app_image_configs(NextToken=first["NextToken"])
    assert names(rest) == configs[1::-1] and "NextToken" not in rest
    assert first["AppImageConfigs"][0] == {
        key: value
        for key, value in sm.describe_app_image_config(AppImageConfigName="cfg-11").items()
        if key != "ResponseMetadata"
    }


@pytest.mark.parametrize(
    "sort_by, order, expected",
    [
        ("CreationTime", "Ascending", lambda c: c),
        ("Name", "Descending", lambda c: sorted(c, reverse=True)),
        ("Name", "Ascending", sorted),
        ("LastModifiedTime", "Descending", lambda c: ["cfg-05", *[n for n in c[::-1] if n != "cfg-05"]]),
    ],
)
def test_list_sorts_by_each_key_in_both_orders(sm, configs, sort_by, order, expected):
    pages = sm.get_paginator("list_app_image_configs").paginate(
        SortBy=sort_by, SortOrder=order, PaginationConfig={"PageSize": 5}
    )
    assert [name for page in pages for name in names(page)] == expected(configs)


def test_list_filters(sm, configs, service):
    start = service.clock() - 12  # cfg-00's creation time
    assert names(sm.list_app_image_configs(NameContains="G-0", SortOrder="Ascending")) == configs[:10]
    assert names(sm.list_app_image_configs(CreationTimeAfter=start + 10)) == ["cfg-11", "cfg-10"]
    assert names(sm.list_app_image_configs(CreationTimeBefore=start + 1, SortOrder="Ascending")) == configs[:2]
    assert names(sm.list_app_image_configs(ModifiedTimeAfter=start + 11)) == ["cfg-11", "cfg-05"]
    assert names(sm.list_app_image_configs(ModifiedTimeBefore=start, MaxResults=5)) == ["cfg-00"]


def test_a_token_belongs_to_its_query(sm, configs):
    token = sm.list_app_image_configs(MaxResults=2)["NextToken"]
    with pytest.raises(ClientError) as exc:
        sm.list_app_image_configs(MaxResults=2, NextToken=token, SortBy="Name")
    assert error_of(exc) == ("ValidationException", "The NextToken provided is invalid.")


# ---- tags -------------------------------------------------------------------------------------------------------


def test_tags_given_at_creation_and_the_tag_calls(sm):
    sm.create_app_image_config(AppImageConfigName="cfg", Tags=[{"Key": "team", "Value": "ml"}])
    arn = ARN + "cfg"
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "ops"}, {"Key": "env", "Value": "dev"}])
    sm.delete_tags(ResourceArn=arn, TagKeys=["env"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ops"}]


@pytest.mark.parametrize(
    "arn",
    [
        ARN + "nope",
        "arn:aws:sagemaker:us-east-1:111111111111:app-image-config/cfg",
        "arn:aws:sagemaker:eu-west-1:000000000000:app-image-config/cfg",
    ],
)
def test_tags_of_a_config_that_is_not_the_callers_do_not_exist(sm, arn):
    sm.create_app_image_config(AppImageConfigName="cfg")
    with pytest.raises(ClientError) as exc:
        sm.list_tags(ResourceArn=arn)
    assert error_of(exc) == ("ValidationException", "Resource does not exist")


# ---- isolation ----------------------------------------------------------------------------------------------------


def test_each_account_and_region_has_its_own_configs(service):
    mine, theirs, elsewhere = (
        service.client(access_key="123456789012"),
        service.client(access_key="210987654321"),
        service.client(access_key="123456789012", region="eu-west-1"),
    )
    mine.create_app_image_config(AppImageConfigName="cfg", KernelGatewayImageConfig=KERNEL)
    for other in (theirs, elsewhere):
        assert other.list_app_image_configs()["AppImageConfigs"] == []
        with pytest.raises(ClientError):
            other.describe_app_image_config(AppImageConfigName="cfg")
        other.create_app_image_config(AppImageConfigName="cfg")  # the same name, a catalog of its own
    assert "KernelGatewayImageConfig" in mine.describe_app_image_config(AppImageConfigName="cfg")
    assert theirs.describe_app_image_config(AppImageConfigName="cfg")["AppImageConfigArn"] == (
        "arn:aws:sagemaker:us-east-1:210987654321:app-image-config/cfg"
    )
