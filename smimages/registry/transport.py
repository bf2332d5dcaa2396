"""Blocking HTTP for the registry client: one deadline per resolution, retries, redirects, the plain-http rule."""

import http.client
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import cast
from urllib.parse import urlencode, urljoin, urlsplit

from .settings import Endpoint, RegistrySettings

MAX_BODY = 4 * 1024 * 1024  # the largest manifest the Distribution registry accepts
MAX_REDIRECTS = 5
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "smimages-registry-client/1"


class TransportError(Exception):
    """No usable HTTP answer: `detail` is a short phrase (connection refused, timed out after 10 s, ...)."""

    def __init__(self, detail: str, retryable: bool = True):
        super().__init__(detail)
        self.detail = detail
        self.retryable = retryable


class InsecureEndpoint(Exception):
    """A plain-http URL that the settings do not allow."""

    def __init__(self, url: str):
        super().__init__(url)
        self.url = url


@dataclass(frozen=True)
class Response:
    status: int
    headers: Message
    body: bytes
    url: str


class Deadline:
    """The time one resolution may still spend."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.seconds = seconds
        self.end = clock() + seconds

    def remaining(self) -> float:
        return self.end - self._clock()


class Transport:
    """GETs with bounded time: each connect/read waits at most `timeout`, a failed attempt (connection error,
    timeout, 429, 5xx) is retried up to `retries` times with a short backoff while the deadline allows."""

    def __init__(self, settings: RegistrySettings, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self._sleep = sleep
        self._tls = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)

    def check(self, url: str) -> None:
        """Raises InsecureEndpoint for a plain-http URL the settings forbid, TransportError for a URL that is not
        http(s)://host[:port]/..."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise TransportError(f"an invalid URL {url.split('?')[0]!r}", retryable=False) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TransportError(f"an unsupported URL {url.split('?')[0]!r}", retryable=False)
        if not self.settings.http_allowed(Endpoint(parts.scheme, parts.hostname, port or 0)):
            raise InsecureEndpoint(f"{parts.scheme}://{parts.netloc}")

    def get(
        self, url: str, headers: dict[str, str], deadline: Deadline, params: Mapping[str, str | list[str]] | None = None
    ) -> Response:
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params, doseq=True)
        origin = urlsplit(url).netloc
        for _ in range(MAX_REDIRECTS + 1):
            self.check(url)
            if urlsplit(url).netloc != origin:
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            response = self._with_retries(url, headers, deadline)
            if response.status not in (301, 302, 303, 307, 308) or not response.headers.get("Location"):
                return response
            url = urljoin(url, response.headers["Location"])
        raise TransportError(f"more than {MAX_REDIRECTS} redirects", retryable=False)

    def _with_retries(self, url: str, headers: dict[str, str], deadline: Deadline) -> Response:
        attempts = self.settings.retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            remaining = deadline.remaining()
            if remaining <= 0:
                raise TransportError(f"no answer within {deadline.seconds:g} s", retryable=False)
            try:
                response = self._once(url, headers, min(self.settings.timeout, remaining))
            except TransportError as exc:
                if last or not exc.retryable or not self._backoff(attempt, deadline):
                    raise
                continue
            if response.status in RETRY_STATUSES and not last and self._backoff(attempt, deadline):
                continue
            return response
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int, deadline: Deadline) -> bool:
        pause = min(0.2 * 2**attempt, 2.0)
        if deadline.remaining() <= pause:
            return False
        self._sleep(pause)
        return True

    def _once(self, url: str, headers: dict[str, str], timeout: float) -> Response:
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = cast(str, parts.hostname)  # check() has rejected every URL without a host
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(host, parts.port, timeout=timeout, context=self._tls)
        else:
            conn = http.client.HTTPConnection(host, parts.port, timeout=timeout)
        try:
            conn.request("GET", path, headers={"User-Agent": USER_AGENT, **headers})
            raw = conn.getresponse()
            body = raw.read(MAX_BODY + 1)
            if len(body) > MAX_BODY:
                raise TransportError(f"a response larger than {MAX_BODY} bytes", retryable=False)
            return Response(raw.status, raw.headers, body, url)
        except TransportError:
            raise
        except ssl.SSLCertVerificationError as exc:
            raise TransportError(
                f"TLS certificate verification failed: {exc.verify_message}", retryable=False
            ) from None
        except ssl.SSLError as exc:
            raise TransportError(f"TLS error: {exc.reason or exc}", retryable=False) from None
        except TimeoutError:
            raise TransportError(f"timed out after {timeout:g} s") from None
        except ConnectionRefusedError:
            raise TransportError(f"connection to {parts.netloc} refused") from None
        except socket.gaierror as exc:
            raise TransportError(f"cannot resolve host {parts.hostname}: {exc.strerror}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise TransportError(
                f"connection to {parts.netloc} failed: {exc.__class__.__name__}" + (f" {exc}" if str(exc) else "")
            ) from None
        finally:
            conn.close()
