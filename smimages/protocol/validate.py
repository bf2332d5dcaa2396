"""Checks a decoded request against its botocore input shape and words failures as AWS's Coral front end does."""
import math

from botocore.model import Shape, StructureShape

from ..errors import SerializationException, ValidationException
from .javaregex import compiled

_INT_RANGE = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_JSON_KINDS = {
    "structure": "an object", "list": "an array", "string": "a string", "boolean": "a boolean",
    "integer": "an integer", "long": "an integer", "timestamp": "a number of epoch seconds",
}


def validate(shape: StructureShape, params: dict) -> dict:
    """Returns params restricted to the shape's members (timestamps as floats) or raises the AWS error."""
    errors: list[str] = []
    cleaned = _structure(shape, params, "", errors)
    if errors:
        plural = "s" if len(errors) > 1 else ""
        raise ValidationException(f"{len(errors)} validation error{plural} detected: " + "; ".join(errors))
    return cleaned


def java_repr(value) -> str:
    """Renders a value the way Coral's messages show it (Java toString style)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(java_repr(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={java_repr(v)}" for k, v in value.items()) + "}"
    return str(value)


def _violation(path: str, value, rule: str) -> str:
    shown = "null" if value is None else f"'{java_repr(value)}'"
    return f"Value {shown} at '{path}' failed to satisfy constraint: {rule}"


def _structure(shape: StructureShape, params, path: str, errors: list[str]) -> dict:
    _expect(shape, params, path)
    required = shape.required_members
    cleaned = {}
    for name, member in shape.members.items():
        member_path = f"{path}.{_camel(name)}" if path else _camel(name)
        value = params.get(name)
        if value is None:
            if name in required:
                errors.append(_violation(member_path, None, "Member must not be null"))
            continue
        cleaned[name] = _value(member, value, member_path, errors)
    return cleaned


def _value(shape: Shape, value, path: str, errors: list[str]):
    kind = shape.type_name
    if kind == "structure":
        return _structure(shape, value, path, errors)
    if kind == "list":
        return _list(shape, value, path, errors)
    value = _scalar(shape, value, path)
    errors.extend(_violation(path, value, rule) for rule in _rules(shape, value))
    return value


def _list(shape, value, path: str, errors: list[str]) -> list:
    _expect(shape, value, path)
    errors.extend(_violation(path, value, rule) for rule in _rules(shape, value))
    member = shape.member
    if member.type_name in ("structure", "list"):
        return [_value(member, item, f"{path}.{i}.member", errors) for i, item in enumerate(value, 1)]
    items, broken = [], []
    for i, item in enumerate(value, 1):
        if item is None:
            broken.append("Member must not be null")
            items.append(item)
            continue
        item = _scalar(member, item, f"{path}.{i}.member")
        items.append(item)
        broken.extend(rule for rule in _rules(member, item) if rule not in broken)
    if broken:
        errors.append(_violation(path, value, f"Member must satisfy constraint: [{', '.join(broken)}]"))
    return items


def _scalar(shape: Shape, value, path: str):
    _expect(shape, value, path)
    bounds = _INT_RANGE.get(shape.type_name)
    if bounds and not bounds[0] <= value <= bounds[1]:
        raise SerializationException(f"Number {value} at '{path}' is out of range for {shape.type_name}")
    if shape.type_name == "timestamp":
        seconds = float(value) if isinstance(value, float) or abs(value) < 2**53 else math.inf
        if not math.isfinite(seconds):
            raise SerializationException(f"Timestamp at '{path}' is out of range")
        return seconds
    if isinstance(value, str):
        _check_text(value, path)
    return value


def _check_text(value: str, path: str) -> None:
    """Refuses strings no store can hold: NUL characters and lone surrogates (from \\ud800-style escapes)."""
    if "\x00" in value:
        raise SerializationException(f"String at '{path}' contains a NUL character")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise SerializationException(f"String at '{path}' is not valid Unicode (unpaired surrogate)") from None


def _expect(shape: Shape, value, path: str) -> None:
    kind = shape.type_name
    ok = {
        "structure": isinstance(value, dict),
        "list": isinstance(value, list),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "long": isinstance(value, int) and not isinstance(value, bool),
        "timestamp": isinstance(value, (int, float)) and not isinstance(value, bool),
    }.get(kind, True)
    if not ok:
        where = f" at '{path}'" if path else ""
        raise SerializationException(f"Expected {_JSON_KINDS[kind]}{where}, got {_json_kind(value)}")


def _json_kind(value) -> str:
    for types, name in ((bool, "a boolean"), ((int, float), "a number"), (str, "a string"),
                        (list, "an array"), (dict, "an object")):
        if isinstance(value, types):
            return name
    return "null"


def _rules(shape: Shape, value) -> list[str]:
    """The constraint rules of shape that value breaks, in Coral's wording."""
    meta = shape.metadata
    broken = []
    if isinstance(value, (str, list)):
        size = _utf16_len(value) if isinstance(value, str) else len(value)
        if "min" in meta and size < meta["min"]:
            broken.append(f"Member must have length greater than or equal to {meta['min']}")
        if "max" in meta and size > meta["max"]:
            broken.append(f"Member must have length less than or equal to {meta['max']}")
    elif isinstance(value, int) and not isinstance(value, bool):
        if "min" in meta and value < meta["min"]:
            broken.append(f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            broken.append(f"Member must have value less than or equal to {meta['max']}")
    if isinstance(value, str):
        if shape.enum and value not in shape.enum:
            broken.append(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        pattern = meta.get("pattern")
        if pattern is not None and not compiled(pattern).fullmatch(value):
            broken.append(f"Member must satisfy regular expression pattern: {_shown_pattern(pattern)}")
    return broken


def _utf16_len(text: str) -> int:
    """String length as Java counts it (UTF-16 code units)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _shown_pattern(pattern: str) -> str:
    """The pattern as AWS prints it: anchored, unless the model pattern already anchors itself."""
    return pattern if "^" in pattern else f"^{pattern}$"


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]
