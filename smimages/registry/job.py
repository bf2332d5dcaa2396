"""The lifecycle worker's registry job: resolves the BaseImage of each version created with --registry-check on and
ends its CREATING in CREATED (ContainerImage pinned by digest) or CREATE_FAILED (a FailureReason).

Three phases (smimages/worker.py): claim one version under a lease in a short transaction, resolve it with no
transaction open, write the outcome in another short transaction if the lease is still ours. A worker killed in
between leaves the version to whichever worker claims it once the lease has expired; a version whose check was
claimed MAX_ATTEMPTS times without an outcome (workers dying on it) ends CREATE_FAILED instead of being tried on
forever. Registry trouble (unreachable, 5xx) is retried inside one resolution (--registry-retries), not across
passes: the outcome then stands, so a version never stays CREATING longer than one resolution's time limit."""

import logging
import os
import socket
import uuid
from typing import Any

from ..domain.lifecycle import VERSION_TRANSITIONS, answered
from ..store import CatalogTx, Claimed
from .client import RegistryClient
from .outcomes import Resolution
from .settings import RegistrySettings

log = logging.getLogger("smimages.registry")
MAX_ATTEMPTS = 3
LEASE_MARGIN = 30.0  # seconds a lease outlasts the longest resolution: the finishing transaction, thread scheduling
GAVE_UP = (
    "Failed to pull the container image '{image}': the registry check was interrupted {attempts} times "
    "(the worker running it stopped) and was given up."
)


def default_lease(settings: RegistrySettings) -> float:
    """A lease that outlasts any one resolution (timeout x (retries + 1), backoff included) by LEASE_MARGIN."""
    return settings.timeout * (settings.retries + 1) + LEASE_MARGIN


def new_owner() -> str:
    """Who holds a lease: host and process for people reading the table, plus a random part, since a restarted
    process (pid 1 in a container, say) may well get the pid of the one that died."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class ResolveVersions:
    """Checks the BaseImages of versions awaiting their registry check; one version per claim."""

    name = "registry-resolve"

    def __init__(self, settings: RegistrySettings, lease: float | None = None, client: RegistryClient | None = None):
        self.client = client or RegistryClient(settings)
        self.lease = default_lease(settings) if lease is None else lease
        self.owner = new_owner()

    def claim(self, tx: CatalogTx, now: float) -> tuple[list[Claimed], bool]:
        claimed = tx.claim_resolutions(self.owner, now, self.lease)
        items = []
        for item in claimed:
            if item.attempts > MAX_ATTEMPTS:
                log.warning(
                    "registry check of %s (version id %d) interrupted %d times; giving up",
                    item.base_image,
                    item.id,
                    item.attempts - 1,
                )
                reason = GAVE_UP.format(image=item.base_image, attempts=item.attempts - 1)
                tx.finish_resolution(item.id, self.owner, now, answered(VERSION_TRANSITIONS, "create", reason))
            else:
                items.append(item)
        return items, bool(claimed)  # more may be waiting: come straight back

    def run(self, item: Claimed) -> Resolution:
        return self.client.resolve(item.base_image)

    def finish(self, tx: CatalogTx, item: Claimed, outcome: Any, now: float) -> bool:
        found: Resolution = outcome
        reason = (
            None
            if found.found
            else (found.failure_reason or f"Failed to pull the container image '{item.base_image}'.")
        )
        written = tx.finish_resolution(
            item.id,
            self.owner,
            now,
            answered(VERSION_TRANSITIONS, "create", reason),
            found.container_image if found.found else None,
        )
        if written:
            log.info("registry check of %s: %s", item.base_image, found.outcome.value)
        else:
            log.info(
                "registry check of %s: %s, not written (the version is gone, being deleted, or was taken over "
                "after its lease expired)",
                item.base_image,
                found.outcome.value,
            )
        return written

    def next_due(self, tx: CatalogTx) -> float | None:
        return tx.next_resolution_due()
