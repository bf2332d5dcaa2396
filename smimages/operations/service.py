"""What operations run against: the store, the clock and the service settings."""
import time
from dataclasses import dataclass, field
from typing import Callable

from ..store import Store


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

    def now(self) -> float:
        """The clock to the millisecond, the precision AWS timestamps carry."""
        return round(self.clock(), 3)
