"""Registry credentials from a docker config.json style file and/or the same JSON inline (SMIMAGES_REGISTRY_AUTH)."""

import base64
import binascii
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("smimages.registry")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def basic(self) -> str:
        """The value of an `Authorization: Basic ...` header."""
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


def normalize_host(key: str) -> str:
    """`https://index.docker.io/v1/`, `registry:5000` or `Registry:5000/` -> `registry:5000`."""
    key = key.strip()
    if "://" in key:
        key = urlsplit(key).netloc
    return key.split("/", 1)[0].lower()


def parse_auth_config(text: str, source: str) -> dict[str, Credentials]:
    """A docker config.json (`{"auths": {host: {"auth": base64(user:pass)}}}`; `username`/`password` also accepted;
    the bare `{host: {...}}` map too) -> host -> Credentials. Entries without a usable secret are skipped;
    credential helpers (credsStore, credHelpers) and identity tokens are not supported. Raises ValueError."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"registry credentials in {source} are not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError(f"registry credentials in {source} must be a JSON object")
    auths = document.get("auths", document if "auths" not in document and _looks_like_auths(document) else {})
    if not isinstance(auths, dict):
        raise ValueError(f"registry credentials in {source}: 'auths' must be an object")
    result = {}
    for key, entry in auths.items():
        creds = _entry(entry, key, source)
        if creds is not None:
            result[normalize_host(key)] = creds
    return result


def _looks_like_auths(document: dict[str, Any]) -> bool:
    return bool(document) and all(isinstance(v, dict) and ("auth" in v or "username" in v) for v in document.values())


def _entry(entry: object, key: str, source: str) -> Credentials | None:
    if not isinstance(entry, dict):
        raise ValueError(f"registry credentials in {source}: the entry for {key} must be an object")
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(entry["auth"], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, TypeError):
            raise ValueError(
                f"registry credentials in {source}: the auth of {key} is not base64 of user:password"
            ) from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise ValueError(f"registry credentials in {source}: the auth of {key} is not base64 of user:password")
        return Credentials(username, password)
    if entry.get("username") is not None and entry.get("password") is not None:
        return Credentials(str(entry["username"]), str(entry["password"]))
    if entry.get("identitytoken"):
        log.warning("registry credentials for %s in %s: identity tokens are not supported; entry ignored", key, source)
    return None


class CredentialStore:
    """Looks credentials up by registry host. The file is re-read when it changes; inline JSON wins over it."""

    def __init__(self, auth_file: Path | None = None, auth_json: str | None = None):
        self.auth_file = auth_file
        self._inline = parse_auth_config(auth_json, "SMIMAGES_REGISTRY_AUTH") if auth_json else {}
        self._lock = threading.Lock()
        self._stamp: tuple[float, int] | None = None
        self._from_file: dict[str, Credentials] = {}

    def load(self) -> dict[str, Credentials]:
        """Every host's credentials; raises ValueError when the file is missing or malformed."""
        if self.auth_file is None:
            return dict(self._inline)
        with self._lock:
            try:
                stat = self.auth_file.stat()
                stamp = (stat.st_mtime, stat.st_size)
                if stamp != self._stamp:
                    self._from_file = parse_auth_config(self.auth_file.read_text(encoding="utf-8"), str(self.auth_file))
                    self._stamp = stamp
            except OSError as exc:
                raise ValueError(
                    f"registry credentials file {self.auth_file} cannot be read: {exc.strerror or exc}"
                ) from None
            return {**self._from_file, **self._inline}

    def lookup(self, *hosts: str) -> Credentials | None:
        """The credentials of the first host (host[:port]) that has some. A file that became unreadable since
        start-up counts as empty (and is logged)."""
        try:
            known = self.load()
        except ValueError as exc:
            log.warning("%s", exc)
            known = dict(self._inline)
        for host in hosts:
            creds = known.get(normalize_host(host))
            if creds is not None:
                return creds
        return None
