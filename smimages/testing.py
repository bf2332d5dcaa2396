"""In-process mode: SageMaker clients whose requests reach an App through a botocore hook instead of a socket.

    with mock_sagemaker_images() as sm:      # or @mock_sagemaker_images() on a test function / TestCase
        client = boto3.client("sagemaker", region_name="us-east-1")   # any client created inside
        ...; sm.advance(30); sm.settle(); sm.faults.fail("CreateImageVersion", "..."); sm.dump("catalog.json")

A bound client (smimages/intercept.py says which clients are bound to which mock) has a 'before-send.sagemaker'
handler of its own that hands each request to App.handle. ServerThread serves the same over real HTTP. Heavy
imports (the app, SQLAlchemy, boto3) wait until first use, so loading the pytest plugin stays cheap."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import threading
import unittest
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.credentials import Credentials

from . import intercept
from .admin import Control
from .clock import ManualClock
from .intercept import FAKE_ACCESS_KEY, FAKE_SECRET_KEY, current

if TYPE_CHECKING:
    import uvicorn
    from botocore.client import BaseClient

    from .app import Response
    from .auth import Authenticator
    from .operations.service import Settings
    from .server import Server

__all__ = ["InProcess", "ManualClock", "SageMakerImagesMock", "ServerThread", "current", "mock_sagemaker_images"]

# Where a handled request is pointed afterwards, so before-send hooks that run after ours (moto's mock_aws
# stubber, which would answer any *.amazonaws.com SageMaker URL too) see a request that is not for AWS.
_HANDLED_URL = "http://smimages.in-process.invalid/"
_SEND_HOOK_ID = "smimages-in-process-send"
T = TypeVar("T")
C = TypeVar("C", bound="BaseClient")


@functools.cache
def _boto3_session() -> Any:  # a boto3 Session, or botocore's when boto3 is not installed
    """One session for every client made by InProcess.client(): it parses the SageMaker model once."""
    try:
        import boto3
    except ImportError:  # boto3 is optional: a plain botocore session makes the same clients
        import botocore.session

        return botocore.session.Session()
    return boto3.session.Session()


class _Body:
    """The raw stream botocore reads a response body from (aiobotocore awaits read())."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data

    async def read(self, *_: Any) -> bytes:
        return self._data


def request_headers(headers: Any) -> dict[str, str]:
    """A prepared botocore request's headers by lower-case name, as an HTTP server would read them. botocore's
    HeadersDict keeps lower-cased keys beside the values (`_dict`); reading them there skips MutableMapping's
    key-by-key lookups, about 10 µs of every in-process call. Anything else is read through its public mapping."""
    stored = getattr(headers, "_dict", None)
    try:
        pairs = [(key._lower, value) for key, value in stored.items()]  # type: ignore[union-attr]
    except AttributeError:
        pairs = [(key.lower(), value) for key, value in headers.items()]
    return {name: value.decode() if isinstance(value, bytes) else value for name, value in pairs}


def _waiter_on_clock(get_waiter: Callable[[str], Any], advance: Callable[[float], Any], aio: bool, name: str) -> Any:
    """get_waiter of a client bound to an in-process service: where the waiter would sleep its delay between two
    polls, the service's clock moves by that delay instead (botocore is told to sleep 0 s), so wait() returns as soon
    as what it waits for is due, in no real time. time.sleep itself is untouched."""
    waiter = get_waiter(name)
    poll, wait = waiter._operation_method, waiter.wait
    state = {"delay": 0.0, "polled": False}

    def next_poll() -> None:
        if state["polled"]:
            advance(state["delay"])
        state["polled"] = True

    def begin(kwargs: dict[str, Any]) -> dict[str, Any]:
        config = dict(kwargs.pop("WaiterConfig", None) or {})
        state["delay"], state["polled"] = config.get("Delay", waiter.config.delay), False
        return {**config, "Delay": 0}

    if aio:

        async def poll_aio(**request: Any) -> Any:
            next_poll()
            return await poll(**request)

        async def wait_aio(**kwargs: Any) -> None:
            config = begin(kwargs)
            await wait(WaiterConfig=config, **kwargs)

        waiter._operation_method, waiter.wait = poll_aio, wait_aio
        return waiter

    def poll_sync(**request: Any) -> Any:
        next_poll()
        return poll(**request)

    def wait_sync(**kwargs: Any) -> None:
        config = begin(kwargs)
        wait(WaiterConfig=config, **kwargs)

    waiter._operation_method, waiter.wait = poll_sync, wait_sync
    return waiter


class InProcess(Control):
    """A Service answered in-process: clients made by `client()`, or caught by an active mock, send requests
    through App.handle (parse, authenticate, validate, dispatch, serialize) without a socket or a thread hop. Its
    test controls (advance, settle, faults, dump, load, reset) are those of smimages.admin.Control."""

    def __init__(
        self,
        db: str = "sqlite://",
        settings: Settings | None = None,
        clock: Callable[[], float] | None = None,
        auth: Authenticator | None = None,
    ) -> None:
        from .app import App
        from .faults import Faults
        from .operations.service import Service, Settings
        from .store import open_store
        from .worker import TransitionWorker

        store = open_store(db)
        self.clock = clock or ManualClock()
        faults = Faults()
        super().__init__(Service(store, settings or Settings(), self.clock), faults, self._in_turn)
        self.app = App(self.service, auth=auth, policy=faults)
        self.worker = TransitionWorker(self.service)  # not started: tests run its passes themselves
        # one SQLite connection serves an in-memory catalog: requests from several threads take turns on it
        self._lock = threading.RLock() if store.memory else nullcontext()
        self.closed = False

    # the request path

    def _answer(self, request: AWSPreparedRequest) -> tuple[str, Response] | None:
        """The request's URL and answer, or None when moto's mock_aws is to answer it (a SageMaker call smimages
        does not serve, its custom images checked first)."""
        from .app import Forward

        if self.closed:
            raise RuntimeError(
                "this SageMaker client belongs to an smimages in-process service that has been "
                "closed (a mock_sagemaker_images() context that has ended)"
            )
        url = request.url
        rest = url.split("://", 1)[-1]
        host, _, target = rest.partition("/")
        target = "/" + target
        headers = request_headers(request.headers)
        headers.setdefault("host", host)  # as an HTTP client adds it
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        with self._lock:  # the body is bytes by now (botocore's stubs also allow a bytearray)
            answer = self.app.answer(
                request.method, target, headers, cast(bytes, body), forwarding=intercept.moto_active()
            )
        if isinstance(answer, Forward):
            return None
        request.url = _HANDLED_URL
        return url, answer

    def _send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        answered = self._answer(request)
        if answered is None:
            return None
        url, response = answered
        # AWSResponse copies any mapping into a HeadersDict; the stubs ask for an HTTPHeaders
        return AWSResponse(url, response.status, dict(response.headers), _Body(response.body))  # type: ignore[arg-type]

    def _send_aio(self, request: AWSPreparedRequest, **_: Any) -> Any:
        from aiobotocore.awsrequest import AioAWSResponse

        answered = self._answer(request)
        if answered is None:
            return None
        url, response = answered
        return AioAWSResponse(url, response.status, dict(response.headers), _Body(response.body))

    def _bind(self, client: BaseClient) -> None:
        """Sends this client's requests here from now on; a client without credentials gets fake ones."""
        aio = intercept.is_aio(client)
        # a before-send handler returns the response; the stubs type every handler as returning None
        client.meta.events.register(
            "before-send.sagemaker",
            self._send_aio if aio else self._send,  # type: ignore[arg-type]
            unique_id=_SEND_HOOK_ID,
        )
        # an instance attribute in front of the client class's method: a later binding replaces it
        client.get_waiter = functools.partial(  # type: ignore[method-assign]
            _waiter_on_clock, type(client).get_waiter.__get__(client), self.advance, aio
        )
        signer = getattr(client, "_request_signer", None)
        if signer is not None and getattr(signer, "_credentials", False) is None:
            if aio:
                from aiobotocore.credentials import AioCredentials

                signer._credentials = AioCredentials(FAKE_ACCESS_KEY, FAKE_SECRET_KEY)
            else:
                signer._credentials = Credentials(FAKE_ACCESS_KEY, FAKE_SECRET_KEY)

    def client(
        self, access_key: str = "AKIDEXAMPLE", region: str = "us-east-1", validate: bool = True, **config: Any
    ) -> Any:
        """A real boto3 SageMaker client wired to this in-process service (whatever mock is active)."""
        from botocore.config import Config

        with intercept.binding(self):
            client = _boto3_session().client(
                "sagemaker",
                region_name=region,
                endpoint_url="http://smimages.invalid",
                aws_access_key_id=access_key,
                aws_secret_access_key="secret",
                config=Config(parameter_validation=validate, **config),
            )
        self._bind(client)  # a no-op when an active mock's hook already bound it here
        return client

    def attach(self, client: C) -> C:
        """Binds a SageMaker client created elsewhere (e.g. before the mock started) to this service."""
        self._bind(client)
        return client

    def _in_turn(self, fn: Callable[[], T]) -> T:
        with self._lock:
            return fn()

    def close(self) -> None:
        self.closed = True
        self.service.store.dispose()


class SageMakerImagesMock:
    """mock_sagemaker_images(): a context manager, a decorator and start()/stop(); while active, every SageMaker
    client created (in any thread) talks to a fresh in-process smimages. Attributes of the running InProcess
    (client, faults, advance, settle, dump, load, reset, now, service, app, clock) are available on it."""

    def __init__(
        self,
        *,
        transition_delay: float | None = None,
        settings: Settings | None = None,
        clock: Callable[[], float] | None = None,
        seed: str | Path | dict[str, Any] | None = None,
        db: str = "sqlite://",
        fake_credentials: bool = True,
    ) -> None:
        self._config: dict[str, Any] = {
            "transition_delay": transition_delay,
            "settings": settings,
            "clock": clock,
            "seed": seed,
            "db": db,
            "fake_credentials": fake_credentials,
        }
        self._faked = False
        self._backend: InProcess | None = None

    # lifecycle

    def start(self) -> SageMakerImagesMock:
        from .operations.service import Settings

        if self._backend is not None:
            raise RuntimeError("this mock is already started")
        settings = self._config["settings"] or Settings()
        if self._config["transition_delay"] is not None:
            settings = dataclasses.replace(settings, transition_delay=self._config["transition_delay"])
        # time stands still (at the current time) unless the test moves it
        backend = InProcess(self._config["db"], settings, self._config["clock"] or ManualClock(start=None))
        if self._config["seed"] is not None:
            backend.load(self._config["seed"])
        self._backend = backend
        intercept.activate(self)
        intercept.hook_default_session()
        if self._config["fake_credentials"]:
            intercept.fake_credentials.acquire()
            self._faked = True
        return self

    def stop(self) -> None:
        backend, self._backend = self._backend, None
        if backend is None:
            return
        intercept.deactivate(self)
        if self._faked:
            intercept.fake_credentials.release()
            self._faked = False
        backend.close()

    @property
    def active(self) -> bool:
        return self._backend is not None

    def __enter__(self) -> SageMakerImagesMock:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        backend = self.__dict__.get("_backend")
        if backend is None:
            raise AttributeError(f"mock_sagemaker_images() is not active: start it before using .{name}")
        return getattr(backend, name)

    # decorator

    def _fresh(self) -> SageMakerImagesMock:
        return SageMakerImagesMock(**self._config)

    def __call__(self, target: Any) -> Any:
        if isinstance(target, type):
            return self._decorate_class(target)
        if inspect.iscoroutinefunction(target):

            @functools.wraps(target)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self._fresh():
                    return await target(*args, **kwargs)

            return async_wrapper

        @functools.wraps(target)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return target(*args, **kwargs)

        return wrapper

    def _decorate_class(self, cls: type) -> type:
        """A TestCase gets a fresh mock around each test (setUp to cleanups); other classes get every test_*
        method decorated."""
        if issubclass(cls, unittest.TestCase):
            original = cls.setUp
            fresh = self._fresh

            @functools.wraps(original)
            def setUp(test: unittest.TestCase, *args: Any, **kwargs: Any) -> None:
                mock = fresh().start()
                test.addCleanup(mock.stop)
                original(test, *args, **kwargs)

            cls.setUp = setUp  # type: ignore[method-assign,assignment]  # patching the TestCase's setUp is the point
            return cls
        for name, member in list(vars(cls).items()):
            if name.startswith("test") and callable(member):
                setattr(cls, name, self(member))
        return cls


class ServerThread(Control):
    """smimages over real HTTP on a free loopback port, served by uvicorn in a thread of this process with the
    admin API on (so tools in other processes can drive it too). Its clock is wall time that advance() and
    settle() move ahead; its controls (smimages.admin.Control) run on the server's request executor, in turn with
    requests. `console` serves the web console too; `auth` decides who calls (default: auth off)."""

    _server: uvicorn.Server | None
    _thread: threading.Thread | None
    app: Server | None

    def __init__(
        self,
        db: str = "sqlite://",
        settings: Settings | None = None,
        clock: Callable[[], float] | None = None,
        host: str = "127.0.0.1",
        console: bool = False,
        auth: Authenticator | None = None,
    ) -> None:
        self._config: dict[str, Any] = {
            "db": db,
            "settings": settings,
            "clock": clock,
            "console": console,
            "auth": auth,
        }
        self.host = host
        self.port: int | None = None
        self._server = self._thread = self.app = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerThread:
        import time

        import uvicorn

        from . import httpserver
        from .clock import ShiftedClock
        from .operations.service import Service, Settings
        from .server import Server
        from .store import open_store

        store = open_store(self._config["db"])
        service = Service(store, self._config["settings"] or Settings(), self._config["clock"] or ShiftedClock())
        self.app = Server(service, self._config["auth"], test_controls=True, console=self._config["console"])
        assert self.app.control is not None
        super().__init__(service, self.app.control.faults, self.app.in_turn)
        sock = httpserver.listen(self.host, 0, backlog=128)
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(self.app, lifespan="on", **httpserver.options()))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"smimages-server-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the smimages test server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.should_exit = True
        cast(threading.Thread, self._thread).join(30)  # started with the server
        self.service.store.dispose()
        self._server = None

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(
        self, access_key: str = "AKIDEXAMPLE", region: str = "us-east-1", validate: bool = True, **config: Any
    ) -> Any:
        """A boto3 SageMaker client for this server."""
        from botocore.config import Config

        return _boto3_session().client(
            "sagemaker",
            region_name=region,
            endpoint_url=self.url,
            aws_access_key_id=access_key,
            aws_secret_access_key="secret",
            config=Config(parameter_validation=validate, **config),
        )


def mock_sagemaker_images(
    target: Any = None,
    *,
    transition_delay: float | None = None,
    settings: Settings | None = None,
    clock: Callable[[], float] | None = None,
    seed: str | Path | dict[str, Any] | None = None,
    db: str = "sqlite://",
    fake_credentials: bool = True,
) -> Any:
    """A fresh in-process smimages that every SageMaker client created while it is active talks to.

    Use it as `with mock_sagemaker_images() as sm:`, as `@mock_sagemaker_images` / `@mock_sagemaker_images(...)`
    on a function, coroutine function or class, or with start()/stop(). transition_delay: seconds a resource
    stays CREATING/UPDATING/DELETING (default 0: the next read sees the final status); clock: a callable with
    advance() (default: a ManualClock standing at the current time); seed: a catalog document or file to start
    from; db: the database URL (default: a private in-memory SQLite); fake_credentials: while active, export
    fake AWS credentials when the environment configures none at all, so botocore does not go looking for some
    (instance metadata) before creating a client, as moto's mock_aws does."""
    mock = SageMakerImagesMock(
        transition_delay=transition_delay,
        settings=settings,
        clock=clock,
        seed=seed,
        db=db,
        fake_credentials=fake_credentials,
    )
    return mock if target is None else mock(target)
