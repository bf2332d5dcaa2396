"""AWS JSON 1.1 framing: request bodies to dicts, output shapes to bytes, errors to AWS error bodies."""
import json
import math

from botocore.model import Shape

from ..errors import RequestEntityTooLargeException, SerializationException, ServiceError

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "SageMaker."
# Framing limits (docs/security.md): the largest valid request of the served operations is far below each.
MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
MAX_HEADER_BYTES = 16 * 1024  # request target and headers together
MAX_HEADER_COUNT = 100


def _reject_constant(name: str):
    raise SerializationException(f"'{name}' is not a valid JSON number")


def too_large() -> RequestEntityTooLargeException:
    return RequestEntityTooLargeException(f"Request must be smaller than {MAX_BODY_BYTES} bytes.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise SerializationException(f"Number {text[:40]} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise SerializationException(f"Duplicate field '{duplicate[:128]}'")
    return value


def _check_depth(value) -> None:
    """Refuses arrays and objects nested deeper than MAX_JSON_DEPTH (the served shapes need 3)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise SerializationException(f"JSON nesting is deeper than {MAX_JSON_DEPTH} levels")
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def parse_body(body: bytes) -> dict:
    """Decodes a request body (UTF-8 JSON object); an empty body is an empty request."""
    if len(body) > MAX_BODY_BYTES:
        raise too_large()
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SerializationException("Request body is not valid UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float,
                           object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        raise SerializationException() from None
    if not isinstance(value, dict):
        raise SerializationException("Request body must be a JSON object")
    _check_depth(value)
    return value


def operation_name(target: str | None) -> str | None:
    """The operation named by an X-Amz-Target header, if it is a SageMaker target."""
    if target and target.startswith(TARGET_PREFIX):
        return target[len(TARGET_PREFIX):]
    return None


def serialize(shape: Shape | None, value: dict) -> bytes:
    """Encodes an operation result, keeping only the output shape's members."""
    return json.dumps(_shaped(shape, value) if shape is not None else {}, separators=(",", ":")).encode()


def _shaped(shape: Shape, value):
    kind = shape.type_name
    if kind == "structure":
        return {name: _shaped(member, value[name])
                for name, member in shape.members.items() if value.get(name) is not None}
    if kind == "list":
        return [_shaped(shape.member, item) for item in value]
    if kind == "timestamp":
        return round(value, 3)
    return value


def error_body(error: ServiceError) -> bytes:
    """The AWS JSON error document, with the message under both spellings SDKs read."""
    doc = {"__type": error.code}
    if error.message is not None:
        doc["message"] = doc["Message"] = error.message
    return json.dumps(doc, separators=(",", ":")).encode()
