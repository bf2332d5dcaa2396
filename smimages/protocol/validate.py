"""Checks a decoded request against its botocore input shape and words failures as AWS's Coral front end does.

Each shape is compiled once into a checker, a closure holding its constraints and the texts of the rules it can
break, so a request pays only for the comparisons: check(value, path, errors) returns the cleaned value, appends
constraint violations to errors and raises SerializationException for a value of the wrong JSON type. Top-level
member paths are precomputed; nested ones are formatted only for the members and elements a request has.
"""

import functools
import math
from collections.abc import Callable
from typing import Any, NoReturn, cast

from botocore.model import ListShape, MapShape, Shape, StringShape, StructureShape

from ..errors import SerializationException, ValidationException
from .javaregex import matcher

_INT_RANGE = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_JSON_KINDS = {
    "structure": "an object",
    "list": "an array",
    "map": "an object",
    "string": "a string",
    "boolean": "a boolean",
    "integer": "an integer",
    "long": "an integer",
    "timestamp": "a number of epoch seconds",
}
_NOT_NULL = "Member must not be null"

# check(value, path, errors) -> the cleaned value; violations appended to errors
_Check = Callable[[Any, str, list[str]], Any]
# the elements of an array, checked: check_items(value, path, errors) -> the cleaned elements
_CheckItems = Callable[[list[Any], str, list[str]], list[Any]]
# clean(value, path) -> the value to keep, after checking its JSON type
_Clean = Callable[[Any, str], Any]
# rules(value) -> the constraint rules a clean value breaks
_Rules = Callable[[Any], list[str]]
# (limit, rule text) of a min or max constraint, None when the shape has none
_Bound = tuple[int, str] | None


def validate(shape: StructureShape, params: dict[str, Any]) -> dict[str, Any]:
    """Returns params restricted to the shape's members (timestamps as floats) or raises the AWS error."""
    errors: list[str] = []
    cleaned: dict[str, Any] = _checker(shape)(params, "", errors)
    if errors:
        plural = "s" if len(errors) > 1 else ""
        raise ValidationException(f"{len(errors)} validation error{plural} detected: " + "; ".join(errors))
    return cleaned


def java_repr(value: object) -> str:
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


def _violation(path: str, value: object, rule: str) -> str:
    """One entry of a ValidationException's list."""
    shown = "null" if value is None else f"'{java_repr(value)}'"
    return f"Value {shown} at '{path}' failed to satisfy constraint: {rule}"


@functools.cache
def _checker(shape: Shape) -> _Check:
    """The compiled check of shape's values, cached per shape object (model shapes live as long as the process)."""
    kind = shape.type_name
    if kind == "structure":
        return _structure_checker(cast(StructureShape, shape))
    if kind == "list":
        return _list_checker(cast(ListShape, shape))
    if kind == "map":
        return _map_checker(cast(MapShape, shape))
    clean, rules = _scalar(shape)
    if rules is None:
        return lambda value, path, errors: clean(value, path)

    def check(value: Any, path: str, errors: list[str]) -> Any:
        value = clean(value, path)
        broken = rules(value)
        if broken:
            errors.extend(_violation(path, value, rule) for rule in broken)
        return value

    return check


def _structure_checker(shape: StructureShape) -> _Check:
    """Checks an object member by member, in model order, keeping only the model's members."""
    required = shape.required_members
    members = tuple((name, _camel(name), _checker(member), name in required) for name, member in shape.members.items())

    def check(value: Any, path: str, errors: list[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            _mismatch("structure", value, path)
        cleaned: dict[str, Any] = {}
        for name, camel, check_member, needed in members:
            item = value.get(name)
            if item is None and not needed:
                continue
            member_path = f"{path}.{camel}" if path else camel
            if item is None:
                errors.append(_violation(member_path, None, _NOT_NULL))
            else:
                cleaned[name] = check_member(item, member_path, errors)
        return cleaned

    return check


def _list_checker(shape: ListShape) -> _Check:
    """Checks an array's length, then its elements (scalar elements' broken rules are reported once, for the list)."""
    too_short, too_long = _bounds(shape.metadata, "length")
    check_items = (
        _nested_items(shape.member)
        if shape.member.type_name in ("structure", "list")
        else (_scalar_items(shape.member))
    )

    def check(value: Any, path: str, errors: list[str]) -> list[Any]:
        if not isinstance(value, list):
            _mismatch("list", value, path)
        if too_short and len(value) < too_short[0]:
            errors.append(_violation(path, value, too_short[1]))
        if too_long and len(value) > too_long[0]:
            errors.append(_violation(path, value, too_long[1]))
        return check_items(value, path, errors)

    return check


def _map_checker(shape: MapShape) -> _Check:
    """Checks an object of string keys and scalar values: its size, then every key and value; their broken rules make
    one violation each for the whole map, worded as Coral words them ("Map keys must satisfy constraint: [...]")."""
    too_short, too_long = _bounds(shape.metadata, "length")
    clean_key, key_rules = _scalar(shape.key)
    clean_value, value_rules = _scalar(shape.value)

    def check(value: Any, path: str, errors: list[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            _mismatch("map", value, path)
        if too_short and len(value) < too_short[0]:
            errors.append(_violation(path, value, too_short[1]))
        if too_long and len(value) > too_long[0]:
            errors.append(_violation(path, value, too_long[1]))
        cleaned: dict[str, Any] = {}
        broken_keys: list[str] = []
        broken_values: list[str] = []
        for key, item in value.items():
            key = clean_key(key, path)
            if key_rules is not None:
                broken_keys.extend(rule for rule in key_rules(key) if rule not in broken_keys)
            if item is None:
                if _NOT_NULL not in broken_values:
                    broken_values.append(_NOT_NULL)
                continue
            cleaned[key] = item = clean_value(item, f"{path}.{key}")
            if value_rules is not None:
                broken_values.extend(rule for rule in value_rules(item) if rule not in broken_values)
        if broken_keys:
            errors.append(_violation(path, value, f"Map keys must satisfy constraint: [{', '.join(broken_keys)}]"))
        if broken_values:
            errors.append(_violation(path, value, f"Map value must satisfy constraint: [{', '.join(broken_values)}]"))
        return cleaned

    return check


def _nested_items(member: Shape) -> _CheckItems:
    """Checks the elements of an array of objects or arrays, each at its own path."""
    check_item = _checker(member)
    return lambda value, path, errors: [
        check_item(item, f"{path}.{i}.member", errors) for i, item in enumerate(value, 1)
    ]


def _scalar_items(member: Shape) -> _CheckItems:
    """Checks the elements of an array of scalars; their broken rules make one violation of the whole array."""
    clean, rules = _scalar(member)

    def check_items(value: list[Any], path: str, errors: list[str]) -> list[Any]:
        items: list[Any]
        broken: list[str]
        items, broken = [], []
        for i, item in enumerate(value, 1):
            if item is None:
                broken.append(_NOT_NULL)
                items.append(item)
                continue
            item = clean(item, f"{path}.{i}.member")
            items.append(item)
            if rules is not None:
                broken.extend(rule for rule in rules(item) if rule not in broken)
        if broken:
            errors.append(_violation(path, value, f"Member must satisfy constraint: [{', '.join(broken)}]"))
        return items

    return check_items


def _scalar(shape: Shape) -> tuple[_Clean, _Rules | None]:
    """(clean, rules) for a scalar shape: clean(value, path) checks the JSON type (raising) and returns the value to
    keep; rules(value) lists the constraint rules a clean value breaks, in Coral's order (None: it has none)."""
    kind = shape.type_name
    if kind == "string":
        return _clean_string, _string_rules(cast(StringShape, shape))
    if kind in _INT_RANGE:
        return _integer_cleaner(kind), _number_rules(shape.metadata)
    if kind == "boolean":
        return _clean_boolean, None
    if kind == "timestamp":
        return _clean_timestamp, None
    raise TypeError(f"no served input member is of type {kind}")


def _clean_string(value: object, path: str) -> str:
    """A JSON string that a store can hold: no NUL characters, no lone surrogates (from \\ud800-style escapes)."""
    if not isinstance(value, str):
        _mismatch("string", value, path)
    if "\x00" in value:
        raise SerializationException(f"String at '{path}' contains a NUL character")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise SerializationException(f"String at '{path}' is not valid Unicode (unpaired surrogate)") from None
    return value


def _integer_cleaner(kind: str) -> _Clean:
    """clean for integer or long: a JSON integer within the Java type's range."""
    low, high = _INT_RANGE[kind]

    def clean(value: object, path: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            _mismatch(kind, value, path)
        if not low <= value <= high:
            raise SerializationException(f"Number {value} at '{path}' is out of range for {kind}")
        return value

    return clean


def _clean_boolean(value: object, path: str) -> bool:
    """A JSON boolean."""
    if not isinstance(value, bool):
        _mismatch("boolean", value, path)
    return value


def _clean_timestamp(value: object, path: str) -> float:
    """A JSON number of epoch seconds, as a finite float."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        _mismatch("timestamp", value, path)
    seconds = float(value) if isinstance(value, float) or abs(value) < 2**53 else math.inf
    if not math.isfinite(seconds):
        raise SerializationException(f"Timestamp at '{path}' is out of range")
    return seconds


def _mismatch(kind: str, value: object, path: str) -> NoReturn:
    """Raises the error for a value of the wrong JSON type."""
    where = f" at '{path}'" if path else ""
    raise SerializationException(f"Expected {_JSON_KINDS[kind]}{where}, got {_json_kind(value)}")


def _json_kind(value: object) -> str:
    """The JSON type of a decoded value, as the error for a wrong type names it."""
    for types, name in (
        (bool, "a boolean"),
        ((int, float), "a number"),
        (str, "a string"),
        (list, "an array"),
        (dict, "an object"),
    ):
        if isinstance(value, types):
            return name
    return "null"


def _string_rules(shape: StringShape) -> Callable[[str], list[str]] | None:
    """rules for a string shape: length in UTF-16 units, enum, then pattern (None when it has no constraint)."""
    too_short, too_long = _bounds(shape.metadata, "length")
    enum, pattern = shape.enum, shape.metadata.get("pattern")
    if not (too_short or too_long or enum or pattern is not None):
        return None
    allowed, off_enum = frozenset(enum), f"Member must satisfy enum value set: [{', '.join(enum)}]"
    fits = matcher(pattern) if pattern is not None else None
    off_pattern = (
        f"Member must satisfy regular expression pattern: {_shown_pattern(pattern)}" if pattern is not None else None
    )

    def rules(value: str) -> list[str]:
        broken = []
        size = len(value) if value.isascii() else _utf16_len(value)
        if too_short and size < too_short[0]:
            broken.append(too_short[1])
        if too_long and size > too_long[0]:
            broken.append(too_long[1])
        if enum and value not in allowed:
            broken.append(off_enum)
        if fits is not None and not fits(value):
            broken.append(cast(str, off_pattern))  # set whenever fits is (both come from the pattern)
        return broken

    return rules


def _number_rules(meta: dict[str, Any]) -> Callable[[int], list[str]] | None:
    """rules for an integer shape: its value bounds (None when it has none)."""
    too_small, too_large = _bounds(meta, "value")
    if not (too_small or too_large):
        return None

    def rules(value: int) -> list[str]:
        broken = []
        if too_small and value < too_small[0]:
            broken.append(too_small[1])
        if too_large and value > too_large[0]:
            broken.append(too_large[1])
        return broken

    return rules


def _bounds(meta: dict[str, Any], measure: str) -> tuple[_Bound, ...]:
    """(min, rule text) and (max, rule text) for a shape's length or value; None for a bound it lacks."""
    return tuple(
        (meta[bound], f"Member must have {measure} {relation} {meta[bound]}") if bound in meta else None
        for bound, relation in (("min", "greater than or equal to"), ("max", "less than or equal to"))
    )


def _utf16_len(text: str) -> int:
    """String length as Java counts it (UTF-16 code units; a lone surrogate is one)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _shown_pattern(pattern: str) -> str:
    """The pattern as AWS prints it: anchored, unless the model pattern already anchors itself."""
    return pattern if "^" in pattern else f"^{pattern}$"


def _camel(name: str) -> str:
    """A member name as Coral's paths spell it."""
    return name[:1].lower() + name[1:]
