"""Who is calling: SigV4 signatures verified against a credentials file, or (auth off) the account a key names."""

import configparser
import hashlib
import hmac
import logging
import os
import re
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol, cast

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from .context import ACCOUNT_ID, REGION_NAME, caller_scope
from .errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)
from .net import is_loopback

log = logging.getLogger("smimages.auth")

SERVICE = "sagemaker"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)
UNKNOWN_KEY = "The security token included in the request is invalid."
BAD_SESSION_TOKEN = "The security token included in the request is invalid"  # Coral's token check has no period
_STAMP = "%Y%m%dT%H%M%SZ"
_ISO_BASIC = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_ACCESS_KEY_ID = re.compile(r"[A-Za-z0-9_.+-]{1,128}")
_SETTINGS = ("aws_access_key_id", "aws_secret_access_key", "account_id", "regions", "aws_session_token")


class Authenticator(Protocol):
    """Decides the (account, region) a request acts in, or raises the AWS authentication error."""

    def authenticate(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[str, str]:
        """target is the HTTP request-target as sent (raw path and query); headers are keyed in lower case."""


class Anonymous:
    """--auth off: nothing is verified; the credential scope names the region, a 12-digit key id the account."""

    def authenticate(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[str, str]:
        return caller_scope(headers.get("authorization"))


@dataclass(frozen=True)
class AccessKey:
    """One entry of the credentials file. The secret and the session token never appear in a repr."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    account_id: str
    regions: frozenset[str] = frozenset()
    session_token: str | None = field(default=None, repr=False)


class SignatureVerifier:
    """--auth sigv4: recomputes each request's signature with botocore's canonicalization and compares."""

    def __init__(self, keys: dict[str, AccessKey], clock: Callable[[], float] = time.time):
        self.keys = keys
        self.clock = clock

    def authenticate(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[str, str]:
        # Checks run in the order AWS's Coral front end runs them, each with its error code and text.
        authorization = headers.get("authorization", "")
        if not authorization.strip().startswith("AWS4-"):
            raise MissingAuthenticationTokenException("Request is missing Authentication Token")
        algorithm, params = _authorization_params(authorization)
        stamp_text = headers.get("x-amz-date") or headers.get("date")
        missing = [
            f"Authorization header requires '{name}' parameter. "
            for name in ("Credential", "Signature", "SignedHeaders")
            if not params.get(name)
        ]
        if not stamp_text:
            missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
        if missing:
            raise IncompleteSignatureException("".join(missing) + "Authorization=" + authorization)
        # stamp_text is set here: a request without it was refused as missing it (mypy cannot follow `missing`)
        stamp = _request_time(cast(str, stamp_text), from_date_header=not headers.get("x-amz-date"))
        self._check_clock(stamp)
        signed = [name.lower() for name in params["SignedHeaders"].split(";") if name]
        if "host" not in signed:
            raise InvalidSignatureException("'Host' must be a 'SignedHeader' in the AWS Authorization.")
        if algorithm != ALGORITHM:
            raise IncompleteSignatureException(
                f"Unsupported AWS 'algorithm': '{algorithm}' (only {ALGORITHM} for now). "
            )
        key_id, region = _check_scope(params["Credential"], stamp, cast(str, stamp_text))
        key = self.keys.get(key_id)
        if key is None or (key.regions and region not in key.regions):
            raise UnrecognizedClientException(UNKNOWN_KEY)
        expected = _signature(key, region, stamp, method, target, headers, body, signed)
        given = params["Signature"].encode("utf-8", "surrogatepass")
        if not hmac.compare_digest(expected.encode(), given) or not _payload_hash_matches(headers, body):
            raise InvalidSignatureException(SIGNATURE_MISMATCH)
        if not _same_secret(key.session_token, headers.get("x-amz-security-token") or None):
            raise UnrecognizedClientException(BAD_SESSION_TOKEN)
        return key.account_id, region

    def _check_clock(self, stamp: datetime) -> None:
        now = datetime.fromtimestamp(int(self.clock()), UTC)
        if stamp < now - MAX_SKEW:
            raise InvalidSignatureException(
                f"Signature expired: {_fmt(stamp)} is now earlier than {_fmt(now - MAX_SKEW)} ({_fmt(now)} - 15 min.)"
            )
        if stamp > now + MAX_SKEW:
            raise InvalidSignatureException(
                f"Signature not yet current: {_fmt(stamp)} is still later than {_fmt(now + MAX_SKEW)} "
                f"({_fmt(now)} + 15 min.)"
            )


def _authorization_params(authorization: str) -> tuple[str, dict[str, str]]:
    """The algorithm and the key=value parameters of an Authorization header (comma or space separated)."""
    algorithm, _, rest = authorization.strip().partition(" ")
    params = {}
    for piece in re.split(r"[,\s]+", rest.strip()):
        if not piece:
            continue
        name, equals, value = piece.partition("=")
        if not equals:
            raise IncompleteSignatureException(
                f"'{piece}' not a valid key=value pair (missing equal-sign) in Authorization header: '{authorization}'."
            )
        params[name] = value
    return algorithm, params


def _request_time(text: str, from_date_header: bool) -> datetime:
    """X-Amz-Date in ISO-8601 basic format; a Date header may also carry an HTTP date."""
    try:
        if _ISO_BASIC.fullmatch(text):
            return datetime.strptime(text, _STAMP).replace(tzinfo=UTC)
        if from_date_header and text.isascii():  # int() would read other scripts' digits
            parsed = parsedate_to_datetime(text)  # "-0000" (what botocore sends) parses as a naive UTC time
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, TypeError, IndexError, OverflowError):
        pass
    raise IncompleteSignatureException(
        f"Date must be in ISO-8601 'basic format'. Got '{text}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )


def _check_scope(credential: str, stamp: datetime, stamp_text: str) -> tuple[str, str]:
    """The access key id and region of a Credential parameter whose scope is right for this service."""
    parts = credential.split("/")
    while parts and not parts[-1]:  # trailing slashes are ignored, as Java's String.split does
        parts.pop()
    if len(parts) != 5:
        raise IncompleteSignatureException(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
            f"got '{credential}'"
        )
    key_id, day, region, service, terminator = parts
    problems = []
    if not REGION_NAME.fullmatch(region):
        problems.append(f"Credential should be scoped to a valid region, not '{region}'.")
    if service != SERVICE:
        problems.append(f"Credential should be scoped to correct service: '{SERVICE}'.")
    if terminator != "aws4_request":
        problems.append(f"Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'.")
    if day != _fmt(stamp)[:8]:
        problems.append(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{day}' != '{_fmt(stamp)[:8]}', from '{stamp_text}'."
        )
    if problems:
        raise InvalidSignatureException(" ".join(problems))
    return key_id, region


class _Recompute(SigV4Auth):
    """botocore's SigV4 signer, restricted to exactly the headers the client says it signed."""

    def __init__(self, key: AccessKey, region: str, signed: list[str]):
        super().__init__(Credentials(key.access_key_id, key.secret_access_key, key.session_token), SERVICE, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        chosen = HTTPHeaders()
        for name in self._signed:
            if name in request.headers:
                chosen[name] = request.headers[name]
        return chosen


def _signature(
    key: AccessKey,
    region: str,
    stamp: datetime,
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes,
    signed: list[str],
) -> str:
    """The signature the holder of key's secret computes for this request ("" when no signature can match)."""
    if not target.startswith("/"):  # an asterisk- or absolute-form target is nothing an SDK signs
        return ""
    signed = list(dict.fromkeys(signed))  # each name once, however often the client listed it
    present = {name: headers[name] for name in (*signed, "x-amz-content-sha256") if name in headers}
    request = AWSRequest(method=method, url="http://smimages" + target, data=body, headers=present)
    request.context["timestamp"] = _fmt(stamp)
    signer = _Recompute(key, region, signed)
    try:
        canonical = signer.canonical_request(request)
    except ValueError:  # a target urllib cannot split
        return ""
    return signer.signature(signer.string_to_sign(request, canonical), request)


def _payload_hash_matches(headers: dict[str, str], body: bytes) -> bool:
    """A declared X-Amz-Content-SHA256 replaces the body in the signature, so it must be the body's hash."""
    declared = headers.get("x-amz-content-sha256")
    return declared is None or hmac.compare_digest(
        declared.encode("utf-8", "surrogatepass"), hashlib.sha256(body).hexdigest().encode()
    )


def _same_secret(expected: str | None, given: str | None) -> bool:
    if expected is None or given is None:
        return expected is given
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


def _fmt(moment: datetime) -> str:
    return f"{moment.year:04d}{moment:%m%dT%H%M%SZ}"


# --- the credentials file ---------------------------------------------------------------------------------------


class AuthConfigError(Exception):
    """A reason the server must not start with the authentication settings it was given."""


def load_credentials(path: str) -> dict[str, AccessKey]:
    """Access keys by id from an INI file readable only by its owner; errors never quote a secret."""
    try:
        with open(path, encoding="utf-8") as file:
            _require_private(path, os.fstat(file.fileno()))
            text = file.read()
    except OSError as exc:
        raise AuthConfigError(f"cannot read credentials file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise AuthConfigError(f"credentials file {path} is not UTF-8 text") from None
    parser = configparser.ConfigParser(interpolation=None, default_section="\0", strict=True)
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:  # messages of configparser quote whole lines, secrets included
        raise AuthConfigError(_parse_error(path, exc)) from None
    keys: dict[str, AccessKey] = {}
    sections: dict[str, str] = {}
    for section in parser.sections():
        key = _access_key(path, section, dict(parser.items(section)))
        if key.access_key_id in keys:
            raise AuthConfigError(
                f"{path}: [{sections[key.access_key_id]}] and [{section}] have the same aws_access_key_id"
            )
        keys[key.access_key_id] = key
        sections[key.access_key_id] = section
    if not keys:
        raise AuthConfigError(f"credentials file {path} defines no access keys")
    return keys


def _require_private(path: str, info: os.stat_result) -> None:
    if os.name == "posix" and info.st_mode & 0o077:
        mode = stat.S_IMODE(info.st_mode)
        raise AuthConfigError(
            f"credentials file {path} is accessible by other users (mode {mode:04o}); it holds secret keys, so "
            f"smimages refuses it. Make it private with: chmod 600 {path}"
        )


def _parse_error(path: str, exc: configparser.Error) -> str:
    lineno = getattr(exc, "lineno", None)
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"{path}, line {lineno}: expected a [section] header before the first setting"
    if isinstance(exc, configparser.DuplicateSectionError):
        return f"{path}, line {lineno}: section [{exc.section}] appears twice"
    if isinstance(exc, configparser.DuplicateOptionError):
        return f"{path}, line {lineno}: '{exc.option}' appears twice in [{exc.section}]"
    if isinstance(exc, configparser.ParsingError):
        lines = ", ".join(str(number) for number, _ in exc.errors)
        return f"{path}: cannot parse line {lines} (expected 'name = value' or a [section] header)"
    return f"{path}: not a valid credentials file ({type(exc).__name__})"


def _access_key(path: str, section: str, values: dict[str, str]) -> AccessKey:
    where = f"{path} [{section}]"
    unknown = sorted(set(values) - set(_SETTINGS))
    if unknown:
        raise AuthConfigError(f"{where}: unknown setting '{unknown[0]}' (known: {', '.join(_SETTINGS)})")
    missing = [name for name in _SETTINGS[:3] if not values.get(name, "").strip()]
    if missing:
        raise AuthConfigError(f"{where}: missing {' and '.join(missing)}")
    key_id, account = values["aws_access_key_id"].strip(), values["account_id"].strip()
    if not _ACCESS_KEY_ID.fullmatch(key_id):
        raise AuthConfigError(f"{where}: aws_access_key_id must be 1 to 128 letters, digits or _ . + -")
    if not ACCOUNT_ID.fullmatch(account):
        raise AuthConfigError(f"{where}: account_id must be 12 ASCII digits (0-9), not '{account}'")
    regions = frozenset(r for r in re.split(r"[,\s]+", values.get("regions", "")) if r)
    bad = sorted(r for r in regions if not REGION_NAME.fullmatch(r))
    if bad:
        raise AuthConfigError(f"{where}: '{bad[0]}' is not a region name")
    token = values.get("aws_session_token", "").strip() or None
    return AccessKey(key_id, values["aws_secret_access_key"].strip(), account, regions, token)


# --- startup policy -----------------------------------------------------------------------------------------------


def configure(
    mode: str | None, credentials_file: str | None, host: str, allow_anonymous: bool, admin: bool = False
) -> Authenticator:
    """The authenticator `serve` runs with, or AuthConfigError when those settings must not start a server.

    Anything unauthenticated (auth off, or the --enable-admin test API) needs a loopback address or
    --insecure-allow-anonymous, which then logs a warning at every start."""
    mode = mode or ("sigv4" if credentials_file else "off")
    loopback = is_loopback(host, resolve=True)  # a host name is looked up: once
    if admin and not loopback:
        if not allow_anonymous:
            raise AuthConfigError(
                f"refusing to serve the unauthenticated --enable-admin API on {host}, which is not a loopback "
                "address: anyone who can reach it could reset the catalog. Bind to 127.0.0.1, or add "
                "--insecure-allow-anonymous to accept that risk."
            )
        log.warning("serving the unauthenticated admin API on %s (--insecure-allow-anonymous)", host)
    if mode == "sigv4":
        if not credentials_file:
            raise AuthConfigError("--auth sigv4 needs --credentials-file FILE (see docs/security.md for its format)")
        keys = load_credentials(credentials_file)
        log.info("authentication: SigV4, %d access key(s) from %s", len(keys), credentials_file)
        return SignatureVerifier(keys)
    if credentials_file:
        raise AuthConfigError("--credentials-file is only read with --auth sigv4; add --auth sigv4 or remove it")
    if not loopback:
        if not allow_anonymous:
            raise AuthConfigError(
                f"refusing to serve without authentication on {host}, which is not a loopback address: anyone who "
                "can reach it could read and change every account's images. Use --auth sigv4 --credentials-file "
                "FILE, or --insecure-allow-anonymous to accept that risk."
            )
        log.warning(
            "serving WITHOUT authentication on %s (--insecure-allow-anonymous): anyone who can reach this "
            "address can act as any account",
            host,
        )
    return Anonymous()
