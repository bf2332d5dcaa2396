"""Fixtures of the client tier: the AWS CLI, Terraform and sagemaker-core, unmodified, against real server
processes (helpers in tests/support/clients.py)."""

import os
import shutil

import pytest

from support.clients import PROVIDER_MIRROR

# CI (.ci/run) sets this: Terraform or its provider mirror missing is a failure there, a skip elsewhere
REQUIRE_TERRAFORM = os.environ.get("SMIMAGES_REQUIRE_TERRAFORM") == "1"


@pytest.fixture
def terraform_ready():
    """Terraform and its provider mirror, or a skip (a failure in CI) saying what is missing."""
    missing = []
    if shutil.which("terraform") is None:
        missing.append("terraform is not on the PATH")
    if not (PROVIDER_MIRROR / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        missing.append(f"no hashicorp/aws provider in the mirror {PROVIDER_MIRROR} (SMIMAGES_TF_MIRROR)")
    if missing:
        message = "; ".join(missing)
        if REQUIRE_TERRAFORM:
            pytest.fail(f"{message} (SMIMAGES_REQUIRE_TERRAFORM=1)", pytrace=False)
        pytest.skip(message)
