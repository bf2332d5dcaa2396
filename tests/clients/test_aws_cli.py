"""The AWS CLI (v1) against a real server: the app image config commands, JSON and shorthand arguments, paging."""

import json

from support.clients import client_env, run

ARN = "arn:aws:sagemaker:us-east-1:123456789012:app-image-config/"
KERNEL = {
    "KernelSpecs": [{"Name": "python3", "DisplayName": "Python 3"}],
    "FileSystemConfig": {"MountPath": "/home/sagemaker-user", "DefaultUid": 1000, "DefaultGid": 100},
}


def test_app_image_config_commands(server_factory):
    server = server_factory("--db", "sqlite://").start()
    env = client_env(AWS_ENDPOINT_URL_SAGEMAKER=server.url)

    def aws(*args, check=True):
        result = run(["aws", "sagemaker", "--output", "json", *args], env, timeout=120, check=check)
        return json.loads(result.stdout) if check and result.stdout.strip() else result

    created = aws(
        "create-app-image-config",
        "--app-image-config-name", "cli-kernel",
        "--kernel-gateway-image-config", json.dumps(KERNEL),
        "--tags", "Key=team,Value=ml",
    )  # fmt: skip
    assert created == {"AppImageConfigArn": ARN + "cli-kernel"}
    shorthand = "ContainerConfig={ContainerArguments=[--port,8888],ContainerEnvironmentVariables={MODE=lab}}"
    aws("create-app-image-config", "--app-image-config-name", "cli-lab", "--jupyter-lab-app-image-config", shorthand)

    described = aws("describe-app-image-config", "--app-image-config-name", "cli-kernel")
    assert described.pop("CreationTime") == described.pop("LastModifiedTime")
    assert described == {
        "AppImageConfigArn": ARN + "cli-kernel",
        "AppImageConfigName": "cli-kernel",
        "KernelGatewayImageConfig": KERNEL,
    }
    lab = aws("describe-app-image-config", "--app-image-config-name", "cli-lab")["JupyterLabAppImageConfig"]
    container = {"ContainerArguments": ["--port", "8888"], "ContainerEnvironmentVariables": {"MODE": "lab"}}
    assert lab == {"ContainerConfig": container}
    assert aws("list-tags", "--resource-arn", ARN + "cli-kernel")["Tags"] == [{"Key": "team", "Value": "ml"}]

    # the CLI pages through the list itself (--page-size 1: one call per config)
    def names(*args):
        return [c["AppImageConfigName"] for c in aws("list-app-image-configs", *args)["AppImageConfigs"]]

    assert names("--sort-by", "Name", "--sort-order", "Ascending", "--page-size", "1") == ["cli-kernel", "cli-lab"]
    assert names("--name-contains", "lab") == ["cli-lab"]

    # an update replaces the block it names, whole
    updated = aws(
        "update-app-image-config",
        "--app-image-config-name", "cli-kernel",
        "--kernel-gateway-image-config", '{"KernelSpecs": [{"Name": "python3", "DisplayName": "Python 3 (new)"}]}',
    )  # fmt: skip
    assert updated == {"AppImageConfigArn": ARN + "cli-kernel"}
    kernel = aws("describe-app-image-config", "--app-image-config-name", "cli-kernel")["KernelGatewayImageConfig"]
    assert kernel == {"KernelSpecs": [{"Name": "python3", "DisplayName": "Python 3 (new)"}]}

    assert aws("delete-app-image-config", "--app-image-config-name", "cli-kernel").stdout == ""
    again = aws("delete-app-image-config", "--app-image-config-name", "cli-kernel", check=False)
    assert again.returncode == 255
    assert again.stderr.strip() == (
        "An error occurred (ResourceNotFound) when calling the DeleteAppImageConfig operation: "
        f"AppImageConfig with ARN {ARN}cli-kernel does not exist"
    )
