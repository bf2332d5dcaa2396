"""Terraform's aws_sagemaker_app_image_config (hashicorp/aws from the local mirror) against a real server: apply,
a plan with no changes, an update in place, tag changes, destroy."""

import pytest
from botocore.exceptions import ClientError

from support import error_of, strip
from support.clients import Terraform, client_env

CONFIG = """
variable "endpoint" {}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "123456789012"
  secret_key                  = "anything"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  endpoints {
    sagemaker = var.endpoint
  }
}

resource "aws_sagemaker_app_image_config" "kernel" {
  app_image_config_name = "tf-kernel"
  kernel_gateway_image_config {
    kernel_spec {
      name         = "python3"
      display_name = "%(display_name)s"
    }
    file_system_config {
      mount_path  = "/home/sagemaker-user"
      default_uid = 1000
      default_gid = 100
    }
  }
  tags = %(tags)s
}
"""
ARN = "arn:aws:sagemaker:us-east-1:123456789012:app-image-config/tf-kernel"
FILE_SYSTEM = {"MountPath": "/home/sagemaker-user", "DefaultUid": 1000, "DefaultGid": 100}


def described(sm) -> dict:
    config = strip(sm.describe_app_image_config(AppImageConfigName="tf-kernel"))
    assert config.pop("CreationTime") <= config.pop("LastModifiedTime")
    return config


def tags(sm) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in sm.list_tags(ResourceArn=ARN)["Tags"]}


def test_app_image_config_apply_plan_update_destroy(terraform_ready, server_factory, tmp_path):
    server = server_factory("--db", "sqlite://").start()
    sm = server.client("123456789012")
    tf = Terraform(tmp_path / "work", client_env(TF_VAR_endpoint=server.url))
    main = tf.workdir / "main.tf"
    main.write_text(CONFIG % {"display_name": "Python 3", "tags": '{ team = "ml", env = "dev" }'})
    tf("init")
    tf("apply", "-auto-approve")
    assert described(sm) == {
        "AppImageConfigArn": ARN,
        "AppImageConfigName": "tf-kernel",
        "KernelGatewayImageConfig": {
            "KernelSpecs": [{"Name": "python3", "DisplayName": "Python 3"}],
            "FileSystemConfig": FILE_SYSTEM,
        },
    }
    assert tags(sm) == {"team": "ml", "env": "dev"}
    assert "No changes." in tf("plan", "-detailed-exitcode").stdout

    main.write_text(CONFIG % {"display_name": "Python 3 (new)", "tags": '{ team = "ml2", owner = "me" }'})
    assert "1 changed" in tf("apply", "-auto-approve").stdout  # UpdateAppImageConfig, DeleteTags, AddTags
    assert described(sm)["KernelGatewayImageConfig"]["KernelSpecs"] == [
        {"Name": "python3", "DisplayName": "Python 3 (new)"}
    ]
    assert tags(sm) == {"team": "ml2", "owner": "me"}
    assert "No changes." in tf("plan", "-detailed-exitcode").stdout

    assert "Destroy complete! Resources: 1 destroyed." in tf("destroy", "-auto-approve").stdout
    with pytest.raises(ClientError) as exc:
        sm.describe_app_image_config(AppImageConfigName="tf-kernel")
    assert error_of(exc) == ("ResourceNotFound", f"AppImageConfig with ARN {ARN} does not exist")
