"""Injected failures for tests: how the next N lifecycles end (CREATE_FAILED, UPDATE_FAILED, DELETE_FAILED) and
which calls answer an error instead (ThrottlingException, ResourceLimitExceeded, ResourceInUse, ...).

Each fault names an operation and a scope (image name glob or ARN, BaseImage glob, version, account, region) and
is used up after `count` matches (None: never). Faults is a call policy (operations.service.CallPolicy) that a test
assembly hands to the App: `dispatch` asks `around()` before running a call (an error fault answers instead), and
the call's outcomes (RequestContext.outcomes) say how each lifecycle it starts will end. A call that fails after
taking a lifecycle fault gives it back."""

from __future__ import annotations

import builtins
import fnmatch
import itertools
import re
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any, cast

from .context import ACCOUNT_ID, REGION_NAME, RequestContext
from .domain import arns
from .domain.limits import MAX_FAILURE_REASON
from .errors import CONCURRENT_MODIFICATION, INTERNAL_FAILURE, ServiceError, ServiceUnavailable

MAX_MESSAGE = 2048  # characters of an error fault's message
LIFECYCLE_OPERATIONS = ("CreateImage", "UpdateImage", "DeleteImage", "CreateImageVersion", "DeleteImageVersion")
# code -> (HTTP status, message) answered when a fault gives no message of its own
ERROR_DEFAULTS = {
    "ThrottlingException": (400, "Rate exceeded"),
    "ResourceLimitExceeded": (
        400,
        "The account-level service limit for this resource has been reached. Please "
        "use AWS Service Quotas to request an increase for this quota.",
    ),
    "ResourceInUse": (400, CONCURRENT_MODIFICATION),
    "InternalFailure": (500, INTERNAL_FAILURE),
    "ServiceUnavailable": (503, "Service Unavailable"),
}


def _arn_scope(text: str) -> tuple[arns.Arn, str, int | None] | None:
    """(ARN, name, version) of an image, image-version or app-image-config ARN (a version's number may be left out),
    else None."""
    parts = arns.parse(text)
    if parts is None or parts.kind not in ("image", "image-version", "app-image-config"):
        return None
    name, slash, version = parts.resource.partition("/")
    if (
        not name
        or (parts.kind != "image-version" and slash)
        or (version and not (version.isascii() and version.isdigit()))
    ):
        return None
    return parts, name, int(version) if version else None


class FaultError(ValueError):
    """A fault that cannot be set up (unknown operation, bad count, reason too long, ...)."""


class InjectedError(ServiceError):
    """An error answered because a fault said so, in the same shape as any other AWS error."""

    def __init__(self, code: str, message: str | None, status: int):
        super().__init__(message)
        self.code = code
        self.status = status
        self.retry_after = ServiceUnavailable.retry_after if status == ServiceUnavailable.status else None


@dataclass(eq=False)
class Fault:
    """One injected failure. `count` is how many more matches it takes (None: unlimited); `hits` how many it had."""

    type: str  # "fail": the lifecycle ends *_FAILED with `reason`; "error": the call answers `code`
    operation: str  # an AWS operation name, or "*" (error faults only)
    count: int | None = 1
    image: str = "*"  # ImageName (or AppImageConfigName) glob, or an image / image-version / app-image-config ARN
    base_image: str = "*"  # BaseImage glob
    version: int | None = None
    account: str | None = None
    region: str | None = None
    reason: str | None = None
    code: str | None = None
    message: str | None = None
    status: int | None = None
    id: str = ""
    hits: int = 0
    _seq: int = field(default=0, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["_seq"]
        return data

    @property
    def _name_pattern(self) -> tuple[str, bool]:
        """(glob on the image name, whether it ignores case: version ARNs carry the name in lower case)."""
        scope = _arn_scope(self.image)
        if scope is None:
            return self.image, False
        return scope[1], scope[0].kind == "image-version"

    def _scope_matches(
        self, account: str, region: str, image: str | None, version: int | None, base_image: str | None
    ) -> bool:
        if self.account is not None and self.account != account:
            return False
        if self.region is not None and self.region != region:
            return False
        pattern, fold = self._name_pattern
        if pattern != "*":
            if image is None:
                return False
            if not (
                fnmatch.fnmatchcase(image.lower(), pattern.lower()) if fold else fnmatch.fnmatchcase(image, pattern)
            ):
                return False
        if self.base_image != "*" and (base_image is None or not fnmatch.fnmatchcase(base_image, self.base_image)):
            return False
        return self.version is None or self.version == version


def _checked(fault: Fault, served: Any) -> Fault:
    """The fault, its ARN scope folded into account/region/version; FaultError when it makes no sense."""
    if not isinstance(fault.operation, str):
        raise FaultError("operation must be an operation name (a string), or * for any")
    if fault.message is not None and not (isinstance(fault.message, str) and len(fault.message) <= MAX_MESSAGE):
        raise FaultError(f"message must be a string of at most {MAX_MESSAGE} characters")
    if fault.account is not None and not (isinstance(fault.account, str) and ACCOUNT_ID.fullmatch(fault.account)):
        raise FaultError("account must be 12 ASCII digits")
    if fault.region is not None and not (isinstance(fault.region, str) and REGION_NAME.fullmatch(fault.region)):
        raise FaultError("region must be a region name")
    if fault.type == "fail":
        if fault.operation not in LIFECYCLE_OPERATIONS:
            raise FaultError(
                f"a lifecycle fault needs one of {', '.join(LIFECYCLE_OPERATIONS)}, not {fault.operation!r}"
            )
        if fault.reason is None:
            fault.reason = f"{fault.operation} failed (fault injected by smimages)."
        if not isinstance(fault.reason, str) or not 0 < len(fault.reason) <= MAX_FAILURE_REASON:
            raise FaultError(f"reason must be 1 to {MAX_FAILURE_REASON} characters")
    elif fault.type == "error":
        if fault.operation != "*" and fault.operation not in served:
            raise FaultError(f"unknown operation {fault.operation!r}")
        if not isinstance(fault.code, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9.#]{0,127}", fault.code):
            raise FaultError("an error fault needs an error code, e.g. ThrottlingException")
        status, message = ERROR_DEFAULTS.get(fault.code, (400, None))
        fault.status = status if fault.status is None else fault.status
        fault.message = message if fault.message is None else fault.message
        if not isinstance(fault.status, int) or not 400 <= fault.status <= 599:
            raise FaultError("status must be an HTTP error status (400-599)")
    else:
        raise FaultError(f"unknown fault type {fault.type!r} (fail or error)")
    if fault.count is not None and (
        not isinstance(fault.count, int) or isinstance(fault.count, bool) or fault.count < 1
    ):
        raise FaultError("count must be a positive integer, or None for every matching call")
    if fault.version is not None and (not isinstance(fault.version, int) or isinstance(fault.version, bool)):
        raise FaultError("version must be an integer")
    for name in ("image", "base_image"):
        if not isinstance(getattr(fault, name), str):
            raise FaultError(f"{name} must be a string")
    scope = _arn_scope(fault.image)
    if scope:
        parts, _, version = scope
        fault.account = fault.account or parts.account
        fault.region = fault.region or parts.region
        if version is not None and fault.version is None:
            fault.version = version
    return fault


class Faults:
    """The faults armed on one Service; thread-safe."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    # arming

    def add(self, fault: Fault | dict[str, Any]) -> Fault:
        """Arms a fault (a Fault, or its to_dict() form as the admin API takes it)."""
        if isinstance(fault, dict):
            known = {f.name for f in fields(Fault)} - {"id", "hits", "_seq"}
            unknown = set(fault) - known
            if unknown:
                raise FaultError(f"unknown fault fields: {', '.join(sorted(unknown))}")
            if "type" not in fault or "operation" not in fault:
                raise FaultError("a fault needs a type (fail or error) and an operation")
            fault = Fault(**fault)
        from .operations import OPERATIONS

        fault = _checked(fault, OPERATIONS)
        with self._lock:
            fault._seq = next(self._ids)
            fault.id = f"fault-{fault._seq}"
            self._faults.append(fault)
        return fault

    def fail(
        self,
        operation: str,
        reason: str | None = None,
        *,
        count: int | None = 1,
        image: str = "*",
        base_image: str = "*",
        version: int | None = None,
        account: str | None = None,
        region: str | None = None,
    ) -> Fault:
        """The next `count` matching calls of `operation` start a lifecycle that ends *_FAILED with `reason`
        as FailureReason (CreateImage / CreateImageVersion: CREATE_FAILED, UpdateImage: UPDATE_FAILED,
        DeleteImage / DeleteImageVersion: DELETE_FAILED)."""
        return self.add(Fault("fail", operation, count, image, base_image, version, account, region, reason=reason))

    def error(
        self,
        operation: str,
        code: str,
        message: str | None = None,
        *,
        status: int | None = None,
        count: int | None = 1,
        image: str = "*",
        base_image: str = "*",
        version: int | None = None,
        account: str | None = None,
        region: str | None = None,
    ) -> Fault:
        """The next `count` matching calls of `operation` ("*": any) answer the AWS error `code` and do nothing."""
        return self.add(
            Fault(
                "error",
                operation,
                count,
                image,
                base_image,
                version,
                account,
                region,
                code=code,
                message=message,
                status=status,
            )
        )

    def throttle(self, operation: str = "*", count: int | None = 1, **scope: Any) -> Fault:
        """ThrottlingException ("Rate exceeded"), which botocore retries."""
        return self.error(operation, "ThrottlingException", count=count, **scope)

    def limit_exceeded(self, operation: str, count: int | None = 1, **scope: Any) -> Fault:
        """ResourceLimitExceeded, as a full service quota answers."""
        return self.error(operation, "ResourceLimitExceeded", count=count, **scope)

    def concurrent_modification(self, count: int | None = 1, **scope: Any) -> Fault:
        """CreateImageVersion answers ResourceInUse "Resource was modified concurrently", as AWS answers calls
        that race on one image (smimages itself serializes them, so the race has to be injected)."""
        return self.error("CreateImageVersion", "ResourceInUse", CONCURRENT_MODIFICATION, count=count, **scope)

    def remove(self, fault: Fault | str) -> bool:
        """Disarms one fault (or its id); False when it was not armed (any more)."""
        fault_id = fault if isinstance(fault, str) else fault.id
        with self._lock:
            kept = [f for f in self._faults if f.id != fault_id]
            removed = len(kept) != len(self._faults)
            self._faults = kept
        return removed

    def clear(self) -> None:
        with self._lock:
            self._faults = []

    def list(self) -> builtins.list[Fault]:  # `list` in this class's scope is the method
        """The armed faults, oldest first."""
        with self._lock:
            return list(self._faults)

    def __len__(self) -> int:
        return len(self._faults)

    # the call policy

    def around(self, ctx: RequestContext, operation: str, request: dict[str, Any]) -> _CallOutcomes | None:
        """Before one call: answers an error fault's error instead, or gives the call outcomes that take the
        lifecycle faults it matches (given back if the call then fails); None while no fault is armed."""
        if not self._faults:
            return None
        self._answer_error(ctx, operation, request)
        return _CallOutcomes(self)

    def _take_failure(
        self, operation: str, ctx: RequestContext, image: str, version: int | None, base_image: str | None
    ) -> Fault | None:
        """Takes the first armed lifecycle fault matching a lifecycle `operation` starts now."""
        with self._lock:
            for fault in self._faults:
                if (
                    fault.type == "fail"
                    and fault.operation == operation
                    and fault._scope_matches(ctx.account, ctx.region, image, version, base_image)
                ):
                    self._take(fault)
                    return fault
        return None

    def _give_back_all(self, taken: builtins.list[Fault]) -> None:
        with self._lock:
            for fault in taken:
                self._give_back(fault)

    def _answer_error(self, ctx: RequestContext, operation: str, request: dict[str, Any]) -> None:
        image = request.get("ImageName", request.get("AppImageConfigName"))
        if image is None and isinstance(request.get("ResourceArn"), str):
            scope = _arn_scope(request["ResourceArn"])
            image = scope[1] if scope and scope[0].kind != "image-version" else None
        with self._lock:
            for fault in self._faults:
                if (
                    fault.type == "error"
                    and fault.operation in ("*", operation)
                    and fault._scope_matches(
                        ctx.account, ctx.region, image, request.get("Version"), request.get("BaseImage")
                    )
                ):
                    self._take(fault)
                    # _checked has set the code and status of every error fault
                    raise InjectedError(cast(str, fault.code), fault.message, cast(int, fault.status))

    def _take(self, fault: Fault) -> None:
        fault.hits += 1
        if fault.count is not None:
            fault.count -= 1
            if fault.count == 0:
                self._faults.remove(fault)

    def _give_back(self, fault: Fault) -> None:
        fault.hits -= 1
        if fault.count is not None:
            fault.count += 1
            if all(armed is not fault for armed in self._faults):
                self._faults.append(fault)
                self._faults.sort(key=lambda f: f._seq)


class _CallOutcomes:
    """The lifecycle outcomes of one call: the faults it took, kept so that a rerun after a write conflict gets the
    same ones, and given back when the call fails (its transaction was rolled back, so those lifecycles never
    started)."""

    def __init__(self, faults: Faults):
        self._faults = faults
        self._taken: dict[str, Fault] = {}

    def __enter__(self) -> _CallOutcomes:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        if kind is not None and self._taken:
            self._faults._give_back_all(list(self._taken.values()))

    def failure(
        self, operation: str, ctx: RequestContext, image: str, version: int | None = None, base_image: str | None = None
    ) -> str | None:
        fault: Fault | None
        for fault in self._taken.values():
            if fault.operation == operation and fault._scope_matches(
                ctx.account, ctx.region, image, version, base_image
            ):
                return fault.reason  # the same call, run again after a write conflict
        fault = self._faults._take_failure(operation, ctx, image, version, base_image)
        if fault is None:
            return None
        self._taken[fault.id] = fault
        return fault.reason
