"""Resolves a BaseImage through the OCI Distribution HTTP API v2: mirrors, anonymous/Basic/Bearer auth, manifests."""

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from .credentials import Credentials, CredentialStore
from .outcomes import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    Outcome,
    Resolution,
    failure_reason,
)
from .reference import DIGEST, ImageReference, InvalidReference, parse_reference
from .settings import Endpoint, RegistrySettings
from .transport import Deadline, InsecureEndpoint, Response, Transport, TransportError

log = logging.getLogger("smimages.registry")

PLATFORM = ("linux", "amd64")  # the entry of a Docker manifest list that SageMaker would run
ACCEPT = ", ".join([DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_MANIFEST, OCI_INDEX])
SCHEMA1_TYPES = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)
DEFAULT_TOKEN_SECONDS = 60
_CHALLENGE_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))', re.ASCII)


class _Failed(Exception):
    """Ends a resolution with an outcome; `fields` fill the outcome's FailureReason template."""

    def __init__(self, outcome: Outcome, **fields: object):
        super().__init__(outcome.value)
        self.outcome = outcome
        self.fields = fields


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "bearer", "basic" or another scheme, lowercased
    params: dict[str, str]


def parse_challenge(header: str | None) -> Challenge | None:
    """`Bearer realm="...",service="...",scope="..."` -> Challenge; None without a header."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    params = {
        m[1].lower(): (m[2].replace('\\"', '"') if m[2] is not None else m[3]) for m in _CHALLENGE_PARAM.finditer(rest)
    }
    return Challenge(scheme.lower(), params)


@dataclass
class _Target:
    """One resolution in progress: the reference, the endpoint serving it, how to name it in texts."""

    ref: ImageReference
    endpoint: Endpoint
    display: str  # the registry as FailureReasons name it
    deadline: Deadline
    credentials: Credentials | None


class RegistryClient:
    """Resolves BaseImages. Thread-safe and blocking; keep one per server, it caches tokens between calls."""

    def __init__(self, settings: RegistrySettings, transport: Transport | None = None):
        self.settings = settings
        self.transport = transport or Transport(settings)
        self._credentials: CredentialStore = settings.credentials()
        self._lock = threading.Lock()
        self._auth: dict[tuple[str, str], tuple[str, float]] = {}  # (endpoint, repository) -> (header, expiry)

    def resolve(self, base_image: str) -> Resolution:
        """Reads the image's manifest and returns what it found, or why not. Never raises for registry trouble;
        takes at most settings.timeout * (settings.retries + 1) seconds."""
        try:
            ref = parse_reference(base_image)
        except InvalidReference as exc:
            return self._failed(base_image, Outcome.INVALID_REFERENCE, detail=exc.detail)
        endpoint, mirrored = self.settings.endpoint_for(ref.registry)
        target = _Target(
            ref,
            endpoint,
            f"{ref.registry} (mirror {endpoint.url})" if mirrored else ref.registry,
            Deadline(self.settings.timeout * (self.settings.retries + 1)),
            self._credentials.lookup(endpoint.netloc, ref.registry)
            if mirrored
            else self._credentials.lookup(ref.registry),
        )
        try:
            resolution = self._resolve(base_image, target)
        except _Failed as failed:
            fields = {"registry": target.display, "repository": ref.repository, **failed.fields}
            return self._failed(base_image, failed.outcome, **fields)
        except Exception as exc:  # a bug here must not leave a version CREATING forever
            log.exception("resolving %s failed unexpectedly", base_image)
            return self._failed(
                base_image,
                Outcome.REGISTRY_ERROR,
                registry=target.display,
                detail=f"unexpected {exc.__class__.__name__}",
            )
        log.info("resolved %s to %s", base_image, resolution.container_image)
        return resolution

    def _failed(self, base_image: str, outcome: Outcome, **fields: object) -> Resolution:
        reason = failure_reason(outcome, base_image, **fields)
        log.info("could not resolve %s: %s", base_image, reason)
        return Resolution(base_image, outcome, failure_reason=reason)

    # -- manifests ---------------------------------------------------------------------------------------------

    def _resolve(self, base_image: str, target: _Target) -> Resolution:
        ref = target.ref
        response = self._get(target, f"/v2/{ref.repository}/manifests/{ref.reference}", ACCEPT)
        if response.status == 404:
            raise self._not_found(target, response)
        if response.status != 200:
            raise _Failed(Outcome.REGISTRY_ERROR, detail=_describe(response))
        media_type, manifest = _manifest(response)
        digest = _digest(response, expected=ref.digest)
        if media_type == DOCKER_MANIFEST:
            return Resolution(
                base_image, Outcome.FOUND, container_image=ref.pinned(digest), digest=digest, media_type=media_type
            )
        if media_type == DOCKER_MANIFEST_LIST:
            platform_digest = self._check_platform(target, manifest)
            return Resolution(
                base_image,
                Outcome.FOUND,
                container_image=ref.pinned(digest),
                digest=digest,
                media_type=media_type,
                platform_digest=platform_digest,
            )
        raise _unsupported(media_type)

    def _check_platform(self, target: _Target, manifest: dict[str, Any]) -> str:
        """The digest of the list's linux/amd64 entry, after checking it is there and is schema 2."""
        # mypy does not narrow a repeated .get() call: the isinstance test makes this a list
        entries = cast("list[Any]", manifest.get("manifests") if isinstance(manifest.get("manifests"), list) else [])
        for entry in entries:
            platform = entry.get("platform") if isinstance(entry, dict) else None
            if isinstance(platform, dict) and (platform.get("os"), platform.get("architecture")) == PLATFORM:
                break
        else:
            raise _Failed(Outcome.PLATFORM_NOT_FOUND, platform="/".join(PLATFORM))
        child = entry.get("digest")
        if not isinstance(child, str) or not DIGEST.fullmatch(child):
            raise _Failed(Outcome.REGISTRY_ERROR, detail="the manifest list has an entry without a valid digest")
        if entry.get("mediaType") in (OCI_MANIFEST, OCI_INDEX):
            raise _unsupported(entry["mediaType"])
        response = self._get(target, f"/v2/{target.ref.repository}/manifests/{child}", ACCEPT)
        if response.status == 404:
            raise _Failed(Outcome.IMAGE_NOT_FOUND, what=f"{'/'.join(PLATFORM)} manifest {child} of the manifest list")
        if response.status != 200:
            raise _Failed(Outcome.REGISTRY_ERROR, detail=_describe(response))
        media_type, _ = _manifest(response)
        _digest(response, expected=child)
        if media_type != DOCKER_MANIFEST:
            raise _unsupported(media_type)
        return child

    def _not_found(self, target: _Target, response: Response) -> _Failed:
        """404 for a manifest: the repository is missing (NAME_UNKNOWN, here or from tags/list) or the tag/digest."""
        ref = target.ref
        missing_repo = _error_code(response) == "NAME_UNKNOWN"
        if not missing_repo:
            try:
                probe = self._get(target, f"/v2/{ref.repository}/tags/list", "application/json")
                missing_repo = probe.status == 404 and _error_code(probe) == "NAME_UNKNOWN"
            except _Failed:
                pass
        if missing_repo:
            return _Failed(Outcome.REPOSITORY_NOT_FOUND)
        return _Failed(
            Outcome.IMAGE_NOT_FOUND, what=f"image with digest {ref.digest}" if ref.digest else f"tag '{ref.tag}'"
        )

    # -- HTTP with authentication ------------------------------------------------------------------------------

    def _get(self, target: _Target, path: str, accept: str) -> Response:
        """GET on the target's endpoint, answering an auth challenge once; ends the resolution when refused."""
        key = (target.endpoint.url, target.ref.repository)
        headers = {"Accept": accept}
        cached = self._cached_auth(key)
        if cached:
            headers["Authorization"] = cached
        response = self._send(target, target.endpoint.url + path, headers)
        if response.status == 401:
            self._forget_auth(key)
            challenge = parse_challenge(response.headers.get("WWW-Authenticate"))
            authorization, lifetime = self._answer(target, challenge)
            response = self._send(target, target.endpoint.url + path, {**headers, "Authorization": authorization})
            if response.status not in (401, 403):
                self._remember_auth(key, authorization, lifetime)
        if response.status in (401, 403):
            raise self._refused(target, response.status)
        return response

    def _answer(self, target: _Target, challenge: Challenge | None) -> tuple[str, float]:
        """The Authorization header answering a challenge, and for how many seconds it may be reused."""
        creds = target.credentials
        if challenge is not None and challenge.scheme == "bearer" and challenge.params.get("realm"):
            return self._token(target, challenge)
        if challenge is not None and challenge.scheme not in ("basic", "bearer"):
            raise _Failed(
                Outcome.REGISTRY_ERROR, detail=f"unsupported authentication scheme {challenge.scheme.capitalize()}"
            )
        if creds is None:
            raise _Failed(Outcome.AUTHENTICATION_REQUIRED)
        return creds.basic(), float("inf")

    def _token(self, target: _Target, challenge: Challenge) -> tuple[str, float]:
        """The Bearer token flow: GET realm?service=...&scope=..., with Basic credentials when configured."""
        realm = challenge.params["realm"]
        scope = challenge.params.get("scope") or f"repository:{target.ref.repository}:pull"
        params: dict[str, str | list[str]] = {"scope": scope.split()}
        if challenge.params.get("service"):
            params["service"] = challenge.params["service"]
        headers = {"Accept": "application/json"}
        if target.credentials is not None:
            headers["Authorization"] = target.credentials.basic()
        response = self._send(target, realm, headers, params)
        if response.status in (401, 403):
            raise self._refused(target, response.status)
        if response.status != 200:
            raise _Failed(Outcome.REGISTRY_ERROR, detail=f"the token service {realm} answered " + _describe(response))
        try:
            answer = json.loads(response.body)
            token = answer.get("token") or answer.get("access_token")
            lifetime = float(answer.get("expires_in") or DEFAULT_TOKEN_SECONDS)
        except (ValueError, AttributeError, TypeError):
            token = None
        if not isinstance(token, str) or not token:
            raise _Failed(Outcome.REGISTRY_ERROR, detail=f"the token service {realm} answered without a token")
        return f"Bearer {token}", lifetime

    def _refused(self, target: _Target, status: int) -> _Failed:
        if target.credentials is None:
            return _Failed(Outcome.AUTHENTICATION_REQUIRED)
        return _Failed(Outcome.CREDENTIALS_REFUSED, status=status)

    def _send(
        self, target: _Target, url: str, headers: dict[str, str], params: Mapping[str, str | list[str]] | None = None
    ) -> Response:
        try:
            return self.transport.get(url, headers, target.deadline, params)
        except InsecureEndpoint as exc:
            raise _Failed(Outcome.INSECURE_REGISTRY, url=exc.url) from None
        except TransportError as exc:
            raise _Failed(Outcome.UNREACHABLE, detail=exc.detail) from None

    def _cached_auth(self, key: tuple[str, str]) -> str | None:
        with self._lock:
            header, expiry = self._auth.get(key, (None, 0.0))
            return header if expiry > time.monotonic() else None

    def _remember_auth(self, key: tuple[str, str], header: str, lifetime: float) -> None:
        with self._lock:
            self._auth[key] = (header, time.monotonic() + max(lifetime - 10, lifetime / 2))

    def _forget_auth(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._auth.pop(key, None)


def _manifest(response: Response) -> tuple[str, dict[str, Any]]:
    """(media type, parsed manifest): from Content-Type, else the manifest's own mediaType/schemaVersion."""
    try:
        manifest = json.loads(response.body)
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict):
        raise _Failed(Outcome.REGISTRY_ERROR, detail="the manifest is not a JSON object")
    content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    media_type = manifest.get("mediaType")
    if content_type and content_type not in ("application/json", "application/octet-stream", "text/plain"):
        media_type = content_type
    if not isinstance(media_type, str) or not media_type:
        version = manifest.get("schemaVersion")
        if version == 1:
            media_type = SCHEMA1_TYPES[0]
        elif version == 2:  # an OCI manifest or index may omit mediaType
            media_type = OCI_INDEX if "manifests" in manifest else OCI_MANIFEST
        else:
            media_type = content_type or "(none)"
    return media_type, manifest


def _digest(response: Response, expected: str | None) -> str:
    """The registry's Docker-Content-Digest, checked against the bytes received (and the pinned digest)."""
    computed = "sha256:" + hashlib.sha256(response.body).hexdigest()
    header = (response.headers.get("Docker-Content-Digest") or "").strip()
    digest = header or computed
    if digest != computed or (expected is not None and digest != expected):
        raise _Failed(Outcome.REGISTRY_ERROR, detail=f"the manifest does not match its digest {expected or digest}")
    return digest


def _unsupported(media_type: str) -> _Failed:
    if media_type in (OCI_MANIFEST, OCI_INDEX):
        kind = "OCI image index" if media_type == OCI_INDEX else "OCI image manifest"
        return _Failed(Outcome.OCI_MANIFEST, media_type=media_type, oci_kind=kind)
    return _Failed(Outcome.UNSUPPORTED_MANIFEST, media_type=media_type)


def _errors(response: Response) -> list[dict[str, Any]]:
    try:
        errors = json.loads(response.body).get("errors")
    except (ValueError, AttributeError):
        return []
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _error_code(response: Response) -> str | None:
    errors = _errors(response)
    return errors[0].get("code") if errors else None


def _describe(response: Response) -> str:
    """`HTTP 503` or `HTTP 400 MANIFEST_INVALID: manifest invalid`."""
    errors = _errors(response)
    if not errors:
        return f"HTTP {response.status}"
    first = errors[0]
    return f"HTTP {response.status} {first.get('code', '')}: {first.get('message', '')}".rstrip(": ")


def resolve(base_image: str, settings: RegistrySettings) -> Resolution:
    """One-off resolution with a fresh client (no token cache kept); servers keep one RegistryClient instead."""
    return RegistryClient(settings).resolve(base_image)
