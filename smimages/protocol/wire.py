"""AWS JSON 1.1 framing: request bodies to dicts, output shapes to bytes, errors to AWS error bodies."""

import codecs
import functools
import json
import math
from collections.abc import Callable, Iterable
from typing import Any, NoReturn, cast

import orjson
from botocore.model import ListShape, Shape, StructureShape

from ..errors import RequestEntityTooLargeException, SerializationException, ServiceError

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "SageMaker."
# Framing limits (docs/security.md): the largest valid request of the served operations is far below each.
MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
MAX_HEADER_BYTES = 16 * 1024  # request target and headers together
MAX_HEADER_COUNT = 100


def _fragment_value(value: object) -> object:
    """The value of JSON text a list carries as it is (orjson.Fragment), for the standard library's encoder."""
    if type(value) is orjson.Fragment:
        return orjson.loads(orjson.dumps(value))
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# For what orjson refuses (a lone surrogate a client sent, quoted in an error message); every object and array it
# encodes is built fresh by _shaper, an operation (Shaped) or error_body, so none can contain itself.
_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False, default=_fragment_value)
# what shapes a value for the wire: shaped(value) -> the value to encode
_Shaped = Callable[[Any], Any]


def _reject_constant(name: str) -> NoReturn:
    raise SerializationException(f"'{name}' is not a valid JSON number")


def too_large() -> RequestEntityTooLargeException:
    return RequestEntityTooLargeException(f"Request must be smaller than {MAX_BODY_BYTES} bytes.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise SerializationException(f"Number {text[:40]} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        # set.add returns None (falsy): the test records each key as it goes
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise SerializationException(f"Duplicate field '{duplicate[:128]}'")
    return value


_JSON_SPACE = " \t\n\r"
_CONTAINERS = (dict, list)
_QUICK = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
_STRICT = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float, object_pairs_hook=_unique_keys)


def _census(document: dict[str, Any]) -> tuple[int, int, int]:
    """(members of its objects, ':' in its string values, nesting depth) of a decoded request; the body is level 1."""
    members = colons = depth = 0
    level: list[dict[str, Any] | list[Any]] = [document]
    node: Iterable[Any]
    while level:
        depth += 1
        inner: list[dict[str, Any] | list[Any]] = []
        for node in level:
            if isinstance(node, dict):
                members += len(node)
                node = node.values()
            for child in node:
                if isinstance(child, str):
                    colons += child.count(":")
                elif isinstance(child, _CONTAINERS):
                    inner.append(child)
        level = inner
    return members, colons, depth


def _none_repeated(text: str, census: tuple[int, int, int]) -> bool:
    """Whether decoding text kept every member, given the _census of what it kept.

    Each member takes one ':' outside strings, so none was repeated if the members kept account for every ':' that
    is not in a string value; without escapes in text, those are exactly the ':' seen in the decoded values.
    """
    members, colons, _ = census
    return members == text.count(":") - (colons if "\\" not in text else 0)


def parse_body(body: bytes) -> dict[str, Any]:
    """Decodes a request body (UTF-8 JSON object); an empty body is an empty request."""
    if len(body) > MAX_BODY_BYTES:
        raise too_large()
    if not body.strip():
        return {}
    try:
        text = (body[3:] if body.startswith(codecs.BOM_UTF8) else body).decode()
    except UnicodeDecodeError:
        raise SerializationException("Request body is not valid UTF-8") from None
    document = _quick_parse(text)
    census = _census(document) if isinstance(document, dict) else None
    if census is None or not _none_repeated(text, census):
        document = _strict_parse(text)  # refused, not an object or maybe a repeated key: parse checking each object
        if not isinstance(document, dict):
            raise SerializationException("Request body must be a JSON object")
        census = _census(document)
    if census[2] > MAX_JSON_DEPTH:
        raise SerializationException(f"JSON nesting is deeper than {MAX_JSON_DEPTH} levels")
    parsed: dict[str, Any] = document  # an object: only an object has a census
    return parsed


def _quick_parse(text: str) -> Any:
    """The JSON value of text, its objects not checked for repeated keys; None if text is refused (or is null)."""
    text = text.strip(_JSON_SPACE)
    try:
        value, end = _QUICK.raw_decode(text)
    except (ValueError, RecursionError, SerializationException):
        return None
    return value if end == len(text) else None


def _strict_parse(text: str) -> Any:
    """The JSON value of text, each object checked for a repeated key; raises the body's SerializationException."""
    try:
        return _STRICT.decode(text)
    except (ValueError, RecursionError):
        raise SerializationException() from None


def operation_name(target: str | None) -> str | None:
    """The operation named by an X-Amz-Target header, if it is a SageMaker target."""
    if target and target.startswith(TARGET_PREFIX):
        return target[len(TARGET_PREFIX) :]
    return None


def serialize(shape: Shape | None, value: dict[str, Any]) -> bytes:
    """Encodes an operation result, keeping only the output shape's members."""
    if shape is None:
        return b"{}"
    shaped = _shaper(shape)
    return _encode(value if shaped is None else shaped(value))


def _encode(document: object) -> bytes:
    """Compact JSON, UTF-8 as AWS sends it (orjson: a tenth of the standard library's cost per response)."""
    try:
        return orjson.dumps(document)
    except orjson.JSONEncodeError:
        return _ENCODER.encode(document).encode()


class Shaped(list[Any]):
    """A list whose items an operation built in their wire form already (the shape's members only, in its order, no
    None, timestamps to the millisecond): serialize sends it as it is. For long lists of summaries, where shaping each
    item costs as much as building it (and operations build each item in their own loop: a call per item cost a third
    of the rest); tests/api/test_wire_forms.py holds each such list against the plain shaping."""


@functools.cache
def _shaper(shape: Shape) -> _Shaped | None:
    """What shapes a value of shape for the wire (None: it goes out as it is); cached per shape object."""
    kind = shape.type_name
    if kind == "structure":
        return _structure_shaper(cast(StructureShape, shape))
    if kind == "list":
        shaped = _shaper(cast(ListShape, shape).member)
        if shaped is None:
            return list
        return lambda value: value if type(value) is Shaped else [shaped(item) for item in value]
    if kind == "timestamp":
        return milliseconds
    return None


def _structure_shaper(shape: StructureShape) -> _Shaped:
    """Keeps the members the shape names and the value sets (not None), in the shape's order."""
    members = tuple((name, _shaper(member)) for name, member in shape.members.items())

    def shaped(value: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, member in members:
            item = value.get(name)
            if item is not None:
                out[name] = item if member is None else member(item)
        return out

    return shaped


def milliseconds(seconds: float) -> float:
    """Epoch seconds as the wire carries them: rounded to the millisecond, through the whole number of them, half a
    millisecond up (several times cheaper than round(seconds, 3), and the same for a time in whole milliseconds, as
    Service.now's are). store.sql.to_millisecond rounds list pages' times in the database with the same operations,
    so the two agree on every time (due times, imports' times) to the bit."""
    return math.floor(seconds * 1000 + 0.5) / 1000


def error_body(error: ServiceError) -> bytes:
    """The AWS JSON error document, with the message under both spellings SDKs read."""
    doc = {"__type": error.code}
    if error.message is not None:
        doc["message"] = doc["Message"] = error.message
    return _encode(doc)
