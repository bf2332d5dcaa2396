"""What a resolution ends in: the outcome kinds, their FailureReason texts (all of them, only here) and Resolution."""

import enum
from dataclasses import dataclass

from ..domain.limits import MAX_FAILURE_REASON

MAX_DETAIL = 200  # a registry's own words are cut to this many characters inside a FailureReason

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


class Outcome(enum.StrEnum):
    """How a resolution ended. Every value but FOUND ends the image version in CREATE_FAILED."""

    FOUND = "found"
    INVALID_REFERENCE = "invalid_reference"
    INSECURE_REGISTRY = "insecure_registry"
    REPOSITORY_NOT_FOUND = "repository_not_found"
    IMAGE_NOT_FOUND = "image_not_found"
    AUTHENTICATION_REQUIRED = "authentication_required"
    CREDENTIALS_REFUSED = "credentials_refused"
    UNREACHABLE = "unreachable"
    REGISTRY_ERROR = "registry_error"
    OCI_MANIFEST = "oci_manifest"
    UNSUPPORTED_MANIFEST = "unsupported_manifest"
    PLATFORM_NOT_FOUND = "platform_not_found"

    @property
    def transient(self) -> bool:
        """The registry could not answer now (network, 5xx); asking again later may give another outcome."""
        return self in (Outcome.UNREACHABLE, Outcome.REGISTRY_ERROR)


_PREFIX = "Failed to pull the container image '{image}': "
_SCHEMA2 = "Use an image with a Docker image manifest V2, schema 2"

# The FailureReason texts. docs/registry.md lists them verbatim; a test keeps the two in step.
FAILURE_TEXTS: dict[Outcome, str] = {
    Outcome.INVALID_REFERENCE: _PREFIX + "BaseImage is not a valid image URI ({detail}). Use "
    "<registry>/<repository>:<tag> or <registry>/<repository>@sha256:<digest>.",
    Outcome.INSECURE_REGISTRY: _PREFIX + "the registry endpoint {url} uses plain HTTP, which is allowed only for "
    "loopback addresses unless plain HTTP is explicitly allowed.",
    Outcome.REPOSITORY_NOT_FOUND: _PREFIX + "the repository '{repository}' does not exist in the registry {registry}.",
    Outcome.IMAGE_NOT_FOUND: _PREFIX + "the {what} does not exist in the repository '{repository}' "
    "in the registry {registry}.",
    Outcome.AUTHENTICATION_REQUIRED: _PREFIX + "the registry {registry} requires authentication and no credentials "
    "are configured for it.",
    Outcome.CREDENTIALS_REFUSED: _PREFIX + "the registry {registry} refused the configured credentials "
    "(HTTP {status}).",
    Outcome.UNREACHABLE: _PREFIX + "the registry {registry} could not be reached ({detail}).",
    Outcome.REGISTRY_ERROR: _PREFIX + "the registry {registry} returned an error ({detail}).",
    Outcome.OCI_MANIFEST: _PREFIX
    + "the image has an {oci_kind} ({media_type}), which is not supported. "
    + _SCHEMA2
    + ", for example one pushed with skopeo copy --format v2s2.",
    Outcome.UNSUPPORTED_MANIFEST: _PREFIX + "the manifest media type {media_type} is not supported. " + _SCHEMA2 + ".",
    Outcome.PLATFORM_NOT_FOUND: _PREFIX + "the manifest list has no image for the platform {platform}.",
}


def failure_reason(outcome: Outcome, image: str, **fields: object) -> str:
    """The FailureReason for an outcome: its template filled in, details cut short, at most 1024 characters."""
    values = {key: _cut(str(value)) for key, value in fields.items()}
    text = FAILURE_TEXTS[outcome].format(image=image, **values)
    return text if len(text) <= MAX_FAILURE_REASON else text[: MAX_FAILURE_REASON - 3] + "..."


def _cut(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= MAX_DETAIL else value[: MAX_DETAIL - 3] + "..."


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving one BaseImage.

    FOUND: `container_image` is `<registry>/<repository>@<digest>` (the BaseImage's own registry host, even when
    a mirror answered) and `digest` is the registry's Docker-Content-Digest. Otherwise `failure_reason` is the text
    for the image version's FailureReason and `container_image` is None.
    """

    base_image: str
    outcome: Outcome
    container_image: str | None = None
    failure_reason: str | None = None
    digest: str | None = None
    media_type: str | None = None
    platform_digest: str | None = None  # the linux/amd64 manifest checked inside a Docker manifest list

    @property
    def found(self) -> bool:
        return self.outcome is Outcome.FOUND

    @property
    def transient(self) -> bool:
        return self.outcome.transient
