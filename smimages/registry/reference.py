"""Parses a BaseImage into registry host, repository, tag and digest (the Docker reference grammar, host required)."""

import ipaddress
import re
from dataclasses import dataclass

DEFAULT_TAG = "latest"
# ContainerImage is at most 255 characters and ends in "@sha256:" + 64 hex digits.
PINNED_SUFFIX_LENGTH = len("@sha256:") + 64
MAX_NAME_LENGTH = 255 - PINNED_SUFFIX_LENGTH

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_COMPONENT = re.compile(rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*")
_DOMAIN_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = re.compile(rf"(?:{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]+))?")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")  # Docker's grammar: ASCII only (\w is Unicode)
DIGEST = re.compile(r"sha256:[a-f0-9]{64}")


class InvalidReference(ValueError):
    """A BaseImage that is not an image URI; `detail` says what is wrong, in a phrase."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class ImageReference:
    """`<registry>/<repository>[:<tag>][@sha256:<digest>]`; `tag` is "latest" when neither is given, None when
    only a digest is."""

    registry: str
    repository: str
    tag: str | None = DEFAULT_TAG
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What goes after /manifests/: the digest when pinned (a tag beside it is ignored), else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    def pinned(self, digest: str) -> str:
        """The digest-pinned URI, as ContainerImage holds it."""
        return f"{self.name}@{digest}"


def split_host_port(registry: str) -> tuple[str, int | None]:
    """`host[:port]` or `[v6]:port` -> (host without brackets, port or None)."""
    if registry.startswith("["):
        host, _, rest = registry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else None
    host, sep, port = registry.rpartition(":")
    return (host, int(port)) if sep else (registry, None)


def parse_registry_host(text: str) -> str:
    """Validates `host[:port]`; returns it unchanged or raises InvalidReference."""
    match = _HOST.fullmatch(text)
    if not match:
        raise InvalidReference(f"'{text}' is not a valid registry host")
    if text.startswith("["):
        try:
            ipaddress.IPv6Address(split_host_port(text)[0])
        except ValueError:
            raise InvalidReference(f"'{text}' is not a valid registry host") from None
    if match["port"] is not None and not 0 < int(match["port"]) < 65536:
        raise InvalidReference(f"the port in '{text}' is out of range")
    return text


def _looks_like_host(component: str) -> bool:
    """Docker's rule: the first path component is a registry host if it has a '.' or ':', or is localhost."""
    return "." in component or ":" in component or component == "localhost" or component.startswith("[")


def parse_reference(text: str) -> ImageReference:
    """Parses a BaseImage; raises InvalidReference. A registry host is required (no Docker Hub default)."""
    if not text or text != text.strip() or any(ch.isspace() for ch in text):
        raise InvalidReference("it is empty or contains whitespace")
    remainder, at, digest = text.partition("@")
    if at:
        if not DIGEST.fullmatch(digest):
            if not digest.startswith("sha256:"):
                raise InvalidReference("only sha256 digests are supported")
            raise InvalidReference("the digest must be sha256: followed by 64 lowercase hexadecimal digits")
    slash = remainder.find("/")
    if slash < 0 or not _looks_like_host(remainder[:slash]):
        raise InvalidReference("it does not start with a registry host")
    registry, path = remainder[:slash], remainder[slash + 1 :]
    parse_registry_host(registry)
    tag = None
    last = path.rfind(":")
    if last > path.rfind("/"):
        path, tag = path[:last], path[last + 1 :]
        if not _TAG.fullmatch(tag):
            raise InvalidReference(f"'{tag}' is not a valid tag")
    if not path:
        raise InvalidReference("the repository name is missing")
    for component in path.split("/"):
        if not _COMPONENT.fullmatch(component):
            if _COMPONENT.fullmatch(component.lower()):
                raise InvalidReference("repository names must be lowercase")
            raise InvalidReference(f"'{path}' is not a valid repository name")
    if len(registry) + 1 + len(path) > MAX_NAME_LENGTH:
        raise InvalidReference(
            f"the registry and repository together exceed {MAX_NAME_LENGTH} characters, "
            "so the digest-pinned ContainerImage would exceed 255"
        )
    if tag is None and not at:
        tag = DEFAULT_TAG
    return ImageReference(registry=registry, repository=path, tag=tag, digest=digest if at else None)
