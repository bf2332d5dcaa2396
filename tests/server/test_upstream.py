"""`serve --upstream URL` with moto's server as the upstream: what is forwarded, unchanged both ways; the custom images
a forwarded call names, checked first; SigV4 before forwarding; an upstream that is down or silent."""

import http.client
import json
import socket
import threading
import time
import urllib.parse

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from support import BASE, ROLE, error_of, free_port

ACCOUNT = "111122223333"
JSON11 = "application/x-amz-json-1.1"
ONE_ATTEMPT = Config(retries={"total_max_attempts": 1})
KERNEL = {"KernelSpecs": [{"Name": "python3"}]}


def domain_request(name: str, *custom_images: dict) -> dict:
    return {
        "DomainName": name,
        "AuthMode": "IAM",
        "SubnetIds": ["subnet-12345678"],
        "VpcId": "vpc-12345678",
        "DefaultUserSettings": {
            "ExecutionRole": ROLE,
            "KernelGatewayAppSettings": {"CustomImages": list(custom_images)},
        },
        "Tags": [{"Key": "team", "Value": "ml"}],
    }


def client(url: str, key: str = ACCOUNT, secret: str = "secret"):
    return boto3.session.Session().client(
        "sagemaker",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=ONE_ATTEMPT,
    )


def call(url: str, operation: str, params: dict, key: str = ACCOUNT) -> tuple[int, dict[str, str], bytes]:
    """One signed SageMaker request over a socket of its own: status, headers (lower-case names), body."""
    body = json.dumps(params).encode()
    request = AWSRequest(
        "POST", f"{url}/", data=body, headers={"Content-Type": JSON11, "X-Amz-Target": f"SageMaker.{operation}"}
    )
    SigV4Auth(Credentials(key, "secret"), "sagemaker", "us-east-1").add_auth(request)
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("POST", "/", body, dict(request.headers.items()))
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.fixture
def upstream(server_factory, moto):
    """smimages in front of moto's server."""
    return server_factory("--db", "sqlite://", "--upstream", moto.url).start()


@pytest.fixture
def catalog(upstream):
    """An image with a version and an app image config in account 111122223333, as a CustomImage names them."""
    sm = client(upstream.url)
    sm.create_image(ImageName="img", RoleArn=ROLE)
    sm.create_image_version(ImageName="img", BaseImage=BASE)
    sm.create_app_image_config(AppImageConfigName="cfg", KernelGatewayImageConfig=KERNEL)
    return {"ImageName": "img", "ImageVersionNumber": 1, "AppImageConfigName": "cfg"}


def test_domain_calls_reach_moto_and_image_calls_are_answered_here(upstream, moto, catalog):
    sm = client(upstream.url)
    created = sm.create_domain(**domain_request("studio", catalog))
    # the caller's account reaches moto (x-moto-account-id): the domain sits beside the images it names
    assert created["DomainArn"] == f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:domain/d-studio"
    described = sm.describe_domain(DomainId="d-studio")
    assert described["DefaultUserSettings"]["KernelGatewayAppSettings"]["CustomImages"] == [catalog]
    assert [d["DomainName"] for d in sm.list_domains()["Domains"]] == ["studio"]
    # tag calls go where the ARN's resource lives
    sm.add_tags(ResourceArn=created["DomainArn"], Tags=[{"Key": "owner", "Value": "me"}])
    assert sm.list_tags(ResourceArn=created["DomainArn"])["Tags"] == [
        {"Key": "team", "Value": "ml"},
        {"Key": "owner", "Value": "me"},
    ]
    config_arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:app-image-config/cfg"
    sm.add_tags(ResourceArn=config_arn, Tags=[{"Key": "k", "Value": "v"}])
    assert sm.list_tags(ResourceArn=config_arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    assert sm.describe_image_version(ImageName="img")["ImageVersionStatus"] == "CREATED"
    sm.delete_domain(DomainId="d-studio")
    assert sm.list_domains()["Domains"] == []
    # moto itself answers none of the image calls: they were smimages'
    with pytest.raises(ClientError) as exc:
        client(moto.url).list_app_image_configs()
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_answers_come_back_unchanged(upstream, moto):
    missing = {"DomainId": "d-missing"}
    direct, through = call(moto.url, "DescribeDomain", missing), call(upstream.url, "DescribeDomain", missing)
    assert through[0] == direct[0] == 400
    assert json.loads(through[2]) == {"__type": "ValidationException", "Message": "Could not find domain 'd-missing'."}
    assert through[2] == direct[2]
    for name in ("content-type", "x-amzn-errortype", "server"):
        assert through[1][name] == direct[1][name], name
    assert through[1]["x-amzn-requestid"]  # moto's own (a new one per request)
    # an operation moto lacks: its HTML 500, as it came
    update = {"DomainId": "d-missing", "DefaultUserSettings": {"ExecutionRole": ROLE}}
    direct, through = call(moto.url, "UpdateDomain", update), call(upstream.url, "UpdateDomain", update)
    assert (through[0], through[1]["content-type"], through[2]) == (direct[0], direct[1]["content-type"], direct[2])
    assert through[0] == 500 and through[2].startswith(b"<!doctype html>")


def test_missing_custom_images_are_refused_before_forwarding(upstream, catalog):
    sm = client(upstream.url)
    missing_config = {**catalog, "AppImageConfigName": "nope"}
    missing_version = {**catalog, "ImageVersionNumber": 7}
    missing_image = {"ImageName": "gone", "AppImageConfigName": "cfg"}
    with pytest.raises(ClientError) as exc:
        sm.create_domain(**domain_request("broken", catalog, missing_config, missing_version, missing_image))
    prefix = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}"
    assert error_of(exc) == (
        "ResourceNotFound",
        f"AppImageConfig with ARN {prefix}:app-image-config/nope does not exist; "
        f"ImageVersion with ARN {prefix}:image-version/img/7 does not exist; "
        f"Image with ARN {prefix}:image/gone does not exist",
    )
    assert sm.list_domains()["Domains"] == []  # moto never saw it
    # another account has none of them
    with pytest.raises(ClientError) as exc:
        client(upstream.url, key="444455556666").create_domain(**domain_request("other", catalog))
    assert error_of(exc)[0] == "ResourceNotFound" and "444455556666:image/img does not exist" in error_of(exc)[1]
    # wherever the model puts CustomImages: a user profile's JupyterLab settings, a space's kernel gateway
    profile = {"JupyterLabAppSettings": {"CustomImages": [missing_config]}}
    with pytest.raises(ClientError) as exc:
        sm.create_user_profile(DomainId="d-x", UserProfileName="u", UserSettings=profile)
    missing = f"AppImageConfig with ARN {prefix}:app-image-config/nope does not exist"
    assert error_of(exc) == ("ResourceNotFound", missing)
    space = {"KernelGatewayAppSettings": profile["JupyterLabAppSettings"]}
    with pytest.raises(ClientError) as exc:
        sm.update_space(DomainId="d-x", SpaceName="s", SpaceSettings=space)
    assert error_of(exc)[0] == "ResourceNotFound"
    # references that exist go through, to moto's own answer (it lacks UpdateDomain)
    with pytest.raises(ClientError) as exc:
        sm.update_domain(DomainId="d-x", DefaultUserSettings={"KernelGatewayAppSettings": {"CustomImages": [catalog]}})
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_sigv4_is_verified_before_forwarding(server_factory, moto, tmp_path):
    path = tmp_path / "credentials"
    path.write_text(
        "[team]\naws_access_key_id = AKIDTEAM\naws_secret_access_key = team-secret\naccount_id = 777788889999\n"
    )
    path.chmod(0o600)
    server = server_factory(
        "--db", "sqlite://", "--auth", "sigv4", "--credentials-file", str(path), "--upstream", moto.url
    ).start()
    request = {k: v for k, v in domain_request("signed").items() if k != "DefaultUserSettings"}
    request["DefaultUserSettings"] = {"ExecutionRole": ROLE}
    with pytest.raises(ClientError) as exc:
        client(server.url, "AKIDTEAM", "wrong-secret").create_domain(**request)
    assert error_of(exc)[0] == "InvalidSignatureException"
    with pytest.raises(ClientError) as exc:
        client(server.url, "AKIDNOBODY").create_domain(**request)
    assert error_of(exc)[0] == "UnrecognizedClientException"
    sm = client(server.url, "AKIDTEAM", "team-secret")
    assert sm.list_domains()["Domains"] == []  # neither refused call reached moto

    def choose_account(request, **_):
        request.headers["x-moto-account-id"] = "999999999999"

    sm.meta.events.register("before-sign.sagemaker.CreateDomain", choose_account)
    # the account is the credentials file's, in moto too, whatever account header the client sends
    assert sm.create_domain(**request)["DomainArn"] == "arn:aws:sagemaker:us-east-1:777788889999:domain/d-signed"


def test_an_upstream_that_is_down_is_a_502_naming_it(server_factory):
    down = f"http://127.0.0.1:{free_port()}"
    server = server_factory("--db", "sqlite://", env={"SMIMAGES_UPSTREAM": down}).start()
    started = time.monotonic()
    status, headers, body = call(server.url, "ListDomains", {})
    assert time.monotonic() - started < 10
    assert (status, headers["x-amzn-errortype"], headers["content-type"]) == (502, "BadGateway", JSON11)
    message = f"The upstream {down} did not answer ListDomains: Connection refused."
    assert json.loads(body) == {"__type": "BadGateway", "message": message, "Message": message}
    assert client(server.url).list_images()["Images"] == []  # smimages' own calls are unaffected


@pytest.fixture
def silent():
    """An upstream that accepts connections (the kernel's backlog does) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def test_a_silent_upstream_is_a_504_in_bounded_time_and_blocks_nothing_else(server_factory, silent):
    server = server_factory("--db", "sqlite://", "--upstream", silent, "--upstream-timeout", "2").start()
    answered = []
    forwarded = threading.Thread(target=lambda: answered.append(call(server.url, "ListDomains", {})))
    started = time.monotonic()
    forwarded.start()
    time.sleep(0.2)
    # served calls still go through (SQLite's are answered on the event loop, which forwarding never holds)
    sm = client(server.url)
    sm.create_image(ImageName="meanwhile", RoleArn=ROLE)
    assert [i["ImageName"] for i in sm.list_images()["Images"]] == ["meanwhile"]
    assert not answered, "the served calls were answered before the forwarded one gave up"
    forwarded.join(30)
    elapsed = time.monotonic() - started
    status, headers, body = answered[0]
    assert 2 <= elapsed < 15
    assert (status, headers["x-amzn-errortype"]) == (504, "GatewayTimeout")
    assert json.loads(body)["message"] == f"The upstream {silent} did not answer ListDomains within 2 seconds."


@pytest.fixture
def half_answering():
    """An upstream that sends the head of an answer and part of its body, then stalls ("stall") or hangs up."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    behaviour, connections = ["stall"], []

    def serve():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            connections.append(conn)
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 100\r\n\r\n{")
            if behaviour[0] == "hang up":
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", behaviour
    sock.close()
    for conn in connections:
        conn.close()


def test_an_answer_broken_off_is_a_502_and_one_that_stalls_a_504(server_factory, half_answering):
    url, behaviour = half_answering
    server = server_factory("--db", "sqlite://", "--upstream", url, "--upstream-timeout", "1").start()
    status, headers, body = call(server.url, "ListDomains", {})
    assert (status, headers["x-amzn-errortype"]) == (504, "GatewayTimeout")
    assert json.loads(body)["message"] == f"The upstream {url} did not answer ListDomains within 1 seconds."
    behaviour[0] = "hang up"
    status, headers, body = call(server.url, "ListDomains", {})
    assert (status, headers["x-amzn-errortype"]) == (502, "BadGateway")
    assert json.loads(body)["message"].startswith(f"The upstream {url} did not answer ListDomains: Connection broken")


def test_without_an_upstream_other_operations_are_unknown(server_factory):
    sm = client(server_factory("--db", "sqlite://").start().url)
    with pytest.raises(ClientError) as exc:
        sm.create_domain(**domain_request("studio"))
    assert error_of(exc)[0] == "UnknownOperationException"
    with pytest.raises(ClientError) as exc:
        sm.list_tags(ResourceArn=f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:domain/d-studio")
    assert error_of(exc) == ("ValidationException", "Resource does not exist")


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:21", "127.0.0.1:5000", "http://127.0.0.1:5000/?q=1"])
def test_serve_refuses_an_upstream_that_is_not_an_http_url(server_factory, url):
    server = server_factory("--db", "sqlite://", "--upstream", url)
    with pytest.raises(RuntimeError, match="the upstream must be an http:// or https:// URL"):
        server.start()
