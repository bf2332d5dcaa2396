"""Digits are ASCII digits wherever smimages matches them: str.isdigit, int() and \\d also take superscripts and other
scripts' digits, which would make accounts, dates and tags no other call accepts."""

import pytest

from smimages.auth import Anonymous, SignatureVerifier
from smimages.context import DEFAULT_ACCOUNT, caller_scope
from smimages.errors import IncompleteSignatureException
from smimages.registry.reference import InvalidReference, parse_reference

OTHER_DIGITS = [
    "¹²³¹²³¹²³¹²³",
    "١٢٣٤٥٦٧٨٩٠١٢",
    "１２３４５６７８９０１２",
    "߁߂߃߄߅߆߇߈߉߀߁߂",
]  # superscript, Arabic-Indic, fullwidth, NKo


def authorization(key: str, day: str = "20260101") -> str:
    return f"AWS4-HMAC-SHA256 Credential={key}/{day}/us-west-2/sagemaker/aws4_request, SignedHeaders=host, Signature=x"


@pytest.mark.parametrize("key", OTHER_DIGITS)
def test_an_access_key_of_other_digits_is_not_an_account(key):
    assert key.isdigit() or key.isdecimal()  # what the old check accepted
    assert caller_scope(authorization(key)) == (DEFAULT_ACCOUNT, "us-west-2")
    assert Anonymous().authenticate("POST", "/", {"authorization": authorization(key)}, b"") == (
        DEFAULT_ACCOUNT,
        "us-west-2",
    )


def test_an_access_key_of_twelve_ascii_digits_is_the_account():
    assert caller_scope(authorization("123456789012")) == ("123456789012", "us-west-2")


@pytest.mark.parametrize("day", ["２０２６０１０１", "٢٠٢٦٠١٠١"])
def test_a_credential_scope_date_of_other_digits_names_no_region(day):
    assert caller_scope(authorization("123456789012", day)) == (DEFAULT_ACCOUNT, "us-east-1")


@pytest.mark.parametrize(
    "date", ["٢٠٢٦٠١٠١T٠٠٠٠٠٠Z", "20260101T000000Z".translate(str.maketrans("0123456789", "０１２３４５６７８９"))]
)
def test_an_x_amz_date_of_other_digits_is_refused(date):
    headers = {"authorization": authorization("AKID", "20260101"), "x-amz-date": date, "host": "h"}
    with pytest.raises(IncompleteSignatureException, match="ISO-8601"):
        SignatureVerifier({}).authenticate("POST", "/", headers, b"{}")


def test_an_http_date_of_other_digits_is_refused():
    headers = {"authorization": authorization("AKID", "20260101"), "date": "Thu, ٠١ Jan 2026 00:00:00 GMT", "host": "h"}
    with pytest.raises(IncompleteSignatureException, match="ISO-8601"):
        SignatureVerifier({}).authenticate("POST", "/", headers, b"{}")


@pytest.mark.parametrize("tag", ["v١", "ünïcode", "tag²"])
def test_an_image_tag_outside_dockers_ascii_grammar_is_refused(tag):
    with pytest.raises(InvalidReference):
        parse_reference(f"registry.example.com/repo:{tag}")
