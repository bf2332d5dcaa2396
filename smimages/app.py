"""Answers AWS API requests: parse, identify the caller, then validate, dispatch, serialize, or hand the request to an
upstream; one socket-free call each."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Protocol

from botocore.model import OperationModel, StructureShape

from .auth import Anonymous, Authenticator
from .context import RequestContext, new_request_id
from .errors import (
    INTERNAL_FAILURE,
    TEMPORARY_FAILURE,
    InternalFailure,
    ServiceError,
    ServiceUnavailable,
    UnknownOperationException,
)
from .operations import OPERATIONS, dispatch, serves
from .operations.references import check_custom_images
from .operations.service import CallPolicy, Service
from .protocol.validate import validate
from .protocol.wire import CONTENT_TYPE, error_body, operation_name, parse_body, serialize
from .spec import operation_model
from .store import Busy, Unavailable

# why a request that met a lock held too long is answered 503 (the store's Busy)
LOCKED = "a lock another database session holds was not released in time"

log = logging.getLogger("smimages.request")


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Forward:
    """A request smimages does not serve, to be handed to an upstream as it came: its caller authenticated, the
    custom images it names checked."""

    name: str
    account: str
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    started: float  # time.perf_counter() when it arrived, for the log line


class Upstream(Protocol):
    """Where forwarded requests go (smimages.upstream.HttpUpstream): the upstream's answer as it came, or a
    ServiceError saying why there is none."""

    @property
    def connections(self) -> int: ...

    def forward(self, request: Forward) -> Response: ...

    def close(self) -> None: ...


class App:
    """Answers the SageMaker API requests of one Service. Who is calling is `auth`'s decision; `policy` (fault
    injection, test assemblies only) is consulted around each call; `upstream` (serve --upstream) answers the
    SageMaker operations smimages does not serve."""

    def __init__(
        self,
        service: Service,
        auth: Authenticator | None = None,
        policy: CallPolicy | None = None,
        upstream: Upstream | None = None,
    ):
        self.service = service
        self.auth = auth or Anonymous()
        self.policy = policy
        self.upstream = upstream
        # name -> (operation model, its input shape): built now, not on the first request; one lookup per request
        self._served: dict[str, tuple[OperationModel, StructureShape]] = {}
        for name in OPERATIONS:
            model = operation_model(name)
            assert model is not None and isinstance(model.input_shape, StructureShape)
            self._served[name] = model, model.input_shape

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        """Answers one request (the upstream's answer when it is forwarded); headers are keyed in lower case; target
        is the raw request-target (path and query)."""
        answer = self.answer(method, target, headers, body)
        return self.forward(answer) if isinstance(answer, Forward) else answer

    def answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes, forwarding: bool | None = None
    ) -> Response | Forward:
        """Answers one request, or returns the Forward of a SageMaker call smimages does not serve when
        `forwarding` (by default: when an upstream is set); the caller then has the upstream answer it."""
        request_id = new_request_id()
        started = time.perf_counter()
        name = operation_name(headers.get("x-amz-target"))
        forwarding = self.upstream is not None if forwarding is None else forwarding
        try:
            result = self._call(name, method, target, headers, body, forwarding, started)
        except ServiceError as error:
            response = _error_response(error, request_id)
        except Busy:  # the store logs these once per episode; the client backs off and retries
            response = _error_response(unavailable(LOCKED), request_id)
        except Unavailable as exc:
            response = _error_response(unavailable(exc.reason), request_id)
        except Exception:
            log.exception("internal failure in %s (request %s)", name, request_id)
            response = _error_response(InternalFailure(INTERNAL_FAILURE), request_id)
        else:
            if isinstance(result, Forward):
                return result
            response = Response(200, [("content-type", CONTENT_TYPE), ("x-amzn-requestid", request_id)], result)
        _log(name, response.status, started)
        return response

    def forward(self, request: Forward) -> Response:
        """The upstream's answer to a forwarded request, or the error saying why there is none."""
        assert self.upstream is not None, "a Forward is only acted on where an upstream is set"
        try:
            response = self.upstream.forward(request)
        except ServiceError as error:
            response = _error_response(error)
        _log(request.name, response.status, request.started, " from the upstream")
        return response

    def _call(
        self,
        name: str | None,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        forwarding: bool,
        started: float,
    ) -> bytes | Forward:
        # Coral's order: JSON parse -> target -> authentication -> validation (or forwarding)
        params = parse_body(body)
        if name is None:
            raise UnknownOperationException()
        served = self._served.get(name)
        if served is not None and forwarding and not serves(name, params):
            served = None  # a tag call on a domain's ARN, say: the upstream's
        if served is None and not forwarding:
            raise UnknownOperationException()
        account, region = self.auth.authenticate(method, target, headers, body)
        ctx = RequestContext(account, region, self.service.now())
        if served is None:
            check_custom_images(self.service, ctx, name, params)
            return Forward(name, account, method, target, headers, body, started)
        model, input_shape = served
        result = dispatch(self.service, ctx, name, validate(input_shape, params), self.policy)
        return serialize(model.output_shape, result)


def _log(name: str | None, status: int, started: float, where: str = "") -> None:
    """One line per request: a served one at debug level, a refused or failed one at info."""
    level = logging.DEBUG if status == 200 else logging.INFO
    if log.isEnabledFor(level):
        log.log(level, "%s %d %.1fms%s", name or "-", status, (time.perf_counter() - started) * 1000, where)


def _error_response(error: ServiceError, request_id: str | None = None) -> Response:
    """An error in AWS JSON 1.1 shape, with the X-Amzn-ErrorType header Smithy SDKs read."""
    headers = [
        ("content-type", CONTENT_TYPE),
        ("x-amzn-requestid", request_id or new_request_id()),
        *error_headers(error),
    ]
    return Response(error.status, headers, error_body(error))


def unavailable(reason: str) -> ServiceUnavailable:
    """503 ServiceUnavailable with AWS's text, then the reason (a phrase) as a sentence of its own."""
    return ServiceUnavailable(f"{TEMPORARY_FAILURE} {reason[:1].upper()}{reason[1:]}.")


def refusal(error: ServiceError) -> Response:
    """An error answered before the request was read to its end; the connection is closed after it."""
    log.info("- %d %s", error.status, error.code)
    response = _error_response(error)
    response.headers.append(("connection", "close"))
    return response


def error_headers(error: ServiceError) -> list[tuple[str, str]]:
    """The headers an error answer carries besides the content type and request id."""
    headers = [("x-amzn-errortype", error.code)]
    if error.retry_after is not None:
        headers.append(("retry-after", str(error.retry_after)))
    return headers
