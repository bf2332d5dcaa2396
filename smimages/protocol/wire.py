"""AWS JSON 1.1 framing: request bodies to dicts, output shapes to bytes, errors to AWS error bodies."""
import json

from botocore.model import Shape

from ..errors import SerializationException, ServiceError

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "SageMaker."


def _reject_constant(name: str):
    raise SerializationException(f"'{name}' is not a valid JSON number")


def parse_body(body: bytes) -> dict:
    """Decodes a request body; an empty body is an empty request."""
    if not body.strip():
        return {}
    try:
        value = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise SerializationException() from None
    if not isinstance(value, dict):
        raise SerializationException("Request body must be a JSON object")
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
