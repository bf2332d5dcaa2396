"""`serve --upstream URL`: the SageMaker calls smimages does not serve, sent to URL as they came; its answers."""

from __future__ import annotations

import time

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from .app import Forward, Response
from .errors import BadGateway, GatewayTimeout

CONNECTIONS = 16  # forwarded requests in flight at once (and connections kept to the upstream)
# moto chooses the account of a request by this header; smimages sets it to the caller's account, so the resources
# an upstream moto creates sit in the account of the images they name (other upstreams ignore it)
ACCOUNT_HEADER = "x-moto-account-id"
# RFC 9110 7.6.1: hop-by-hop fields, which belong to one connection and are not forwarded either way
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer"}
    | {"transfer-encoding", "upgrade"}
)
# what the answer's own connection carries in place of the upstream's: its length and its date
_NOT_RETURNED = _HOP_BY_HOP | {"content-length", "date"}
_CHUNK = 64 * 1024


class HttpUpstream:
    """An upstream reached over HTTP(S) through one pool of keep-alive connections. Each request is sent once (the
    client retries, as it would against AWS). It gives up on an answer not complete `timeout` seconds after it was
    sent: the connection and the answer's head are bounded by that, each later read by as long again (so an
    upstream that stalls in the middle of an answer takes twice `timeout` at most)."""

    def __init__(self, url: str, timeout: float, connections: int = CONNECTIONS):
        parsed = urllib3.util.parse_url(url)
        if parsed.scheme not in ("http", "https") or not parsed.host or parsed.query or parsed.fragment:
            raise ValueError(f"the upstream must be an http:// or https:// URL, not {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.connections = connections
        self._prefix = (parsed.path or "").rstrip("/")  # requests go below the URL's path, if it has one
        self._pool = urllib3.connection_from_url(
            url, maxsize=connections, block=False, retries=False, timeout=urllib3.Timeout(total=timeout)
        )

    def forward(self, request: Forward) -> Response:
        """The upstream's answer as it came (status, headers, body), less the fields of its connection; a 502
        BadGateway or 504 GatewayTimeout naming the upstream when there is none."""
        headers = {name: value for name, value in request.headers.items() if name not in _HOP_BY_HOP}
        headers[ACCOUNT_HEADER] = request.account
        deadline = time.monotonic() + self.timeout
        try:
            answer = self._pool.urlopen(
                request.method,
                self._prefix + request.target,
                body=request.body,
                headers=headers,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=False,
            )
        except Urllib3Timeout as exc:
            if not isinstance(exc, NewConnectionError):  # NewConnectionError subclasses ConnectTimeoutError
                raise self._timeout(request) from None
            raise self._unreachable(request, exc) from None
        except (HTTPError, OSError) as exc:
            raise self._unreachable(request, exc) from None
        try:
            chunks = []
            for chunk in answer.stream(_CHUNK, decode_content=False):
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    answer.close()  # a connection with an answer half read is not reused
                    raise self._timeout(request)
        except Urllib3Timeout:
            answer.close()
            raise self._timeout(request) from None
        except (HTTPError, OSError) as exc:
            answer.close()
            raise self._unreachable(request, exc) from None
        finally:
            answer.release_conn()
        returned = [(name, value) for name, value in answer.headers.iteritems() if name.lower() not in _NOT_RETURNED]
        return Response(answer.status, returned, b"".join(chunks))

    def close(self) -> None:
        self._pool.close()

    def _timeout(self, request: Forward) -> GatewayTimeout:
        return GatewayTimeout(f"The upstream {self.url} did not answer {request.name} within {self.timeout:g} seconds.")

    def _unreachable(self, request: Forward, exc: Exception) -> BadGateway:
        cause = exc.__cause__ or exc.__context__
        reason = getattr(cause, "strerror", None) or (exc.args[0] if exc.args and isinstance(exc.args[0], str) else "")
        return BadGateway(f"The upstream {self.url} did not answer {request.name}: {reason or type(exc).__name__}.")
