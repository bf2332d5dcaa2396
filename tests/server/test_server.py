"""The real server over a loopback socket: boto3, the AWS CLI, restarts, signals, logging and configuration."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from support import BASE, ROLE, error_of


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'state.db'}"


def test_full_lifecycle_over_a_socket(server_factory, db):
    server = server_factory("--db", db).start()
    sm = server.client()
    sm.create_image(ImageName="img", RoleArn=ROLE, Tags=[{"Key": "k", "Value": "v"}])
    sm.get_waiter("image_created").wait(ImageName="img", WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    sm.create_image_version(ImageName="img", BaseImage=BASE, Aliases=["latest"])
    sm.get_waiter("image_version_created").wait(ImageName="img", Version=1)
    sm.update_image_version(ImageName="img", Alias="latest", AliasesToAdd=["stable"])
    assert sm.list_aliases(ImageName="img", Version=1)["SageMakerImageVersionAliases"] == ["latest", "stable"]
    assert sm.list_tags(ResourceArn=sm.describe_image(ImageName="img")["ImageArn"])["Tags"] == [
        {"Key": "k", "Value": "v"}
    ]
    sm.delete_image_version(ImageName="img", Alias="stable")
    sm.delete_image(ImageName="img")
    with pytest.raises(ClientError) as exc:
        sm.describe_image(ImageName="img")
    assert error_of(exc)[0] == "ResourceNotFound"
    assert exc.value.response["ResponseMetadata"]["RequestId"]


def test_everything_survives_a_restart_including_pending_transitions(server_factory, db):
    first = server_factory("--db", db, "--transition-delay", "1.5").start()
    sm = first.client()
    sm.create_image(ImageName="img", RoleArn=ROLE, Description="kept")
    assert sm.describe_image(ImageName="img")["ImageStatus"] == "CREATING"
    first.stop()
    time.sleep(1.6)
    second = server_factory("--db", db).start()
    sm = second.client()
    described = sm.describe_image(ImageName="img")
    assert (described["ImageStatus"], described["Description"]) == ("CREATED", "kept")
    sm.create_image_version(ImageName="img", BaseImage=BASE, ClientToken="tok")
    second.stop()
    third = server_factory("--db", db).start()
    sm = third.client()
    arn = sm.create_image_version(ImageName="img", BaseImage=BASE, ClientToken="tok")["ImageVersionArn"]
    assert arn.endswith("/img/1")
    assert sm.describe_image_version(ImageName="img")["Version"] == 1


@pytest.mark.parametrize("sig, level", [(signal.SIGTERM, "debug"), (signal.SIGINT, "info")])
def test_clean_shutdown_and_request_log_lines(server_factory, db, sig, level):
    """A line per refused request at info, and per request at debug."""
    server = server_factory("--db", db, "--log-level", level).start()
    sm = server.client()
    sm.create_image(ImageName="img", RoleArn=ROLE)
    with pytest.raises(ClientError):
        sm.describe_image(ImageName="nope")
    out = server.stop(sig)
    # uvicorn finishes the graceful shutdown, then re-raises the signal so supervisors see why it stopped
    assert server.proc.returncode in (0, -sig), out
    assert "INFO smimages: stopped: every request answered" in out
    assert len([line for line in out.splitlines() if "CreateImage 200 " in line]) == (level == "debug")
    assert any(line.rstrip().endswith("ms") and "DescribeImage 400 " in line for line in out.splitlines())
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_environment_variables_configure_serve(server_factory, tmp_path):
    server = server_factory(env={"SMIMAGES_DB": f"sqlite:///{tmp_path / 'env.db'}", "SMIMAGES_TRANSITION_DELAY": "60"})
    server.args = server.args[:2]  # host only: the port comes from the environment
    server.env["SMIMAGES_PORT"] = str(server.port)
    server.start()
    sm = server.client()
    sm.create_image(ImageName="img", RoleArn=ROLE)
    assert sm.describe_image(ImageName="img")["ImageStatus"] == "CREATING"
    assert (tmp_path / "env.db").exists()


def test_default_database_lives_in_the_user_data_directory(server_factory, tmp_path):
    server = server_factory(env={"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}).start()
    server.client().create_image(ImageName="img", RoleArn=ROLE)
    assert (tmp_path / "data" / "smimages" / "smimages.db").exists()


def test_endpoint_url_from_the_environment(server_factory, db, monkeypatch):
    server = server_factory("--db", db).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", server.url)
    sm = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="us-west-2").client(
        "sagemaker"
    )
    assert sm.create_image(ImageName="img", RoleArn=ROLE)["ImageArn"].startswith("arn:aws:sagemaker:us-west-2:")


def test_aws_cli(server_factory, db, tmp_path):
    server = server_factory("--db", db).start()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "123456789012",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_ENDPOINT_URL_SAGEMAKER": server.url,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    aws = [str(Path(sys.executable).with_name("aws")), "sagemaker", "--output", "json"]

    def cli(*args, check=True):
        result = subprocess.run([*aws, *args], env=env, capture_output=True, text=True, timeout=60)
        if check:
            assert result.returncode == 0, result.stderr
        return result

    created = json.loads(cli("create-image", "--image-name", "cli-img", "--role-arn", ROLE).stdout)
    assert created == {"ImageArn": "arn:aws:sagemaker:eu-central-1:123456789012:image/cli-img"}
    cli("wait", "image-created", "--image-name", "cli-img")
    cli("create-image-version", "--image-name", "cli-img", "--base-image", BASE, "--aliases", "latest")
    described = json.loads(cli("describe-image-version", "--image-name", "cli-img", "--alias", "latest").stdout)
    assert described["Version"] == 1 and described["ImageVersionStatus"] == "CREATED"
    listed = json.loads(cli("list-images").stdout)
    assert [i["ImageName"] for i in listed["Images"]] == ["cli-img"]
    failed = cli("describe-image", "--image-name", "missing", check=False)
    assert failed.returncode != 0 and "(ResourceNotFound)" in failed.stderr and "does not exist" in failed.stderr
