"""SageMaker requests serialized as boto3 would send them and SigV4-signed once, for replay by the load tool."""

import functools
from dataclasses import dataclass

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.serialize import create_serializer

ACCESS_KEY, SECRET_KEY, REGION = "AKIDEXAMPLE", "secret", "us-east-1"


@dataclass(frozen=True)
class SignedRequest:
    """One HTTP request to replay as is: method, path, headers (without Host and Content-Length) and body."""

    method: str
    path: str
    headers: dict[str, str]
    body: str


@functools.cache
def _service_model():
    return botocore.session.get_session().get_service_model("sagemaker")


def signed(port: int, operation: str, params: dict) -> SignedRequest:
    """The request boto3 would make for `operation(**params)` against 127.0.0.1:port, signed once."""
    wire = create_serializer("json").serialize_to_request(params, _service_model().operation_model(operation))
    request = AWSRequest(
        method=wire["method"],
        url=f"http://127.0.0.1:{port}{wire['url_path']}",
        data=wire["body"],
        headers=wire["headers"],
    )
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "sagemaker", REGION).add_auth(request)
    headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
    return SignedRequest(wire["method"], wire["url_path"], headers, wire["body"].decode())
