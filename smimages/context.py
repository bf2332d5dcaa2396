"""Per-request context: the caller's account and region (from the SigV4 credential scope), request id and clock reading."""
import random
import re
from dataclasses import dataclass, field

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]{1,32})/")


def new_request_id() -> str:
    """A random (version 4) UUID, as AWS request ids are; not for secrets (it is cheaper than uuid.uuid4())."""
    bits = random.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48) | (0x4000 << 64) | (0x8000 << 48)
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@dataclass(frozen=True)
class RequestContext:
    """Who is calling, where, and when, for one request."""

    account: str
    region: str
    now: float
    request_id: str = field(default_factory=new_request_id)


def caller_scope(authorization: str | None) -> tuple[str, str]:
    """(account, region) named by an Authorization header; a 12-digit access key id is the account."""
    match = _CREDENTIAL.search(authorization or "")
    if not match:
        return DEFAULT_ACCOUNT, DEFAULT_REGION
    key, region = match.groups()
    account = key if len(key) == 12 and key.isdigit() else DEFAULT_ACCOUNT
    return account, region
