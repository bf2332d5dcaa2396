"""What operations run against: the store, the clock, the service settings and the armed faults."""
import time
from dataclasses import dataclass, field
from typing import Callable

from ..context import RequestContext
from ..domain.lifecycle import IMAGE_TRANSITIONS, VERSION_TRANSITIONS, awaiting, begin
from ..faults import Faults
from ..registry import RegistrySettings
from ..store import Store

# operation -> (its resource's transition table, the action it starts)
LIFECYCLES = {
    "CreateImage": (IMAGE_TRANSITIONS, "create"), "UpdateImage": (IMAGE_TRANSITIONS, "update"),
    "DeleteImage": (IMAGE_TRANSITIONS, "delete"), "CreateImageVersion": (VERSION_TRANSITIONS, "create"),
    "DeleteImageVersion": (VERSION_TRANSITIONS, "delete"),
}


@dataclass(frozen=True)
class Settings:
    """Behavior knobs; a quota of 0 means unlimited.

    registry: the --registry-* settings; with registry.check on, CreateImageVersion leaves the version CREATING
    until the lifecycle worker has resolved its BaseImage (docs/registry.md). registry_lease: seconds a worker
    holds a claimed resolution before another may take it over (None: the registry's time budget plus a margin)."""

    transition_delay: float = 0.0
    max_images: int = 0
    max_versions_per_image: int = 0
    registry: RegistrySettings = field(default_factory=RegistrySettings)
    registry_lease: float | None = None


@dataclass
class Service:
    """One catalog: its store, its settings and the clock its lifecycles follow."""

    store: Store
    settings: Settings = field(default_factory=Settings)
    clock: Callable[[], float] = time.time
    faults: Faults = field(default_factory=Faults)

    def now(self) -> float:
        """The clock to the millisecond, the precision AWS timestamps carry."""
        return round(self.clock(), 3)

    def begin(self, operation: str, ctx: RequestContext, image: str, version: int | None = None,
              base_image: str | None = None, wait: bool = False) -> dict:
        """The lifecycle columns of the resource `operation` starts now: it ends after the configured delay,
        in success or in the failure an armed fault (smimages/faults.py) chose for this image/version. With `wait`
        and no such fault, it has no due time yet: it stays in progress until a worker writes its outcome (the
        returned due_at is None then)."""
        transitions, action = LIFECYCLES[operation]
        failure = self.faults.failure(operation, ctx, image, version, base_image)
        if wait and failure is None:
            return awaiting(transitions, action, ctx.now)
        return begin(transitions, action, ctx.now, self.settings.transition_delay, failure)
