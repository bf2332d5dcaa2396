"""Registry settings: what `--registry-*` flags and SMIMAGES_REGISTRY_* variables configure, validated once."""

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from ..net import is_loopback
from .credentials import CredentialStore
from .reference import InvalidReference, parse_registry_host, split_host_port

DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 2
ENV_PREFIX = "SMIMAGES_REGISTRY_"
_ON = {"on", "true", "1", "yes"}
_OFF = {"off", "false", "0", "no", ""}


@dataclass(frozen=True)
class Endpoint:
    """Where a registry's HTTP API v2 is served: scheme, host and port."""

    scheme: str
    host: str  # without brackets for IPv6
    port: int

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}"

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @classmethod
    def from_url(cls, url: str) -> "Endpoint":
        """`http(s)://host[:port]` with no path, query, fragment or user; raises ValueError."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"'{url}' must start with http:// or https://")
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or not parts.hostname:
            raise ValueError(f"'{url}' must be scheme://host[:port] with nothing after it")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"the port in '{url}' is out of range") from None
        return cls(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))


def parse_mirror(text: str) -> tuple[str, str]:
    """`HOST=URL` -> (lowercased host[:port], normalized URL); raises ValueError with a message for a user."""
    host, sep, url = text.partition("=")
    host, url = host.strip(), url.strip()
    if not sep or not host or not url:
        raise ValueError(
            f"registry mirror '{text}' must be HOST=URL, e.g. "
            "123456789012.dkr.ecr.us-east-1.amazonaws.com=http://127.0.0.1:5000"
        )
    try:
        parse_registry_host(host)
    except InvalidReference as exc:
        raise ValueError(f"registry mirror '{text}': {exc.detail}") from None
    try:
        endpoint = Endpoint.from_url(url)
    except ValueError as exc:
        raise ValueError(f"registry mirror '{text}': {exc}") from None
    return host.lower(), endpoint.url


def parse_switch(value: str | bool, name: str) -> bool:
    """on/off (also true/false, 1/0, yes/no) -> bool; raises ValueError."""
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in _ON:
        return True
    if lowered in _OFF:
        return False
    raise ValueError(f"{name} must be on or off, not '{value}'")


@dataclass(frozen=True)
class RegistrySettings:
    """How BaseImages are resolved. Constructing one validates it (ValueError with a message for the user).

    check       --registry-check off|on        resolve BaseImage in the registry at all (off: no network)
    mirrors     --registry-mirror HOST=URL     registry host -> endpoint URL that serves it (repeatable)
    auth_file   --registry-auth-file PATH      docker config.json style credentials
    auth_json   SMIMAGES_REGISTRY_AUTH         the same JSON, inline (environment only)
    allow_http  --registry-allow-http          plain http also for non-loopback endpoints
    ca_file     --registry-ca-file PATH        PEM bundle trusted for https (default: the system's)
    timeout     --registry-timeout SECONDS     each connect/read; one resolution takes at most timeout*(retries+1)
    retries     --registry-retries N           extra attempts after a connection error, timeout, 429 or 5xx
    """

    check: bool = False
    # given as {host: URL}, HOST=URL strings or (host, URL) pairs; stored as sorted (host, URL) pairs
    mirrors: Mapping[str, str] | Iterable[str | tuple[str, str]] = ()
    auth_file: Path | None = None
    auth_json: str | None = None
    allow_http: bool = False
    ca_file: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES

    def __post_init__(self) -> None:
        given = (self.mirrors,) if isinstance(self.mirrors, str) else self.mirrors
        pairs = (
            given.items()
            if isinstance(given, Mapping)
            else (item if isinstance(item, tuple) else parse_mirror(item) for item in given)
        )
        mirrors: dict[str, str] = {}
        for host, url in pairs:
            host, url = parse_mirror(f"{host}={url}")
            if host in mirrors and mirrors[host] != url:
                raise ValueError(f"registry mirror for {host} given twice ({mirrors[host]} and {url})")
            mirrors[host] = url
        object.__setattr__(self, "mirrors", tuple(sorted(mirrors.items())))
        if self.auth_file is not None:
            object.__setattr__(self, "auth_file", Path(self.auth_file).expanduser())
        if self.ca_file is not None:
            ca_file = Path(self.ca_file).expanduser()
            if not ca_file.is_file():
                raise ValueError(f"registry CA file {ca_file} does not exist")
            object.__setattr__(self, "ca_file", ca_file)
        if not self.timeout > 0:
            raise ValueError(f"registry timeout must be a positive number of seconds, not {self.timeout}")
        if not 0 <= self.retries <= 10:
            raise ValueError(f"registry retries must be between 0 and 10, not {self.retries}")
        self.credentials().load()  # fails now, with the file's name, rather than at the first resolution

    @classmethod
    def from_options(
        cls,
        *,
        check: str | bool = "off",
        mirrors: Iterable[str] = (),
        auth_file: str | None = None,
        auth_json: str | None = None,
        allow_http: bool = False,
        ca_file: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
    ) -> "RegistrySettings":
        """From the CLI flags as click hands them over (check as "on"/"off", mirrors as HOST=URL strings)."""
        return cls(
            check=parse_switch(check, "--registry-check"),
            mirrors=tuple(mirrors),
            auth_file=Path(auth_file) if auth_file else None,
            auth_json=auth_json or None,
            allow_http=allow_http,
            ca_file=Path(ca_file) if ca_file else None,
            timeout=float(timeout),
            retries=int(retries),
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "RegistrySettings":
        """From SMIMAGES_REGISTRY_* alone (MIRROR holds HOST=URL pairs separated by whitespace)."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return env.get(ENV_PREFIX + name) or None

        try:
            timeout = float(get("TIMEOUT") or DEFAULT_TIMEOUT)
            retries = int(get("RETRIES") or DEFAULT_RETRIES)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}TIMEOUT must be a number and {ENV_PREFIX}RETRIES an integer") from None
        return cls.from_options(
            check=get("CHECK") or "off",
            mirrors=(get("MIRROR") or "").split(),
            auth_file=get("AUTH_FILE"),
            auth_json=get("AUTH"),
            allow_http=parse_switch(get("ALLOW_HTTP") or "off", ENV_PREFIX + "ALLOW_HTTP"),
            ca_file=get("CA_FILE"),
            timeout=timeout,
            retries=retries,
        )

    def endpoint_for(self, registry: str) -> tuple[Endpoint, bool]:
        """The endpoint serving a registry host, and whether a mirror chose it. Without a mirror: http for a
        loopback host, https for any other."""
        # __post_init__ stores mirrors as sorted (host, URL) pairs, whatever form the field was given in
        url = dict(cast("tuple[tuple[str, str], ...]", self.mirrors)).get(registry.lower())
        if url is not None:
            return Endpoint.from_url(url), True
        host, port = split_host_port(registry)
        scheme = "http" if is_loopback(host) else "https"
        return Endpoint(scheme, host, port or (80 if scheme == "http" else 443)), False

    def http_allowed(self, endpoint: Endpoint) -> bool:
        return endpoint.scheme == "https" or endpoint.loopback or self.allow_http

    def credentials(self) -> CredentialStore:
        return CredentialStore(self.auth_file, self.auth_json)
