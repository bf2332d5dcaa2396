"""pytest fixtures for testing code that uses SageMaker images (loaded through the `pytest11` entry point).

| fixture | scope | what it gives |
|---|---|---|
| `smimages` | function | an active mock_sagemaker_images(): every SageMaker client the test creates talks to it |
| `sagemaker_client` | function | a boto3 SageMaker client (us-east-1) bound to `smimages` |
| `smimages_server` | function | the session's HTTP server, emptied (catalog and faults) for this test, with \
  `AWS_ENDPOINT_URL_SAGEMAKER` (and, where unset, fake credentials and a region) set for the test |
| `smimages_server_session` | session | that server itself (uvicorn in a thread, admin API on, loopback port): \
  shared, never reset |

`@pytest.mark.smimages(transition_delay=30, seed="catalog.json", settings=Settings(...), clock=...)` configures
`smimages` (and transition_delay / seed also `smimages_server`) for one test. docs/testing.md has examples."""

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import testing  # imports smimages.intercept: its client hook is in place before any session is created
from .context import DEFAULT_REGION
from .intercept import fake_credentials

_SERVER_OPTIONS = {"transition_delay", "seed", "settings"}
_MOCK_OPTIONS = _SERVER_OPTIONS | {"clock", "db"}
FAKE_ENVIRONMENT = {**fake_credentials.VALUES, "AWS_DEFAULT_REGION": DEFAULT_REGION}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "smimages(transition_delay=None, seed=None, settings=None, clock=None, db=None): configure the "
        "smimages fixture (and, for transition_delay, seed and settings, smimages_server) for this test",
    )


def _options(request: pytest.FixtureRequest, allowed: set[str]) -> dict[str, Any]:
    marker = request.node.get_closest_marker("smimages")
    options = dict(marker.kwargs) if marker else {}
    if marker and marker.args:
        raise pytest.UsageError("@pytest.mark.smimages takes keyword arguments only")
    unknown = set(options) - allowed
    if unknown:
        raise pytest.UsageError(
            f"@pytest.mark.smimages: {', '.join(sorted(unknown))} cannot be used here "
            f"(allowed: {', '.join(sorted(allowed))})"
        )
    seed = options.get("seed")
    if isinstance(seed, (str, Path)) and not Path(seed).is_absolute():
        options["seed"] = Path(request.node.path).parent / seed  # relative to the test file
    return options


@pytest.fixture
def smimages(request: pytest.FixtureRequest) -> Iterator[testing.SageMakerImagesMock]:
    """An active in-process smimages for this test (see mock_sagemaker_images)."""
    with testing.mock_sagemaker_images(**_options(request, _MOCK_OPTIONS)) as mock:
        yield mock


@pytest.fixture
def sagemaker_client(smimages: testing.SageMakerImagesMock) -> Any:
    """A boto3 SageMaker client in us-east-1, account 000000000000, talking to the `smimages` fixture."""
    return smimages.client()


@pytest.fixture(scope="session")
def smimages_server_session() -> Iterator[testing.ServerThread]:
    """One smimages HTTP server for the whole session (shared state: prefer `smimages_server`)."""
    with testing.ServerThread() as server:
        yield server


@pytest.fixture
def smimages_server(
    smimages_server_session: testing.ServerThread, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[testing.ServerThread]:
    """The session's HTTP server, empty for this test, with AWS_ENDPOINT_URL_SAGEMAKER pointing at it."""
    server = smimages_server_session
    options = _options(request, _SERVER_OPTIONS)
    original = server.service.settings
    settings = options.get("settings") or original
    if options.get("transition_delay") is not None:
        settings = dataclasses.replace(settings, transition_delay=options["transition_delay"])
    server.reset()
    server.service.settings = settings
    if options.get("seed") is not None:
        server.load(options["seed"])
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", server.url)
    for name, value in FAKE_ENVIRONMENT.items():
        if name not in os.environ:
            monkeypatch.setenv(name, value)
    yield server
    server.service.settings = original
    server.reset()
