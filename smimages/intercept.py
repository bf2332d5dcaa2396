"""Which botocore clients reach which in-process service: the registry of active mocks, the client-class hook that
binds new SageMaker clients to the active one, and the fake credentials an active mock may export.

Importing this module adds one handler to botocore's BUILTIN_HANDLERS, so every botocore, boto3 or aiobotocore
session created afterwards has it (boto3's default session is given it when a mock starts). While a mock is
active, that handler ('creating-client-class.sagemaker') gives new SageMaker client classes a base class whose
__init__ binds the client to the active mock. Clients of other services, and SageMaker clients created while no
mock is active, are never touched."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.handlers

FAKE_ACCESS_KEY = "testing"  # not 12 digits: requests act in account 000000000000, like the server's default
FAKE_SECRET_KEY = "testing"
CLASS_HOOK_ID = "smimages-client-class"  # unique ids are per emitter, across event names


def current() -> Any:
    """The mock new SageMaker clients bind to here: the innermost one this thread started, else the one started
    last by any thread (so worker threads of a test share its mock), else None."""
    stack = getattr(_local, "stack", None)
    while stack:
        if stack[-1] in _active:
            return stack[-1]
        stack.pop()  # stopped from another thread
    with _registry_lock:
        return _active[-1] if _active else None


class _FakeCredentials:
    """Exports fake credentials while any mock wants them, only when the environment names no credentials at
    all (no keys, profile, shared files, container or web-identity settings): then nothing real is hidden."""

    SOURCES = (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_SESSION_TOKEN",
    )
    VALUES = {"AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY}

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._exported = False

    @classmethod
    def _none_configured(cls) -> bool:
        if any(os.environ.get(name) for name in cls.SOURCES):
            return False
        home = Path(os.path.expanduser("~/.aws"))
        return not (home / "credentials").exists() and not (home / "config").exists()

    def acquire(self) -> None:
        with self._lock:
            if self._users == 0 and self._none_configured():
                os.environ.update(self.VALUES)
                self._exported = True
            self._users += 1

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._exported:
                for name, value in self.VALUES.items():
                    if os.environ.get(name) == value:
                        del os.environ[name]
                self._exported = False


fake_credentials = _FakeCredentials()


_registry_lock = threading.Lock()
_active: list[Any] = []  # started mocks, oldest first
_local = threading.local()


def activate(mock: object) -> None:
    with _registry_lock:
        _active.append(mock)
    if not hasattr(_local, "stack"):
        _local.stack = []
    _local.stack.append(mock)


def deactivate(mock: object) -> None:
    with _registry_lock:
        if mock in _active:
            _active.remove(mock)
    stack = getattr(_local, "stack", [])
    if mock in stack:
        stack.remove(mock)


@contextlib.contextmanager
def binding(target: Any) -> Iterator[None]:
    """Clients created in this thread inside the block bind to `target` (an InProcess), whatever is active."""
    _local.binding = target
    try:
        yield
    finally:
        _local.binding = None


def _binding_target() -> Any:
    explicit = getattr(_local, "binding", None)
    if explicit is not None:
        return explicit
    mock = current()
    return mock._backend if mock is not None else None


class BoundToSmimages:
    """Base class given to SageMaker client classes created while a mock is active (or by InProcess.client())."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        target = _binding_target()
        if target is not None:
            target._bind(self)


def _on_creating_client_class(base_classes: list[type], **_: Any) -> None:
    if (_active or getattr(_local, "binding", None) is not None) and BoundToSmimages not in base_classes:
        base_classes.insert(0, BoundToSmimages)


def moto_active() -> bool:
    """Whether moto's mock_aws is active: the SageMaker calls smimages does not serve (CreateModel, CreateDomain,
    tag calls on a domain's ARN, ...) are left to it then, so the two mocks compose; without it they are answered
    here (unknown operation)."""
    moto = sys.modules.get("moto.core.models")
    return moto is not None and bool(getattr(moto.botocore_stubber, "enabled", False))


def is_aio(client: object) -> bool:
    module = sys.modules.get("aiobotocore.client")
    return module is not None and isinstance(client, module.AioBaseClient)


def hook_default_session() -> None:
    """Gives the hook to boto3's default session when that session predates this module."""
    boto3 = sys.modules.get("boto3")
    session = getattr(boto3, "DEFAULT_SESSION", None) if boto3 else None
    if session is not None:
        session._session.register("creating-client-class.sagemaker", _on_creating_client_class, unique_id=CLASS_HOOK_ID)


if not any(entry[1] is _on_creating_client_class for entry in botocore.handlers.BUILTIN_HANDLERS):
    botocore.handlers.BUILTIN_HANDLERS.append(("creating-client-class.sagemaker", _on_creating_client_class))
