"""Shared fixtures: an in-process service per test (real boto3, real SQL), and a real server process."""
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from smimages.operations.service import Settings
from smimages.testing import InProcess

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
BASE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-repo:latest"


@pytest.fixture
def db_url():
    """The database each in-process test runs against."""
    return "sqlite://"


@pytest.fixture
def settings():
    return Settings()


@pytest.fixture
def service(db_url, settings):
    svc = InProcess(db_url, settings)
    yield svc
    svc.close()


@pytest.fixture
def sm(service):
    """A boto3 SageMaker client answered in-process."""
    return service.client()


@pytest.fixture
def raw(service):
    """A client that skips botocore's own checks, so the server's validation is what answers."""
    return service.client(validate=False)


@pytest.fixture
def image(sm):
    """A CREATED image named my-image."""
    sm.create_image(ImageName="my-image", RoleArn=ROLE)
    return "my-image"


def strip(response: dict) -> dict:
    """A response without its ResponseMetadata, for whole-response comparisons."""
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def error_of(excinfo) -> tuple[str, str]:
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`python -m smimages serve` on a free loopback port, as a user would start it."""

    def __init__(self, *args: str, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = ["--host", "127.0.0.1", "--port", str(self.port), *args]
        self.env = {**os.environ, **(env or {})}
        self.proc = None

    def start(self) -> "ServerProcess":
        self.proc = subprocess.Popen([sys.executable, "-m", "smimages", "serve", *self.args], env=self.env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stdout.read()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_smimages/health", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not become healthy")

    def stop(self, sig=None) -> str:
        """Stops the server (SIGTERM by default) and returns everything it printed."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig or 15)
        out, _ = self.proc.communicate(timeout=30)
        return out

    def client(self, access_key="AKIDEXAMPLE", region="us-east-1", validate=True):
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "sagemaker", region_name=region, endpoint_url=self.url, aws_access_key_id=access_key,
            aws_secret_access_key="secret", config=Config(parameter_validation=validate))


@pytest.fixture
def server_factory():
    started = []

    def make(*args, env=None):
        server = ServerProcess(*args, env=env)
        started.append(server)
        return server

    yield make
    for server in started:
        if server.proc and server.proc.poll() is None:
            server.stop()
