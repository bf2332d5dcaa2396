"""The console's HTTP face: its page and assets, sessions and forgery checks, and the JSON endpoints through which
the page calls the API's operations (on an App of its own), the overview reads and the test controls."""

from __future__ import annotations

import functools
import hmac
import json
import re
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from ..admin import PREFIX as ADMIN_PREFIX
from ..admin import AdminAPI
from ..app import App, Response
from ..auth import Authenticator, SignatureVerifier
from ..context import ACCOUNT_ID, REGION_NAME, RequestContext
from ..net import is_loopback
from ..operations import OPERATIONS, overview
from ..operations.service import CallPolicy, Service
from ..protocol.wire import CONTENT_TYPE
from ..spec import operation_model
from .sessions import COOKIE, Session, Sessions, SignInRefused

PREFIX = "/_smimages/console/"
MAX_CALLS = 100  # operation calls (or image names) in one request of the page
SCOPE_HEADER = "x-smimages-console-scope"  # set by the console for its own App, never taken from a browser
CSRF_HEADER = "x-csrf-token"
CSP = "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
SECURITY_HEADERS = [
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
]
_ASSET = re.compile(r"[a-z0-9-]+\.(html|js|css|svg)")
_OPERATION = re.compile(r"[A-Za-z]{1,64}")
_TYPES = {
    "html": "text/html; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml",
}
Turn = Callable[[Callable[[], Any]], Any]


class ConsoleError(Exception):
    """A console request refused: answered as {"__type": code, "message": message} with `status`."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class _CheckedScope:
    """The console App's authenticator: the console has checked the session and the scope it asks for, and names
    that scope in a header of its own making."""

    def authenticate(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[str, str]:
        account, _, region = headers[SCOPE_HEADER].partition("/")
        return account, region


def _version_metadata() -> list[dict[str, Any]]:
    """An image version's metadata members as the page's forms offer them, from the model: UpdateImageVersion's
    members other than the version's selectors and aliases, with their type and enum values."""
    model = operation_model("UpdateImageVersion")
    assert model is not None and model.input_shape is not None
    return [
        {"name": name, "type": member.type_name, "values": getattr(member, "enum", None) or None}
        for name, member in model.input_shape.members.items()
        if name not in ("ImageName", "Alias", "Version", "AliasesToAdd", "AliasesToDelete")
    ]


def _load_assets() -> dict[str, bytes]:
    """The files of static/, by name (they ship in the package, so the page works offline)."""
    folder = resources.files(__package__).joinpath("static")
    return {item.name: item.read_bytes() for item in folder.iterdir() if _ASSET.fullmatch(item.name)}


class Console:
    """The web console of one Service. Its calls go through `App.handle` (parsing, validation, operations, errors,
    the fault policy: the API's own path) in the (account, region) the session may see; `turn` runs store work in
    turn with API requests (Server.in_turn); `admin` is the test-control API when the server has one."""

    def __init__(
        self,
        service: Service,
        auth: Authenticator,
        turn: Turn,
        policy: CallPolicy | None = None,
        admin: AdminAPI | None = None,
    ):
        self.service = service
        self.sessions = Sessions(auth.keys if isinstance(auth, SignatureVerifier) else None)
        self.app = App(service, _CheckedScope(), policy)
        self.admin = admin
        self._turn = turn
        self._assets = _load_assets()
        self._metadata = _version_metadata()

    def serves(self, method: str, path: str, headers: dict[str, str]) -> bool:
        """Whether a request is the console's: its paths, and a browser's GET of the root URL (AWS requests carry
        X-Amz-Target; browsers ask for text/html)."""
        if path.startswith(PREFIX) or path == PREFIX[:-1]:
            return True
        # cheapest test first: this runs for every AWS request (a POST)
        return (
            method == "GET"
            and path == "/"
            and "x-amz-target" not in headers
            and "text/html" in headers.get("accept", "")
        )

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        """Answers one console request (run it off the event loop: it may wait for its turn with the store)."""
        try:
            response = self._route(method, path, headers, body)
        except ConsoleError as error:
            response = _json(error.status, {"__type": error.code, "message": error.message})
        response.headers.extend(SECURITY_HEADERS)
        return response

    def _route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        if path in ("/", PREFIX[:-1]):
            return Response(303, [("location", PREFIX)], b"")
        self._check_host(headers)
        rest = path[len(PREFIX) :]
        if rest == "" or rest.startswith("static/"):
            if method != "GET":
                raise ConsoleError(405, "MethodNotAllowed", f"{method} is not allowed here.")
            return self._asset("index.html" if rest == "" else rest[len("static/") :])
        if not rest.startswith("api/"):
            raise ConsoleError(404, "NotFound", "There is no such console page.")
        endpoint = rest[len("api/") :]
        session = self.sessions.find(_cookie(headers))
        if endpoint == "session" and method == "GET":
            return self._session(session, headers)
        if session is None:
            raise ConsoleError(401, "SessionExpired", "The console session has ended: reload the page.")
        if method != "GET":
            _check_forgery(session, headers)
        if endpoint == "signin" and method == "POST":
            return self._sign_in(session, headers, body)
        if endpoint == "signout" and method == "POST":
            self.sessions.end(session.token)
            return self._session(None, headers)
        if not session.signed_in:
            raise ConsoleError(401, "NotSignedIn", "Sign in with an access key first.")
        if endpoint == "scopes" and method == "GET":
            return self._scopes(session)
        if endpoint == "call" and method == "POST":
            return self._call(session, _document(body))
        if endpoint == "version-counts" and method == "POST":
            return self._version_counts(session, _document(body))
        if endpoint.startswith("controls/") and self.admin is not None:
            status, document = self.admin.handle(method, ADMIN_PREFIX + endpoint[len("controls/") :], body)
            return _json(status, document)
        raise ConsoleError(404, "NotFound", "There is no such console endpoint.")

    def _check_host(self, headers: dict[str, str]) -> None:
        """Without sign-in (--auth off), only requests addressed to a loopback name are answered: a site that
        rebinds its own name to 127.0.0.1 gets nothing from the console."""
        if self.sessions.sign_in_required:
            return
        host = urlsplit("//" + headers.get("host", "")).hostname or ""
        if not is_loopback(host):
            raise ConsoleError(
                403,
                "ConsoleNotAvailable",
                "Without authentication (--auth off) the console answers only on a loopback address "
                "(127.0.0.1, localhost, [::1]). Use --auth sigv4 to open it from elsewhere.",
            )

    def _asset(self, name: str) -> Response:
        content = self._assets.get(name)
        if content is None:
            raise ConsoleError(404, "NotFound", "There is no such console file.")
        cache = "no-store" if name == "index.html" else "no-cache"
        return Response(200, [("content-type", _TYPES[name.rsplit(".", 1)[1]]), ("cache-control", cache)], content)

    def _session(self, session: Session | None, headers: dict[str, str]) -> Response:
        """What the page needs to know about its session (one is started when the browser has none)."""
        extra = []
        if session is None:
            session = self.sessions.start()
            secure = headers.get("x-forwarded-proto") == "https"
            extra.append(("set-cookie", self.sessions.cookie(session, PREFIX, secure)))
        key = session.key
        document = {
            "auth": "sigv4" if self.sessions.sign_in_required else "off",
            "signedIn": session.signed_in,
            "csrfToken": session.csrf,
            "accessKeyId": key.access_key_id if key else None,
            "account": key.account_id if key else None,
            "regions": sorted(key.regions) if key else [],
            "controls": self.admin is not None,
            "operations": sorted(OPERATIONS),
            "versionMetadata": self._metadata,
        }
        response = _json(200, document)
        response.headers.extend(extra)
        return response

    def _sign_in(self, session: Session, headers: dict[str, str], body: bytes) -> Response:
        if not self.sessions.sign_in_required:
            raise ConsoleError(400, "SignInNotNeeded", "This server runs without authentication (--auth off).")
        document = _document(body)
        key_id, secret = document.get("accessKeyId"), document.get("secretAccessKey")
        if not isinstance(key_id, str) or not isinstance(secret, str):
            raise ConsoleError(400, "BadRequest", "Give an access key ID and a secret access key.")
        try:
            signed_in = self.sessions.sign_in(session, key_id.strip(), secret.strip())
        except SignInRefused as refused:
            raise ConsoleError(401, "SignInRefused", str(refused)) from None
        response = self._session(signed_in, headers)
        secure = headers.get("x-forwarded-proto") == "https"
        response.headers.append(("set-cookie", self.sessions.cookie(signed_in, PREFIX, secure)))
        return response

    def _scopes(self, session: Session) -> Response:
        found = self._turn(lambda: overview.scopes(self.service))
        shown = [
            {
                "account": scope["account"],
                "region": scope["region"],
                "images": scope["images"],
                "appImageConfigs": scope["app_image_configs"],
            }
            for scope in found
            if session.allows(scope["account"], scope["region"])
        ]
        return _json(200, {"scopes": shown})

    def _call(self, session: Session, document: dict[str, Any]) -> Response:
        """Runs up to MAX_CALLS operations in one scope, each exactly as an API request: {"results": [{"status",
        "body"}]} with each body as the API answers it (an AWS error shape for errors)."""
        scope = "/".join(_scope(session, document))
        calls = document.get("calls")
        if not isinstance(calls, list) or not 0 < len(calls) <= MAX_CALLS:
            raise ConsoleError(400, "BadRequest", f"calls must be a list of 1 to {MAX_CALLS} operation calls.")
        bodies = []
        for call in calls:
            operation = call.get("operation") if isinstance(call, dict) else None
            params = call.get("input", {}) if isinstance(call, dict) else None
            if not isinstance(operation, str) or not _OPERATION.fullmatch(operation) or not isinstance(params, dict):
                raise ConsoleError(400, "BadRequest", 'Each call is {"operation": "ListImages", "input": {...}}.')
            headers = {"x-amz-target": f"SageMaker.{operation}", "content-type": CONTENT_TYPE, SCOPE_HEADER: scope}
            payload = json.dumps(params).encode()
            answer: Response = self._turn(functools.partial(self.app.handle, "POST", "/", headers, payload))
            bodies.append(b'{"status":%d,"body":%s}' % (answer.status, answer.body or b"{}"))
        return Response(200, _JSON_HEADERS.copy(), b'{"results":[' + b",".join(bodies) + b"]}")

    def _version_counts(self, session: Session, document: dict[str, Any]) -> Response:
        account, region = _scope(session, document)
        names = document.get("names")
        if not isinstance(names, list) or len(names) > MAX_CALLS or not all(isinstance(n, str) for n in names):
            raise ConsoleError(400, "BadRequest", f"names must be a list of at most {MAX_CALLS} image names.")
        ctx = RequestContext(account, region, self.service.now())
        counts = self._turn(lambda: overview.version_counts(self.service, ctx, names))
        return _json(200, {"counts": counts})


_JSON_HEADERS = [("content-type", "application/json"), ("cache-control", "no-store")]


def _json(status: int, document: object) -> Response:
    return Response(status, _JSON_HEADERS.copy(), json.dumps(document).encode())


def _cookie(headers: dict[str, str]) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel else None


def _check_forgery(session: Session, headers: dict[str, str]) -> None:
    """A state-changing request must come from the console's own page: from this origin (Origin, else Referer,
    naming this Host) and carrying the session's CSRF token."""
    origin = headers.get("origin") or headers.get("referer") or ""
    host = headers.get("host", "").lower()
    if not host or urlsplit(origin).netloc.lower() != host:
        raise ConsoleError(403, "CrossSiteRequest", "The request did not come from this console's page.")
    token = headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(token.encode("utf-8", "surrogatepass"), session.csrf.encode()):
        raise ConsoleError(403, "InvalidCsrfToken", "The request's CSRF token is missing or wrong: reload the page.")


def _document(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise ConsoleError(400, "BadRequest", "The request body must be a JSON object.")
    return document


def _scope(session: Session, document: dict[str, Any]) -> tuple[str, str]:
    """The (account, region) a request names, when it is well-formed and the session may see it."""
    account, region = document.get("account"), document.get("region")
    if not isinstance(account, str) or not ACCOUNT_ID.fullmatch(account):
        raise ConsoleError(400, "BadRequest", "account must be a 12-digit account ID.")
    if not isinstance(region, str) or not REGION_NAME.fullmatch(region):
        raise ConsoleError(400, "BadRequest", "region must be a region name such as us-east-1.")
    if not session.allows(account, region):
        raise ConsoleError(403, "AccessDenied", f"This session cannot see account {account} in region {region}.")
    return account, region
