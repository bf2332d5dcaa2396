"""Request validation, generated from the botocore model: every constraint on every served input member."""

import functools
import json
import re
from collections import Counter
from copy import deepcopy
from dataclasses import dataclass

import botocore.session
import pytest
import regex
from botocore import xform_name
from botocore.exceptions import ClientError
from botocore.model import Shape

from smimages.operations import OPERATIONS
from support import ROLE, error_of

pytestmark = pytest.mark.sqlite_only  # validation and framing never reach the store

SERVED_OPERATIONS = tuple(OPERATIONS)

MODEL = botocore.session.get_session().get_service_model("sagemaker")
JSON11 = "application/x-amz-json-1.1"
MISSING = object()  # a member left out of the request
NOT_NULL = "Member must not be null"
CONSTRAINT_REPORT = re.compile(r"\d+ validation errors? detected: ")

# Valid values for string shapes whose pattern a plain "a" does not satisfy (keyed by shape, not member).
EXAMPLES = {
    "ImageName": "my-image",
    "RoleArn": "arn:aws:iam::123456789012:role/R",
    "ImageBaseImage": "repo:1",
    "ClientToken": "tok",
    "ResourceArn": "arn:aws:sagemaker:us-east-1:000000000000:image/my-image",
    "TagKey": "k",
    "TagValue": "v",
    "MLFramework": "PyTorch 2.1",
    "ProgrammingLang": "Python 3.10",
    "ImageDeleteProperty": "DisplayName",
    "AppImageConfigName": "my-config",
    "MountPath": "/home/sagemaker-user",
}
ASTRAL = ("😀", "𠀀")  # two UTF-16 units each: an emoji, and a CJK letter for \p{L} patterns
WRONG_TYPE = {
    "map": "x",
    "string": 5,
    "integer": "abc",
    "long": "abc",
    "boolean": "yes",
    "timestamp": "yesterday",
    "list": "x",
    "structure": "x",
}


# ---- the model's constraints, worded as AWS words them -------------------------------------------


@functools.cache
def compiled(pattern: str):
    return regex.compile(pattern)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fits_pattern(shape: Shape, text: str) -> bool:
    pattern = shape.metadata.get("pattern")
    return pattern is None or compiled(pattern).fullmatch(text) is not None


def pattern_rule(shape: Shape) -> str:
    pattern = shape.metadata["pattern"]
    shown = pattern if "^" in pattern else f"^{pattern}$"
    return f"Member must satisfy regular expression pattern: {shown}"


def broken(shape: Shape, value) -> list[str]:
    """The rules value breaks, in AWS's order and wording (the oracle the expected messages come from)."""
    if value is MISSING:
        return [NOT_NULL]
    meta, rules = shape.metadata, []
    if shape.type_name in ("string", "list", "map"):
        size, word = (utf16_len(value) if isinstance(value, str) else len(value)), "length"
    else:
        size, word = value, "value"
    if "min" in meta and size < meta["min"]:
        rules.append(f"Member must have {word} greater than or equal to {meta['min']}")
    if "max" in meta and size > meta["max"]:
        rules.append(f"Member must have {word} less than or equal to {meta['max']}")
    if shape.type_name == "string":
        if shape.enum and value not in shape.enum:
            rules.append(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        if not fits_pattern(shape, value):
            rules.append(pattern_rule(shape))
    if shape.type_name == "list" and shape.member.type_name == "string":
        inner = list(dict.fromkeys(rule for item in value for rule in broken(shape.member, item)))
        if inner:
            rules.append(f"Member must satisfy constraint: [{', '.join(inner)}]")
    if shape.type_name == "map":
        for part, items in (("keys", value.keys()), ("value", value.values())):
            inner = list(
                dict.fromkeys(rule for item in items for rule in broken(getattr(shape, part.rstrip("s")), item))
            )
            if inner:
                rules.append(f"Map {part} must satisfy constraint: [{', '.join(inner)}]")
    return rules


def java_string(value) -> str:
    """Value as Java's toString shows it in AWS messages."""
    if isinstance(value, list):
        return "[" + ", ".join(java_string(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={java_string(v)}" for k, v in value.items()) + "}"
    return str(value)


def message(path: str, value, rules: list[str]) -> str:
    shown = "null" if value is MISSING else f"'{java_string(value)}'"
    items = [f"Value {shown} at '{path}' failed to satisfy constraint: {rule}" for rule in rules]
    plural = "s" if len(items) > 1 else ""
    return f"{len(items)} validation error{plural} detected: " + "; ".join(items)


# ---- values built from the model -----------------------------------------------------------------


def text(shape: Shape, units: int | None = None, index: int = 0) -> str:
    """An ASCII string for shape, matching its pattern if trimming or padding an example can.

    units: the exact length (default: the example's, within the bounds); index: a suffix telling list elements apart.
    """
    meta, example = shape.metadata, EXAMPLES.get(shape.name, "a")
    candidates = []
    for seed in ([f"{example}{index}"] if index else []) + [example]:
        size = units if units is not None else min(max(len(seed), meta.get("min", 0)), meta.get("max", len(seed)))
        gap = size - len(seed)
        candidates += [seed[:size]] if gap <= 0 else [seed + c * gap for c in "a1"] + [c * gap + seed for c in "a1"]
    return next((c for c in candidates if fits_pattern(shape, c)), candidates[0])


def astral(shape: Shape, units: int) -> str | None:
    """Exactly `units` UTF-16 units, mostly of two-unit characters, that the pattern accepts; or None."""
    for char in ASTRAL:
        candidate = char * (units // 2) + "a" * (units % 2)
        if fits_pattern(shape, candidate):
            return candidate
    return None


def off_pattern(shape: Shape) -> str | None:
    """A string of valid length the pattern rejects ('!' first, then a newline), or None if it accepts both."""
    meta = shape.metadata
    size = min(max(3, meta.get("min", 0)), meta.get("max", 3))
    for bad in "!\n":
        candidate = f"a{bad}".ljust(size, "b")
        if not fits_pattern(shape, candidate):
            return candidate
    return None


def valid(shape: Shape, index: int = 0):
    """A value of shape that satisfies every constraint (structures: their required members)."""
    kind, meta = shape.type_name, shape.metadata
    if kind == "structure":
        return {name: valid(shape.members[name], index) for name in shape.required_members}
    if kind == "list":
        return [valid(shape.member, i) for i in range(max(meta.get("min", 1), 1))]
    if kind == "map":
        return {valid(shape.key, i): valid(shape.value, i) for i in range(max(meta.get("min", 1), 1))}
    if kind == "string":
        return shape.enum[0] if shape.enum else text(shape, index=index)
    return {"integer": 1, "long": 1, "boolean": True, "timestamp": 1704067200}[kind]


def baseline(op: str) -> dict:
    return valid(MODEL.operation_model(op).input_shape)


# ---- walking the input shapes --------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    keys: tuple  # member names and list indexes from the request root
    path: str  # the path AWS prints
    shape: Shape
    required: bool


def camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def members(shape: Shape, keys: tuple = (), path: str = ""):
    """Every member reachable from shape, depth first; elements of structure lists at index 1."""
    for name, member in shape.members.items():
        member_keys, member_path = (*keys, name), f"{path}.{camel(name)}" if path else camel(name)
        yield Member(member_keys, member_path, member, name in shape.required_members)
        if member.type_name == "structure":
            yield from members(member, member_keys, member_path)
        if member.type_name == "list" and member.member.type_name == "structure":
            yield from members(member.member, (*member_keys, 0), f"{member_path}.1.member")


def served_members():
    for op in SERVED_OPERATIONS:
        for member in members(MODEL.operation_model(op).input_shape):
            yield op, member


def with_value(op: str, keys: tuple, value) -> dict:
    """The operation's baseline request with the member at keys replaced (MISSING: removed)."""
    request = baseline(op)
    node, shape = request, MODEL.operation_model(op).input_shape
    for key in keys[:-1]:
        shape = shape.members[key] if isinstance(key, str) else shape.member
        if isinstance(key, str) and key not in node:
            node[key] = valid(shape)
        node = node[key]
    if value is MISSING:
        node.pop(keys[-1], None)
    else:
        node[keys[-1]] = deepcopy(value)
    return request


def string_violations(shape: Shape):
    meta = shape.metadata
    if meta.get("min", 0) > 0:
        yield "min", text(shape, meta["min"] - 1)
    if "max" in meta:
        yield "max", text(shape, meta["max"] + 1)
        wide = astral(shape, meta["max"] + 1)
        if wide and len(wide) <= meta["max"]:  # too long only when counted in UTF-16 units
            yield "max-utf16", wide
    if shape.enum:
        yield "enum", "bogus"
    if "pattern" in meta and (bad := off_pattern(shape)):
        yield "pattern", bad


def violations(member: Member):
    """(kind, value) pairs that each break one constraint of the member."""
    shape, meta = member.shape, member.shape.metadata
    if member.required:
        yield "required", MISSING
    if shape.type_name == "string":
        yield from string_violations(shape)
    elif shape.type_name in ("integer", "long"):
        if "min" in meta:
            yield "min", meta["min"] - 1
        if "max" in meta:
            yield "max", meta["max"] + 1
    elif shape.type_name == "list":
        if meta.get("min", 0) > 0:
            yield "min", [valid(shape.member, i) for i in range(meta["min"] - 1)]
        if "max" in meta:
            yield "max", [valid(shape.member, i) for i in range(meta["max"] + 1)]
        if shape.member.type_name == "string":
            for kind, bad in string_violations(shape.member):
                yield f"member-{kind}", [valid(shape.member), bad]
    elif shape.type_name == "map":
        entries = [(valid(shape.key, i), valid(shape.value, i)) for i in range(meta.get("max", 1) + 1)]
        if "max" in meta:
            yield "max", dict(entries)
        for kind, bad in string_violations(shape.key):
            yield f"key-{kind}", {bad: valid(shape.value)}
        for kind, bad in string_violations(shape.value):
            yield f"value-{kind}", {valid(shape.key): bad}


def boundaries(member: Member):
    """(kind, value) pairs exactly at a bound, which the server must accept."""
    shape, meta = member.shape, member.shape.metadata
    candidates = []
    if shape.type_name == "string":
        candidates = [(f"at-{bound}", text(shape, meta[bound])) for bound in ("min", "max") if bound in meta]
        if "max" in meta and (wide := astral(shape, meta["max"])):
            candidates.append(("at-max-utf16", wide))
    elif shape.type_name in ("integer", "long"):
        candidates = [(f"at-{bound}", meta[bound]) for bound in ("min", "max") if bound in meta]
    elif shape.type_name == "list":
        candidates = [
            (f"at-{bound}", [valid(shape.member, i) for i in range(meta[bound])])
            for bound in ("min", "max")
            if bound in meta
        ]
    elif shape.type_name == "map":
        candidates = [
            (f"at-{bound}", {valid(shape.key, i): valid(shape.value, i) for i in range(meta[bound])})
            for bound in ("min", "max")
            if bound in meta
        ]
    return [(kind, value) for kind, value in candidates if not broken(shape, value)]


def wrong_types(member: Member):
    """A JSON value of the wrong type for the member (and for a list's element)."""
    shape = member.shape
    yield shape.type_name, WRONG_TYPE[shape.type_name]
    if shape.type_name == "list":
        yield "member", [WRONG_TYPE[shape.member.type_name]]
    if shape.type_name == "map":
        yield "value", {"k": WRONG_TYPE[shape.value.type_name]}


def generate(cases, with_message=False):
    """pytest params (operation, request[, expected message]) for every served member's cases."""
    params = []
    for op, member in served_members():
        for kind, value in cases(member):
            extra = [message(member.path, value, broken(member.shape, value))] if with_message else []
            params.append(pytest.param(op, with_value(op, member.keys, value), *extra, id=f"{op}-{member.path}-{kind}"))
    return params


VIOLATIONS = generate(violations, with_message=True)
BOUNDARIES = generate(boundaries)
WRONG_TYPES = generate(wrong_types)


# ---- calling the server --------------------------------------------------------------------------


def call(client, op: str, request: dict):
    return getattr(client, xform_name(op))(**request)


def rejection(client, op: str, request: dict) -> tuple[str, str]:
    with pytest.raises(ClientError) as excinfo:
        call(client, op, request)
    return error_of(excinfo)


def sdk_fills_in(op: str, request: dict) -> bool:
    """Whether botocore would add a member the request leaves out (an idempotency token), even unvalidated."""
    shape = MODEL.operation_model(op).input_shape
    return any(
        member.metadata.get("idempotencyToken") and name not in request for name, member in shape.members.items()
    )


def assert_passes_validation(client, op: str, request: dict) -> None:
    """The request may fail later (no such image, ...), but not on a constraint."""
    try:
        call(client, op, request)
    except ClientError as error:
        assert not CONSTRAINT_REPORT.match(error.response["Error"]["Message"]), error.response["Error"]


def post(service, op: str, body: bytes):
    headers = {"x-amz-target": f"SageMaker.{op}", "content-type": JSON11}
    response = service.app.handle("POST", "/", headers, body)
    return response.status, dict(response.headers), json.loads(response.body)


# ---- tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("op, request_, expected", VIOLATIONS)
def test_constraint_violation(service, raw, op, request_, expected):
    if sdk_fills_in(op, request_):
        status, _, doc = post(service, op, json.dumps(request_).encode())
        assert (status, doc["__type"], doc["message"]) == (400, "ValidationException", expected)
    else:
        assert rejection(raw, op, request_) == ("ValidationException", expected)


@pytest.mark.parametrize("op, request_", BOUNDARIES)
def test_value_at_a_bound_is_accepted(raw, op, request_):
    assert_passes_validation(raw, op, request_)


@pytest.mark.parametrize("op", SERVED_OPERATIONS)
def test_baseline_request_is_valid(raw, op):
    assert_passes_validation(raw, op, baseline(op))


def test_the_model_yields_cases_for_every_operation():
    per_operation = Counter(param.values[0] for param in VIOLATIONS)
    assert set(per_operation) == set(SERVED_OPERATIONS) and len(VIOLATIONS) > 50


def test_several_violations_are_listed_in_member_order(raw):
    tags = [{"Key": "k", "Value": "v"}, {"Key": "", "Value": "v"}]
    assert rejection(raw, "CreateImage", {"Tags": tags, "ImageName": "bad_name", "RoleArn": ROLE}) == (
        "ValidationException",
        "2 validation errors detected: "
        "Value 'bad_name' at 'imageName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ^[a-zA-Z0-9]([-.]?[a-zA-Z0-9]){0,62}$; "
        "Value '' at 'tags.2.member.key' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
    )


@pytest.mark.parametrize("op, request_", WRONG_TYPES)
def test_wrong_json_type_is_a_serialization_error(service, op, request_):
    status, headers, doc = post(service, op, json.dumps(request_).encode())
    assert (status, doc["__type"], headers["x-amzn-errortype"]) == (
        400,
        "SerializationException",
        "SerializationException",
    )


@pytest.mark.parametrize(
    "op, request_",
    [
        ("ListImages", {"MaxResults": "abc"}),
        (
            "CreateImageVersion",
            {"ImageName": "my-image", "BaseImage": "repo:1", "ClientToken": "tok", "Horovod": "yes"},
        ),
    ],
)
def test_wrong_type_through_boto3(raw, op, request_):
    with pytest.raises(ClientError) as excinfo:
        call(raw, op, request_)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error_of(excinfo)[0] == "SerializationException"


# Java's regex dialect, which AWS validates with: '.' stops at every line terminator, \d and \s are ASCII.
@pytest.mark.parametrize(
    "terminator",
    [
        pytest.param("\n", id="LF"),
        pytest.param("\r", id="CR"),
        pytest.param("\u0085", id="NEL"),
        pytest.param("\u2028", id="LS"),
        pytest.param("\u2029", id="PS"),
    ],
)
def test_dot_stops_at_java_line_terminators(raw, terminator):
    value = f"a{terminator}b"
    shape = MODEL.operation_model("CreateImage").input_shape.members["Description"]
    expected = message("description", value, [pattern_rule(shape)])
    assert rejection(raw, "CreateImage", {**baseline("CreateImage"), "Description": value}) == (
        "ValidationException",
        expected,
    )


def test_digits_are_ascii_only(raw):
    arn = "arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:role/R"
    shape = MODEL.operation_model("CreateImage").input_shape.members["RoleArn"]
    assert rejection(raw, "CreateImage", {"ImageName": "my-image", "RoleArn": arn}) == (
        "ValidationException",
        message("roleArn", arn, [pattern_rule(shape)]),
    )


def test_non_ascii_space_is_not_whitespace(raw):
    assert_passes_validation(raw, "CreateImage", {**baseline("CreateImage"), "DisplayName": "\u00a0"})


@pytest.mark.parametrize("value", ["a\x00b", "\ud800", "x\udfffy"])
def test_strings_no_store_can_hold_are_refused(service, value):
    import json

    body = json.dumps({"ImageName": "img", "RoleArn": "arn:aws:iam::123456789012:role/R", "Description": value})
    response = service.app.handle("POST", "/", {"x-amz-target": "SageMaker.CreateImage"}, body.encode())
    assert response.status == 400 and json.loads(response.body)["__type"] == "SerializationException"
    assert service.client().list_images()["Images"] == []


@pytest.mark.parametrize("length", [3, 300])  # shorter and longer than the strings whose matches are remembered
def test_a_pattern_is_checked_at_any_length_and_every_time(raw, length):
    shape = MODEL.operation_model("CreateImage").input_shape.members["Description"]
    bad, good = "a" * (length - 1) + "\n", "a" * length
    for _ in range(2):  # the second time the answers may come from memory
        assert rejection(raw, "CreateImage", {**baseline("CreateImage"), "Description": bad}) == (
            "ValidationException",
            message("description", bad, [pattern_rule(shape)]),
        )
        assert_passes_validation(raw, "CreateImage", {**baseline("CreateImage"), "Description": good})


def test_paths_inside_lists_and_nested_objects(service):
    tags = [{"Key": "k", "Value": "v"}, {"Key": "k2"}, {"Key": "", "Value": 5}]
    body = json.dumps({"ResourceArn": EXAMPLES["ResourceArn"], "Tags": tags}).encode()
    assert post(service, "AddTags", body)[2]["message"] == "Expected a string at 'tags.3.member.value', got a number"
    tags[2]["Value"] = "v"
    assert post(service, "AddTags", json.dumps({"ResourceArn": EXAMPLES["ResourceArn"], "Tags": tags}).encode())[2][
        "message"
    ] == (
        "2 validation errors detected: "
        "Value null at 'tags.2.member.value' failed to satisfy constraint: Member must not be null; "
        "Value '' at 'tags.3.member.key' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )
