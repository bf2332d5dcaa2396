"""AWS JSON 1.1 framing on its own: request bodies to dicts, results to bytes, request ids."""

import json
import uuid

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smimages.context import new_request_id
from smimages.errors import SerializationException
from smimages.protocol.wire import Shaped, error_body, milliseconds, operation_name, parse_body, serialize
from smimages.spec import operation_model


def refusal(body: bytes) -> str | None:
    with pytest.raises(SerializationException) as excinfo:
        parse_body(body)
    return excinfo.value.message


@pytest.mark.parametrize(
    "body, field",
    [
        (b'{"a": "x:y", "a": "z"}', "a"),  # the ':' of the value lost to the repeat
        (b'{"a": "z", "b": {"c": "arn:aws:x", "c": 1}}', "c"),
        (b'{"k\\u003a": 1, "k:": 2}', "k:"),  # the same key, once escaped
        (b'{"a": "\\u003a", "b": 1, "b": 2}', "b"),
        (b'{"t": [{"k": "a:b"}, {"k": "c", "k": "d"}]}', "k"),
        (b'[{"a": 1, "a": 2}]', "a"),  # before "not an object"
        (b'{"a": {"x": 1, "x": 2}, "b": NaN}', "x"),  # before a bad number later in the body
        (b'{"a": {"x": 1, "x": 2}, "b": ', "x"),  # before the syntax error
        (b'{"a": {"x": 1, "x": 2}, "b": ' + b"[" * 40 + b"]" * 40 + b"}", "x"),  # before "too deep"
    ],
)
def test_a_repeated_key_at_any_level_is_refused_first(body, field):
    assert refusal(body) == f"Duplicate field '{field}'"


@pytest.mark.parametrize(
    "body",
    [
        b'{"RoleArn": "arn:aws:iam::123456789012:role/R", "Tags": [{"Key": "a:b", "Value": "::"}]}',
        b'{"k:": "v", "k\\u003b": "\\u003a"}',
        b'\xef\xbb\xbf {"a": ["b:c", {"d": "e"}]}\r\n',
    ],
)
def test_colons_in_strings_are_not_taken_for_repeated_keys(body):
    assert parse_body(body) == json.loads(body.decode("utf-8-sig"))


@pytest.mark.parametrize("body", [b'\x0c{"a": 1}', b"\xef\xbb\xbf\xef\xbb\xbf{}", b'{"a": 1} {}', b'{"a": 1e999}'])
def test_what_json_refuses_stays_refused(body):
    refusal(body)


def test_serialize_keeps_the_shape_order_and_members_and_rounds_timestamps():
    item = {
        "Version": 2,
        "Bogus": 1,
        "LastModifiedTime": 7,
        "FailureReason": None,
        "ImageArn": "a",
        "CreationTime": 1.23456,
    }
    result = {"NextToken": "t", "ImageVersions": [item, {}], "Extra": "x"}
    assert serialize(operation_model("ListImageVersions").output_shape, result) == (
        b'{"ImageVersions":[{"CreationTime":1.235,"ImageArn":"a","LastModifiedTime":7.0,"Version":2},{}],"NextToken":"t"}'
    )
    assert serialize(None, {"a": 1}) == b"{}"


@given(st.integers(min_value=0, max_value=4_102_444_800_000))  # whole milliseconds up to 2100
def test_milliseconds_keeps_a_time_in_whole_milliseconds_as_round_does(ms):
    seconds = ms / 1000
    assert milliseconds(seconds) == round(seconds, 3) == seconds


@given(
    st.floats(min_value=0, max_value=4_102_444_800)
    | st.integers(min_value=0, max_value=4_102_444_800_000).map(lambda ms: (ms + 0.5) / 1000)  # half milliseconds
)
def test_milliseconds_rounds_any_time_to_the_nearest_millisecond(seconds):
    assert abs(milliseconds(seconds) - seconds) <= 0.0005 + 1e-6
    assert milliseconds(seconds) == round(milliseconds(seconds), 3)  # a whole number of milliseconds
    if (seconds * 1000) % 1 == 0.5:  # half a millisecond, exactly: up, as the database rounds it
        assert milliseconds(seconds) > seconds


def test_request_ids_are_distinct_version_4_uuids():
    ids = [new_request_id() for _ in range(1000)]
    assert len(set(ids)) == 1000 and all(str(uuid.UUID(i)) == i and uuid.UUID(i).version == 4 for i in ids)


def test_the_target_names_a_sagemaker_operation():
    assert operation_name("SageMaker.DescribeImage") == "DescribeImage"
    assert operation_name("DynamoDB_20120810.ListTables") is None and operation_name(None) is None


def test_an_error_body_carries_the_message_under_both_spellings():
    error = SerializationException("bad")
    assert json.loads(error_body(error)) == {"__type": "SerializationException", "message": "bad", "Message": "bad"}
    assert json.loads(error_body(SerializationException())) == {"__type": "SerializationException"}


def test_a_page_orjson_refuses_still_carries_the_json_text_of_its_fragments():
    """The standard library's encoder, for what orjson refuses (here a lone surrogate), reads a Fragment's text."""
    shape = operation_model("ListAppImageConfigs").output_shape
    config = {"AppImageConfigName": "\ud800", "KernelGatewayImageConfig": orjson.Fragment('{"A":[1,"\u00e9"]}')}
    body = serialize(shape, {"AppImageConfigs": Shaped([config])})
    assert json.loads(body) == {
        "AppImageConfigs": [{"AppImageConfigName": "\ud800", "KernelGatewayImageConfig": {"A": [1, "\u00e9"]}}]
    }
