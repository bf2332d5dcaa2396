"""Answers AWS API requests: parse, identify the caller, validate, dispatch, serialize; one socket-free call each."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

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
from .operations import OPERATIONS, dispatch
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


class App:
    """Answers the SageMaker API requests of one Service. Who is calling is `auth`'s decision; `policy` (fault
    injection, test assemblies only) is consulted around each call."""

    def __init__(self, service: Service, auth: Authenticator | None = None, policy: CallPolicy | None = None):
        self.service = service
        self.auth = auth or Anonymous()
        self.policy = policy
        # name -> (operation model, its input shape): built now, not on the first request; one lookup per request
        self._served: dict[str, tuple[OperationModel, StructureShape]] = {}
        for name in OPERATIONS:
            model = operation_model(name)
            assert model is not None and isinstance(model.input_shape, StructureShape)
            self._served[name] = model, model.input_shape

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        """Answers one request; headers are keyed in lower case; target is the raw request-target (path and query)."""
        request_id = new_request_id()
        started = time.perf_counter()
        name = operation_name(headers.get("x-amz-target"))
        response_headers = [("content-type", CONTENT_TYPE), ("x-amzn-requestid", request_id)]
        error: ServiceError | None = None
        try:
            payload = self._call(name, method, target, headers, body)
        except ServiceError as exc:
            error = exc
        except Busy:  # the store logs these once per episode; the client backs off and retries
            error = unavailable(LOCKED)
        except Unavailable as exc:
            error = unavailable(exc.reason)
        except Exception:
            log.exception("internal failure in %s (request %s)", name, request_id)
            error = InternalFailure(INTERNAL_FAILURE)
        status = 200 if error is None else error.status
        if error is not None:
            payload = error_body(error)
            response_headers += error_headers(error)
        # a served request is a debug line, a refused or failed one an info line
        log.log(
            logging.DEBUG if status == 200 else logging.INFO,
            "%s %d %.1fms",
            name or "-",
            status,
            (time.perf_counter() - started) * 1000,
        )
        return Response(status, response_headers, payload)

    def _call(self, name: str | None, method: str, target: str, headers: dict[str, str], body: bytes) -> bytes:
        # Coral's order: JSON parse -> target -> authentication -> validation
        params = parse_body(body)
        served = self._served.get(name) if name is not None else None
        if served is None or name is None:
            raise UnknownOperationException()
        model, input_shape = served
        account, region = self.auth.authenticate(method, target, headers, body)
        ctx = RequestContext(account, region, self.service.now())
        result = dispatch(self.service, ctx, name, validate(input_shape, params), self.policy)
        return serialize(model.output_shape, result)


def unavailable(reason: str) -> ServiceUnavailable:
    """503 ServiceUnavailable with AWS's text, then the reason (a phrase) as a sentence of its own."""
    return ServiceUnavailable(f"{TEMPORARY_FAILURE} {reason[:1].upper()}{reason[1:]}.")


def refusal(error: ServiceError) -> Response:
    """An error answered before the request was read to its end; the connection is closed after it."""
    log.info("- %d %s", error.status, error.code)
    headers = [("content-type", CONTENT_TYPE), ("x-amzn-requestid", new_request_id()), *error_headers(error)]
    return Response(error.status, [*headers, ("connection", "close")], error_body(error))


def error_headers(error: ServiceError) -> list[tuple[str, str]]:
    """The headers an error answer carries besides the content type and request id."""
    headers = [("x-amzn-errortype", error.code)]
    if error.retry_after is not None:
        headers.append(("retry-after", str(error.retry_after)))
    return headers
