"""Test controls over one Service (move its clock, settle its lifecycles, arm faults, dump / load / reset its
catalog) and the admin HTTP API under /_smimages/ that exposes them on a server started with --enable-admin.

    GET    /_smimages/time                  {"now": 1767225600.0}
    POST   /_smimages/time/advance          {"seconds": 30}            -> {"now": ...}
    POST   /_smimages/time/settle                                      -> {"now": ...}
    GET    /_smimages/faults                                           -> {"faults": [fault, ...]}
    POST   /_smimages/faults                {"type": "fail", "operation": "CreateImageVersion", ...} -> 201 fault
    DELETE /_smimages/faults                                           -> {"removed": n}
    DELETE /_smimages/faults/<id>                                      -> {"removed": 1}
    GET    /_smimages/state                                            -> catalog document (smimages/snapshot.py)
    PUT    /_smimages/state                 catalog document           -> {"images": n}
    POST   /_smimages/reset                                            -> {}   (empty catalog, no faults)

Without --enable-admin none of these exist: the paths answer exactly as any other unknown path does."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from . import snapshot
from .app import LOCKED
from .errors import ServiceError
from .faults import FaultError, Faults
from .operations.service import Service
from .protocol.wire import parse_body
from .store import Busy, Unavailable
from .worker import TransitionWorker

log = logging.getLogger("smimages.admin")
PREFIX = "/_smimages/"
MAX_SETTLE_PASSES = 100_000
T = TypeVar("T")


class ControlError(ValueError):
    """A control request that cannot be carried out (the message says why)."""


def _at_once(fn: Callable[[], T]) -> T:
    return fn()


class Control:
    """Time, faults and state of one Service, for tests. Each control takes its turn with the request path through
    `turn` (InProcess: its lock; a server: its request executor), so none races a request."""

    def __init__(self, service: Service, faults: Faults, turn: Callable[[Callable[[], Any]], Any] = _at_once):
        self.service = service
        self._faults = faults
        self._turn = turn

    @property
    def faults(self) -> Faults:
        """The armed faults: fail(...), error(...), throttle(...), concurrent_modification(...), clear()."""
        return self._faults

    def now(self) -> float:
        return self.service.now()

    def advance(self, seconds: float) -> float:
        """Moves the service clock `seconds` ahead (never past 9999-12-31T23:59:59.999Z, where AWS timestamps
        end); resources whose transition falls due show their final status. Returns the new time."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise ControlError("seconds must be a finite number >= 0")
        try:
            step = float(seconds)
        except OverflowError:  # an int past float's range
            step = math.inf
        if not math.isfinite(step) or step < 0:
            raise ControlError("seconds must be a finite number >= 0")
        return float(self._turn(lambda: self._advance(step)))

    def _advance(self, seconds: float) -> float:
        advance = getattr(self.service.clock, "advance", None)
        if advance is None:
            raise ControlError("this service's clock cannot be moved")
        try:
            advance(seconds)
        except ValueError as exc:  # the clock's own limits
            raise ControlError(str(exc)) from None
        return self.service.now()

    def settle(self) -> float:
        """Completes every pending transition: moves the clock to when the last one falls due (never back) and
        writes them all down; returns the new time."""
        return float(self._turn(self._settle))

    def _settle(self) -> float:
        worker = TransitionWorker(self.service)  # no executor: runs right here, on the caller's turn
        for _ in range(MAX_SETTLE_PASSES):
            due = worker.run_once()
            if due is None:
                return self.service.now()
            now = self.service.now()
            if due > now:
                self._advance(due - now)
                if self.service.now() < due:  # the clock rounds to the millisecond
                    self._advance(0.001)
        raise ControlError("transitions kept falling due; gave up settling")

    def dump(self, path: str | Path | None = None) -> dict[str, Any]:
        """The whole catalog as a JSON-ready document (smimages/snapshot.py), also written to `path` when given."""
        document: dict[str, Any] = self._turn(lambda: snapshot.dump(self.service.store, path))
        return document

    def load(self, source: str | Path | dict[str, Any], replace: bool = True) -> int:
        """Replaces the catalog with a document (a dict or a JSON file path); returns how many images it has."""
        return int(self._turn(lambda: snapshot.load(self.service.store, source, self.service.now(), replace)))

    def reset(self) -> None:
        """An empty catalog and no faults."""
        self._faults.clear()
        empty = {"format": snapshot.FORMAT, "version": snapshot.VERSION}
        self._turn(lambda: snapshot.import_state(self.service.store, empty, self.service.now()))


class AdminAPI:
    """The HTTP face of a Control; handle() answers (status, JSON-ready body) for a path under PREFIX."""

    def __init__(self, control: Control):
        self.control = control

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, object]:
        """Every answer is JSON: 400 for what cannot be carried out (the message says why), 413 for a body over
        wire.MAX_BODY_BYTES, 503 while the database is unavailable or locked; a 500 would be a bug, and is logged."""
        route = path[len(PREFIX) :].strip("/").split("/")
        try:
            # JSON as AWS requests are read: an object, nested at most wire.MAX_JSON_DEPTH deep, finite numbers,
            # no repeated member (an empty body is {})
            payload = parse_body(body)
        except ServiceError as exc:
            return exc.status, {"error": exc.message or "the body is not a JSON object"}
        try:
            return self._route(method, route, payload)
        except (ControlError, FaultError, snapshot.SnapshotError) as exc:
            return 400, {"error": str(exc)}
        except Busy:
            return 503, {"error": f"the database is busy: {LOCKED}; try again"}
        except Unavailable as exc:
            return 503, {"error": f"the database is unavailable: {exc.reason}; try again"}
        except Exception:
            log.exception("admin %s %s failed", method, path)
            return 500, {"error": "internal failure (see the server log)"}

    def _route(self, method: str, route: list[str], payload: dict[str, Any]) -> tuple[int, object]:
        control = self.control
        match route, method:
            case ["time"], "GET":
                return 200, {"now": control.now()}
            case ["time", "advance"], "POST":
                # any JSON value: advance refuses what is not a number of seconds
                seconds: Any = payload.get("seconds")
                return 200, {"now": control.advance(seconds)}
            case ["time", "settle"], "POST":
                return 200, {"now": control.settle()}
            case ["faults"], "GET":
                return 200, {"faults": [fault.to_dict() for fault in control.faults.list()]}
            case ["faults"], "POST":
                return 201, control.faults.add(payload).to_dict()
            case ["faults"], "DELETE":
                removed = len(control.faults)
                control.faults.clear()
                return 200, {"removed": removed}
            case ["faults", fault_id], "DELETE":
                if control.faults.remove(fault_id):
                    return 200, {"removed": 1}
                return 404, {"error": f"no armed fault {fault_id}"}
            case ["state"], "GET":
                return 200, control.dump()
            case ["state"], "PUT":
                return 200, {"images": control.load(payload)}
            case ["reset"], "POST":
                control.reset()
                return 200, {}
            case ((["time"] | ["time", "advance" | "settle"] | ["faults"] | ["faults", _] | ["state"] | ["reset"]), _):
                return 405, {"error": f"{method} is not allowed here"}
        return 404, {"error": "no such admin resource"}
