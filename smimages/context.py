"""Per-request context: the caller's account and region (from the SigV4 credential scope), request id and clock reading."""
import re
import uuid
from dataclasses import dataclass, field

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]{1,32})/")


@dataclass(frozen=True)
class RequestContext:
    """Who is calling, where, and when, for one request."""

    account: str
    region: str
    now: float
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def caller_scope(authorization: str | None) -> tuple[str, str]:
    """(account, region) named by an Authorization header; a 12-digit access key id is the account."""
    match = _CREDENTIAL.search(authorization or "")
    if not match:
        return DEFAULT_ACCOUNT, DEFAULT_REGION
    key, region = match.groups()
    account = key if len(key) == 12 and key.isdigit() else DEFAULT_ACCOUNT
    return account, region
