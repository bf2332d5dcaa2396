"""Per-request context (the caller's account and region, from the SigV4 credential scope; the clock); request ids."""

from __future__ import annotations

import itertools
import re
import uuid
from typing import NamedTuple, Protocol

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"
# Digits are ASCII digits everywhere smimages matches them (str.isdigit and \d also take other scripts' digits)
ACCOUNT_ID = re.compile(r"[0-9]{12}")
REGION_NAME = re.compile(r"[a-z0-9-]{1,32}")  # what a credential scope may name
_CREDENTIAL = re.compile(rf"Credential=([^/,\s]+)/[0-9]{{8}}/({REGION_NAME.pattern})/")


# Request ids are shaped as AWS's are (version 4 UUIDs): a random one per process, then its last 48 bits counting
# up: unique within the process, and across processes by their random part, without uuid.uuid4()'s cost per request.
_FIRST_ID = uuid.uuid4().hex
_ID_PREFIX = f"{_FIRST_ID[:8]}-{_FIRST_ID[8:12]}-{_FIRST_ID[12:16]}-{_FIRST_ID[16:20]}-"
_ID_NUMBERS = itertools.count(int(_FIRST_ID[20:], 16))  # next() on it is atomic: safe from any thread


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_NUMBERS) & 0xFFFFFFFFFFFF:012x}"


class Outcomes(Protocol):
    """How the lifecycles one call starts will end: an injected fault policy decides (smimages/faults.py); without
    one, every lifecycle succeeds."""

    def failure(
        self,
        operation: str,
        ctx: RequestContext,
        image: str,
        version: int | None = None,
        base_image: str | None = None,
    ) -> str | None:
        """The FailureReason the lifecycle `operation` starts now must end with, or None for success."""


class _Succeed:
    """Every lifecycle succeeds."""

    def failure(
        self,
        operation: str,
        ctx: RequestContext,
        image: str,
        version: int | None = None,
        base_image: str | None = None,
    ) -> str | None:
        return None


SUCCEED: Outcomes = _Succeed()


class RequestContext(NamedTuple):
    """Who is calling, where, and when, for one request; and how the lifecycles it starts end."""

    account: str
    region: str
    now: float
    outcomes: Outcomes = SUCCEED


def caller_scope(authorization: str | None) -> tuple[str, str]:
    """(account, region) named by an Authorization header; an access key id of 12 ASCII digits is the account."""
    match = _CREDENTIAL.search(authorization or "")
    if not match:
        return DEFAULT_ACCOUNT, DEFAULT_REGION
    key, region = match.groups()
    return (key if ACCOUNT_ID.fullmatch(key) else DEFAULT_ACCOUNT), region
