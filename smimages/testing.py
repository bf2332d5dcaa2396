"""In-process mode: boto3 clients whose requests reach an App through a botocore hook instead of a socket."""
import functools
import threading

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from .app import App
from .operations.service import Service, Settings
from .store import Store


@functools.cache
def _boto3_session() -> boto3.session.Session:
    """One session for every in-process client: it parses the SageMaker model once, not per client."""
    return boto3.session.Session()


class ManualClock:
    """A clock that only moves when told to, so lifecycle tests never sleep."""

    def __init__(self, start: float = 1_767_225_600.0):
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


class _Body:
    """The raw stream botocore reads a response body from."""

    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_):
        yield self._data


class InProcess:
    """A Service answered in-process: make clients with `client()`; requests go through App.handle."""

    def __init__(self, db: str = "sqlite://", settings: Settings | None = None, clock=None):
        store = Store(db)
        store.migrate()
        self.clock = clock or ManualClock()
        self.service = Service(store, settings or Settings(), self.clock)
        self.app = App(self.service)

    def _send(self, request, **_):
        path = request.url.split("://", 1)[-1]
        path = "/" + path.split("/", 1)[1] if "/" in path else "/"
        headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        response = self.app.handle(request.method, path.split("?", 1)[0], headers, body)
        return AWSResponse(request.url, response.status, dict(response.headers), _Body(response.body))

    def client(self, access_key: str = "AKIDEXAMPLE", region: str = "us-east-1", validate: bool = True, **config):
        """A real boto3 SageMaker client wired to this in-process service."""
        client = _boto3_session().client(
            "sagemaker", region_name=region, endpoint_url="http://smimages.invalid",
            aws_access_key_id=access_key, aws_secret_access_key="secret",
            config=Config(parameter_validation=validate, **config))
        client.meta.events.register("before-send.sagemaker", self._send)
        return client

    def close(self) -> None:
        self.app.executor.shutdown(wait=True)
        self.service.store.dispose()
