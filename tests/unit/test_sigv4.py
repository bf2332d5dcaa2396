"""SigV4 verification on its own: requests signed by botocore's signer, checked by smimages' verifier."""

import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from smimages.auth import AccessKey, SignatureVerifier
from smimages.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

KEY = "AKIDALPHA"
SECRET = "alpha-secret-0123456789"


def verifier() -> SignatureVerifier:
    return SignatureVerifier({KEY: AccessKey(KEY, SECRET, "111111111111")})


def signed(target: str = "/", body: bytes = b"{}", region: str = "eu-west-1", headers: dict | None = None) -> dict:
    request = AWSRequest(
        method="POST",
        url=f"http://smimages.invalid{target}",
        data=body,
        headers={"X-Amz-Target": "SageMaker.ListImages", **(headers or {})},
    )
    SigV4Auth(Credentials(KEY, SECRET), "sagemaker", region).add_auth(request)
    return {name.lower(): value for name, value in request.headers.items()} | {"host": "smimages.invalid"}


@pytest.mark.parametrize("target", ["/", "/?b=2&a=1", "/a%20b"])
def test_a_request_signed_by_botocore_is_accepted_with_its_scope(target):
    assert verifier().authenticate("POST", target, signed(target), b"{}") == ("111111111111", "eu-west-1")


def test_any_change_to_what_was_signed_is_a_mismatch():
    headers = signed(body=b'{"MaxResults": 5}')
    for method, target, body, changed in (
        ("POST", "/", b'{"MaxResults": 6}', headers),
        ("PUT", "/", b'{"MaxResults": 5}', headers),
        ("POST", "/other", b'{"MaxResults": 5}', headers),
        ("POST", "/", b'{"MaxResults": 5}', {**headers, "x-amz-target": "SageMaker.ListAliases"}),
    ):
        with pytest.raises(InvalidSignatureException):
            verifier().authenticate(method, target, changed, body)


def test_the_checks_answer_in_corals_order():
    with pytest.raises(MissingAuthenticationTokenException):
        verifier().authenticate("POST", "/", {}, b"{}")
    with pytest.raises(IncompleteSignatureException):
        verifier().authenticate("POST", "/", {"authorization": "AWS4-HMAC-SHA256 Credential=x"}, b"{}")
    unknown = signed()
    unknown["authorization"] = unknown["authorization"].replace(KEY, "AKIDOTHER")
    with pytest.raises(UnrecognizedClientException):
        verifier().authenticate("POST", "/", unknown, b"{}")


def test_a_stale_signature_is_expired():
    stale = SignatureVerifier(verifier().keys, clock=lambda: time.time() + 3600)
    with pytest.raises(InvalidSignatureException, match="Signature expired"):
        stale.authenticate("POST", "/", signed(), b"{}")
