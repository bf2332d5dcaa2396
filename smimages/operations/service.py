"""What operations run against: the store, the clock, the service settings and the armed faults."""
import time
from dataclasses import dataclass, field
from typing import Callable

from ..context import RequestContext
from ..domain.lifecycle import IMAGE_TRANSITIONS, VERSION_TRANSITIONS, begin
from ..faults import Faults
from ..store import Store

# operation -> (its resource's transition table, the action it starts)
LIFECYCLES = {
    "CreateImage": (IMAGE_TRANSITIONS, "create"), "UpdateImage": (IMAGE_TRANSITIONS, "update"),
    "DeleteImage": (IMAGE_TRANSITIONS, "delete"), "CreateImageVersion": (VERSION_TRANSITIONS, "create"),
    "DeleteImageVersion": (VERSION_TRANSITIONS, "delete"),
}


@dataclass(frozen=True)
class Settings:
    """Behavior knobs; a quota of 0 means unlimited."""

    transition_delay: float = 0.0
    max_images: int = 0
    max_versions_per_image: int = 0


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
              base_image: str | None = None) -> dict:
        """The lifecycle columns of the resource `operation` starts now: it ends after the configured delay,
        in success or in the failure an armed fault (smimages/faults.py) chose for this image/version."""
        transitions, action = LIFECYCLES[operation]
        failure = self.faults.failure(operation, ctx, image, version, base_image)
        return begin(transitions, action, ctx.now, self.settings.transition_delay, failure)
