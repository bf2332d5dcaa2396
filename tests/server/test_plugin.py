"""The pytest plugin: fixtures, scopes, the marker, and the server fixture's environment for SDKs and tools."""

import json
import os
import subprocess
import sys
import textwrap

import boto3

from support import ROLE

INNER_TESTS = """
import os
import boto3
import pytest

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def test_server_1_creates(smimages_server):
    boto3.client("sagemaker").create_image(ImageName="one", RoleArn=ROLE)
    smimages_server.faults.throttle(count=None)


def test_server_2_starts_empty_again(smimages_server):
    assert boto3.client("sagemaker").list_images()["Images"] == []  # neither the image nor the fault is left


def test_3_environment_is_restored():
    assert "AWS_ENDPOINT_URL_SAGEMAKER" not in os.environ


@pytest.mark.smimages(seed="catalog.json", transition_delay=10)
def test_4_seed_relative_to_the_test_file(sagemaker_client, smimages):
    assert [i["ImageName"] for i in sagemaker_client.list_images()["Images"]] == ["seeded"]
    sagemaker_client.create_image(ImageName="new", RoleArn=ROLE)
    assert sagemaker_client.describe_image(ImageName="new")["ImageStatus"] == "CREATING"


@pytest.mark.smimages(seed="catalog.json")
def test_5_server_seeded(smimages_server):
    assert [i["ImageName"] for i in smimages_server.client().list_images()["Images"]] == ["seeded"]


def test_6_same_server_for_the_session(smimages_server, smimages_server_session):
    assert smimages_server is smimages_server_session and smimages_server.url.startswith("http://127.0.0.1:")


@pytest.mark.smimages(colour="red")
def test_7_unknown_marker_option(smimages):
    pass
"""


def test_fixtures_in_a_fresh_pytest_session(tmp_path):
    (tmp_path / "test_inner.py").write_text(INNER_TESTS)
    (tmp_path / "catalog.json").write_text(
        json.dumps({"format": "smimages-catalog", "version": 1, "images": [{"name": "seeded", "role_arn": ROLE}]})
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_inner.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "6 passed, 1 error" in result.stdout, result.stdout + result.stderr
    assert "colour cannot be used here" in result.stdout


def test_server_fixture_points_sdks_and_the_aws_cli_at_the_server(smimages_server):
    assert os.environ["AWS_ENDPOINT_URL_SAGEMAKER"] == smimages_server.url
    boto3.client("sagemaker").create_image(ImageName="from-env", RoleArn=ROLE)
    listed = subprocess.run(
        [sys.executable, "-m", "awscli", "sagemaker", "list-images", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )
    assert listed.returncode == 0, listed.stderr
    assert [i["ImageName"] for i in json.loads(listed.stdout)["Images"]] == ["from-env"]


def test_plugin_module_documents_every_fixture():
    import smimages.pytest_plugin as plugin

    for name in ("smimages", "sagemaker_client", "smimages_server", "smimages_server_session"):
        assert f"`{name}`" in plugin.__doc__
    assert textwrap.dedent(plugin.__doc__)
