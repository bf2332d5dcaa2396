"""What operations run against: the store, the clock and the settings, and the policies a test assembly injects."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from ..context import Outcomes, RequestContext
from ..domain.lifecycle import IMAGE_TRANSITIONS, VERSION_TRANSITIONS, awaiting, begin
from ..store import CatalogStore

# operation -> (its resource's transition table, the action it starts)
LIFECYCLES = {
    "CreateImage": (IMAGE_TRANSITIONS, "create"),
    "UpdateImage": (IMAGE_TRANSITIONS, "update"),
    "DeleteImage": (IMAGE_TRANSITIONS, "delete"),
    "CreateImageVersion": (VERSION_TRANSITIONS, "create"),
    "DeleteImageVersion": (VERSION_TRANSITIONS, "delete"),
}


class RegistryCheck(Protocol):
    """The part of the registry settings (smimages.registry.RegistrySettings) operations read."""

    @property
    def check(self) -> bool: ...


@dataclass(frozen=True)
class Settings:
    """Behavior knobs; a quota of 0 means unlimited.

    registry: the --registry-* settings (smimages.registry.RegistrySettings); with its check on, CreateImageVersion
    leaves the version CREATING until the lifecycle worker has resolved its BaseImage (docs/registry.md).
    registry_lease: seconds a worker holds a claimed resolution before another may take it over (None: the
    registry's time budget plus a margin)."""

    transition_delay: float = 0.0
    max_images: int = 0
    max_versions_per_image: int = 0
    registry: RegistryCheck | None = None
    registry_lease: float | None = None

    @property
    def registry_check(self) -> bool:
        return self.registry is not None and self.registry.check


class CallPolicy(Protocol):
    """Injected around each call by a test assembly (smimages/faults.py): it may answer an error instead, and says
    how the call's lifecycles end. `around` returns None when it has nothing to say about this call."""

    def around(
        self, ctx: RequestContext, operation: str, request: dict[str, Any]
    ) -> AbstractContextManager[Outcomes] | None: ...


@dataclass
class Service:
    """One catalog: its store, its settings and the clock its lifecycles follow."""

    store: CatalogStore
    settings: Settings = Settings()
    clock: Callable[[], float] = time.time

    def now(self) -> float:
        """The clock to the millisecond, the precision AWS timestamps carry."""
        return round(self.clock(), 3)

    def begin(
        self,
        operation: str,
        ctx: RequestContext,
        image: str,
        version: int | None = None,
        base_image: str | None = None,
        wait: bool = False,
    ) -> dict[str, Any]:
        """The lifecycle columns of the resource `operation` starts now: it ends after the configured delay, in
        success or in the failure the call's outcomes (ctx.outcomes) chose for this image/version. With `wait` and no
        such failure, it has no due time yet: it stays in progress until a worker writes its outcome (the returned
        due_at is None then)."""
        transitions, action = LIFECYCLES[operation]
        failure = ctx.outcomes.failure(operation, ctx, image, version, base_image)
        if wait and failure is None:
            return awaiting(transitions, action, ctx.now)
        return begin(transitions, action, ctx.now, self.settings.transition_delay, failure)
