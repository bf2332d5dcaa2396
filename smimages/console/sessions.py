"""Console sessions: random tokens kept in memory until they expire, a CSRF token each, and sign-in with a key of
the credentials file (--auth sigv4)."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..auth import AccessKey

COOKIE = "smimages_console"
LIFETIME = 8 * 3600  # seconds a session lasts from its start (the cookie's Max-Age too)
MAX_SESSIONS = 10_000  # beyond this, the oldest sessions are forgotten first
REFUSED = "The access key ID or the secret access key is not valid."
_NO_SECRET = secrets.token_hex(20)  # compared against when the key id is unknown, so both cases take as long


class SignInRefused(Exception):
    """Sign-in with credentials that are not a key of the credentials file."""


@dataclass
class Session:
    """One browser's session. `key` is the signed-in access key (--auth sigv4); with --auth off there is none and
    every session is signed in."""

    token: str = field(repr=False)
    csrf: str = field(repr=False)
    expires: float
    signed_in: bool
    key: AccessKey | None = None

    def allows(self, account: str, region: str) -> bool:
        """Whether this session may see and change the resources of (account, region)."""
        if not self.signed_in:
            return False
        if self.key is None:
            return True
        return account == self.key.account_id and (not self.key.regions or region in self.key.regions)


class Sessions:
    """The console's sessions. keys: the credentials file's access keys (--auth sigv4), or None (--auth off)."""

    def __init__(
        self,
        keys: dict[str, AccessKey] | None,
        lifetime: float = LIFETIME,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.keys = keys
        self.lifetime = lifetime
        self._clock = clock  # never the service clock, which tests move ahead
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    @property
    def sign_in_required(self) -> bool:
        return self.keys is not None

    def find(self, token: str | None) -> Session | None:
        """The live session a cookie's token names, or None."""
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
            if session is not None and session.expires <= self._clock():
                del self._sessions[token]
                return None
            return session

    def start(self, key: AccessKey | None = None) -> Session:
        """A new session: signed in with `key`, or (no key) signed in only when there is nothing to sign in to."""
        session = Session(
            token=secrets.token_urlsafe(32),
            csrf=secrets.token_urlsafe(32),
            expires=self._clock() + self.lifetime,
            signed_in=key is not None or self.keys is None,
            key=key,
        )
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                self._forget_oldest()
            self._sessions[session.token] = session
        return session

    def sign_in(self, previous: Session, key_id: str, secret: str) -> Session:
        """A new session (a new token: one known before sign-in is worth nothing after it) for the key whose id and
        secret these are; the previous session ends. Raises SignInRefused."""
        key = (self.keys or {}).get(key_id)
        matches = hmac.compare_digest(
            (key.secret_access_key if key else _NO_SECRET).encode(), secret.encode("utf-8", "surrogatepass")
        )
        if key is None or not matches:
            raise SignInRefused(REFUSED)
        self.end(previous.token)
        return self.start(key)

    def end(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(token, None)

    def cookie(self, session: Session | None, path: str, secure: bool) -> str:
        """The Set-Cookie value that keeps `session` until it expires (for None: that forgets the cookie)."""
        value, age = (session.token, max(0, round(session.expires - self._clock()))) if session else ("", 0)
        flags = "; Secure" if secure else ""
        return f"{COOKIE}={value}; Path={path}; Max-Age={age}; HttpOnly; SameSite=Strict{flags}"

    def _forget_oldest(self) -> None:
        now = self._clock()
        for token in [token for token, session in self._sessions.items() if session.expires <= now]:
            del self._sessions[token]
        while len(self._sessions) >= MAX_SESSIONS:  # insertion order: the oldest first
            del self._sessions[next(iter(self._sessions))]
