"""Fixtures of the registry tier: a real registry behind Basic authentication, shared by a module's tests."""

import pytest

from support.registries import Pusher, RegistryServer, write_htpasswd


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory):
    """A registry behind htpasswd (bcrypt) Basic authentication (bob / s3cret) holding private/app:1: (server,
    digest)."""
    workdir = tmp_path_factory.mktemp("basic-registry")
    server = RegistryServer(workdir, auth={"htpasswd": write_htpasswd(workdir / "htpasswd", {"bob": "s3cret"})})
    server.start()
    digest = Pusher(server, basic=("bob", "s3cret")).image("private/app", "1")
    yield server, digest
    server.stop()
