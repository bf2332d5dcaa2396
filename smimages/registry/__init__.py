"""Container registry integration: resolves a BaseImage to a digest-pinned ContainerImage or a FailureReason.

    settings = RegistrySettings.from_options(check="on", mirrors=["HOST=URL"], auth_file=...)
    client = RegistryClient(settings)          # one per server; thread-safe, caches tokens
    resolution = client.resolve(base_image)    # blocking, bounded; never raises for registry trouble
    if resolution.found: resolution.container_image   else: resolution.failure_reason

See docs/registry.md.
"""

from .client import RegistryClient, resolve
from .credentials import Credentials, CredentialStore
from .outcomes import FAILURE_TEXTS, Outcome, Resolution
from .reference import ImageReference, InvalidReference, parse_reference
from .settings import Endpoint, RegistrySettings, parse_mirror

__all__ = [
    "FAILURE_TEXTS",
    "CredentialStore",
    "Credentials",
    "Endpoint",
    "ImageReference",
    "InvalidReference",
    "Outcome",
    "RegistryClient",
    "RegistrySettings",
    "Resolution",
    "parse_mirror",
    "parse_reference",
    "resolve",
]
