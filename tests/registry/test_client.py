"""The registry client against real CNCF Distribution registries (Debian's docker-registry) on loopback ports:
every outcome, mirrors, Basic and Bearer authentication, TLS, the plain-http rule, timeouts and retries."""

import json
import os
import re
import time

import pytest

from smimages.registry import (
    FAILURE_TEXTS,
    CredentialStore,
    InvalidReference,
    Outcome,
    RegistryClient,
    RegistrySettings,
    parse_mirror,
    parse_reference,
    resolve,
)
from smimages.registry.credentials import parse_auth_config
from smimages.registry.outcomes import MAX_FAILURE_REASON
from smimages.registry.transport import Transport
from support import ROOT
from support.registries import (
    DOCKER_MANIFEST,
    OCI_MANIFEST,
    Pusher,
    RegistryServer,
    ScriptedRegistry,
    SilentPort,
    TokenServer,
    closed_port,
    docker_config,
    sha256,
    tls_pair,
)

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
DOCS = ROOT / "docs" / "registry.md"
FAST = {"timeout": 2.0, "retries": 0}


def client(**settings) -> RegistryClient:
    """A client with test-sized timeouts whose retries do not sleep."""
    merged = RegistrySettings(**{**FAST, "check": True, **settings})
    return RegistryClient(merged, transport=Transport(merged, sleep=lambda seconds: None))


def prefix(image: str) -> str:
    return f"Failed to pull the container image '{image}': "


# -- registries --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """An open registry holding team/app in every shape the tests need; yields (server, digests by tag)."""
    server = RegistryServer(tmp_path_factory.mktemp("open-registry")).start()
    push = Pusher(server)
    digests = {
        "1.0": push.image("team/app", "1.0"),
        "latest": push.image("team/app", "latest", label="latest"),
        "oci": push.image("team/app", "oci", kind="oci"),
        "arm": push.image("team/app", "arm", architecture="arm64"),
    }
    digests["multi"] = push.index(
        "team/app", "multi", [(digests["1.0"], DOCKER_MANIFEST, "amd64"), (digests["arm"], DOCKER_MANIFEST, "arm64")]
    )
    digests["arm-only"] = push.index("team/app", "arm-only", [(digests["arm"], DOCKER_MANIFEST, "arm64")])
    digests["oci-entry"] = push.index("team/app", "oci-entry", [(digests["oci"], OCI_MANIFEST, "amd64")])
    digests["oci-index"] = push.index("team/app", "oci-index", [(digests["oci"], OCI_MANIFEST, "amd64")], kind="oci")
    digests["registry-1.0"] = push.registry_digest("team/app", "1.0")
    yield server, digests
    server.stop()


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory):
    """A registry with `auth: token` and its token service: alice may pull everything, carol only other/app."""
    workdir = tmp_path_factory.mktemp("token-registry")
    tokens = TokenServer(
        workdir, users={"alice": "wonder", "carol": "c4rol"}, grants={"alice": {"*"}, "carol": {"other/app"}}
    ).start()
    server = RegistryServer(workdir, auth=tokens.registry_auth()).start()
    digest = Pusher(server, basic=("alice", "wonder"), token_server=tokens).image("secure/app", "1")
    yield server, tokens, digest
    server.stop()
    tokens.stop()


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory):
    """A registry serving https with a certificate from a private CA; yields (server, CA file, digest)."""
    workdir = tmp_path_factory.mktemp("tls-registry")
    ca, certificate = tls_pair(workdir)
    server = RegistryServer(workdir, tls=(certificate.cert_path, certificate.key_path)).start()
    digest = Pusher(server, ca_file=ca.cert_path).image("tls/app", "1")
    yield server, ca.cert_path, digest
    server.stop()


# -- references --------------------------------------------------------------------------------------------------


def test_ecr_reference_is_parsed_into_its_parts():
    ref = parse_reference(f"{ECR}/my-repo:1.0")
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (ECR, "my-repo", "1.0", None)
    assert ref.pinned("sha256:" + "a" * 64) == f"{ECR}/my-repo@sha256:{'a' * 64}"


def test_reference_defaults_to_latest_and_a_digest_wins_over_a_tag():
    assert parse_reference("localhost:5000/team/app").reference == "latest"
    digest = "sha256:" + "b" * 64
    pinned = parse_reference(f"[::1]:5000/app:1.0@{digest}")
    assert (pinned.registry, pinned.tag, pinned.reference) == ("[::1]:5000", "1.0", digest)
    assert parse_reference(f"registry.example.com/app@{digest}").tag is None
    assert parse_reference("registry.example.com/a/b/c").repository == "a/b/c"


@pytest.mark.parametrize(
    "text, detail",
    [
        ("my-repo:1.0", "it does not start with a registry host"),
        ("team/app:1.0", "it does not start with a registry host"),
        ("", "it is empty or contains whitespace"),
        (f" {ECR}/app:1", "it is empty or contains whitespace"),
        (f"{ECR}/My-Repo:1", "repository names must be lowercase"),
        (f"{ECR}/app@sha512:" + "a" * 128, "only sha256 digests are supported"),
        (f"{ECR}/app@sha256:abc", "the digest must be sha256: followed by 64 lowercase hexadecimal digits"),
        (f"{ECR}/app:-bad", "'-bad' is not a valid tag"),
        (f"{ECR}/:1", "the repository name is missing"),
        (f"{ECR}/app//x", "'app//x' is not a valid repository name"),
        ("registry.example.com:99999/app", "the port in 'registry.example.com:99999' is out of range"),
        ("bad_host.example.com/app", "'bad_host.example.com' is not a valid registry host"),
        (
            f"{ECR}/{'a' * 140}",
            "the registry and repository together exceed 183 characters, "
            "so the digest-pinned ContainerImage would exceed 255",
        ),
    ],
)
def test_invalid_reference(text, detail):
    with pytest.raises(InvalidReference) as excinfo:
        parse_reference(text)
    assert excinfo.value.detail == detail
    resolution = resolve(text, RegistrySettings(check=True))
    assert resolution.outcome is Outcome.INVALID_REFERENCE and not resolution.found
    assert resolution.failure_reason == (
        prefix(text) + f"BaseImage is not a valid image URI ({detail}). "
        "Use <registry>/<repository>:<tag> or <registry>/<repository>@sha256:<digest>."
    )


def test_longest_accepted_name_still_fits_container_image():
    text = f"{ECR}/{'a' * (183 - len(ECR) - 1)}:1"
    assert len(parse_reference(text).pinned("sha256:" + "c" * 64)) == 255


# -- settings and credentials ----------------------------------------------------------------------------------


def test_mirrors_are_parsed_and_validated():
    assert parse_mirror(f"{ECR.upper()}=http://127.0.0.1:5000/") == (ECR, "http://127.0.0.1:5000")
    assert parse_mirror("registry.lan:5000=https://mirror.lan") == ("registry.lan:5000", "https://mirror.lan")
    for bad, message in [
        ("nohost", "must be HOST=URL"),
        (f"{ECR}=ftp://x", "must start with http:// or https://"),
        (f"{ECR}=http://x/prefix", "must be scheme://host[:port] with nothing after it"),
        ("bad_host=http://x", "is not a valid registry host"),
        (f"{ECR}=127.0.0.1:5000", "must start with http:// or https://"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            parse_mirror(bad)
    with pytest.raises(ValueError, match="given twice"):
        RegistrySettings(mirrors=[f"{ECR}=http://127.0.0.1:1", f"{ECR}=http://127.0.0.1:2"])


def test_settings_from_cli_options_and_environment(tmp_path):
    auth = docker_config(tmp_path / "config.json", {"r.example.com": ("u", "p")})
    ca, _ = tls_pair(tmp_path)
    from_flags = RegistrySettings.from_options(
        check="on",
        mirrors=[f"{ECR}=http://127.0.0.1:5000"],
        auth_file=str(auth),
        allow_http=True,
        ca_file=str(ca.cert_path),
        timeout=3,
        retries=1,
    )
    from_env = RegistrySettings.from_env(
        {
            "SMIMAGES_REGISTRY_CHECK": "on",
            "SMIMAGES_REGISTRY_MIRROR": f"{ECR}=http://127.0.0.1:5000",
            "SMIMAGES_REGISTRY_AUTH_FILE": str(auth),
            "SMIMAGES_REGISTRY_ALLOW_HTTP": "true",
            "SMIMAGES_REGISTRY_CA_FILE": str(ca.cert_path),
            "SMIMAGES_REGISTRY_TIMEOUT": "3",
            "SMIMAGES_REGISTRY_RETRIES": "1",
        }
    )
    assert from_flags == from_env
    assert (from_flags.check, dict(from_flags.mirrors), from_flags.auth_file, from_flags.timeout) == (
        True,
        {ECR: "http://127.0.0.1:5000"},
        auth,
        3.0,
    )
    assert RegistrySettings.from_env({}) == RegistrySettings() and not RegistrySettings().check
    assert hash(from_flags) == hash(from_env)  # hashable, so it can sit in a frozen settings object
    two = RegistrySettings.from_env({"SMIMAGES_REGISTRY_MIRROR": "a.io=http://127.0.0.1:1  b.io=https://b.lan"})
    assert dict(two.mirrors) == {"a.io": "http://127.0.0.1:1", "b.io": "https://b.lan"}


def test_bad_settings_fail_when_built(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    for kwargs, message in [
        ({"check": "maybe"}, "--registry-check must be on or off"),
        ({"auth_file": str(tmp_path / "missing.json")}, "cannot be read"),
        ({"auth_file": str(tmp_path / "broken.json")}, "are not valid JSON"),
        ({"auth_json": '{"auths": {"h.io": {"auth": "!!"}}}'}, "is not base64 of user:password"),
        ({"ca_file": str(tmp_path / "none.pem")}, "does not exist"),
        ({"timeout": 0}, "positive number of seconds"),
        ({"retries": -1}, "between 0 and 10"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            RegistrySettings.from_options(**kwargs)


def test_endpoint_is_plain_http_only_for_loopback_hosts_without_a_mirror():
    settings = RegistrySettings(mirrors={"mirrored.example.com": "http://127.0.0.1:5000"})
    urls = {
        host: settings.endpoint_for(host)[0].url
        for host in [
            "127.0.0.1:5000",
            "localhost:5000",
            "[::1]:5000",
            ECR,
            "registry.example.com:5000",
            "Mirrored.Example.com",
        ]
    }
    assert urls == {
        "127.0.0.1:5000": "http://127.0.0.1:5000",
        "localhost:5000": "http://localhost:5000",
        "[::1]:5000": "http://[::1]:5000",
        ECR: f"https://{ECR}",
        "registry.example.com:5000": "https://registry.example.com:5000",
        "Mirrored.Example.com": "http://127.0.0.1:5000",
    }


def test_credentials_from_docker_config_file_and_inline_json(tmp_path):
    auth_file = docker_config(
        tmp_path / "config.json",
        {"https://Registry.Example.com/v1/": ("ann", "a:b"), "other.example.com:5000": ("olga", "x")},
    )
    inline = json.dumps({"auths": {"other.example.com:5000": {"username": "env", "password": "y"}}})
    store = CredentialStore(auth_file, inline)
    assert store.lookup("registry.example.com").password == "a:b"
    assert store.lookup("other.example.com:5000").username == "env"
    assert store.lookup("unknown.example.com", "registry.example.com").username == "ann"
    assert store.lookup("unknown.example.com") is None
    assert "a:b" not in repr(store.lookup("registry.example.com"))
    time.sleep(0.01)
    docker_config(auth_file, {"registry.example.com": ("changed", "z")})
    os.utime(auth_file, (time.time() + 5, time.time() + 5))
    assert store.lookup("registry.example.com").username == "changed"
    assert parse_auth_config('{"auths": {}, "credsStore": "desktop"}', "test") == {}


# -- outcomes against a real registry ----------------------------------------------------------------------------


def test_tag_resolves_to_the_registrys_content_digest(registry):
    server, digests = registry
    resolution = client().resolve(f"{server.host}/team/app:1.0")
    assert resolution.found and resolution.failure_reason is None
    assert resolution.digest == digests["registry-1.0"] == digests["1.0"]
    assert resolution.container_image == f"{server.host}/team/app@{digests['1.0']}"
    assert resolution.media_type == DOCKER_MANIFEST


def test_reference_without_tag_resolves_latest(registry):
    server, digests = registry
    assert client().resolve(f"{server.host}/team/app").container_image == f"{server.host}/team/app@{digests['latest']}"


def test_digest_pinned_reference_is_checked_not_re_resolved(registry):
    server, digests = registry
    pinned = f"{server.host}/team/app@{digests['1.0']}"
    assert client().resolve(pinned).container_image == pinned
    tagged = client().resolve(f"{server.host}/team/app:latest@{digests['1.0']}")
    assert tagged.container_image == pinned  # the digest wins; the tag (pointing elsewhere) is not consulted


def test_missing_digest(registry):
    server, _ = registry
    missing = "sha256:" + "0" * 64
    resolution = client().resolve(f"{server.host}/team/app@{missing}")
    assert resolution.outcome is Outcome.IMAGE_NOT_FOUND and resolution.container_image is None
    assert resolution.failure_reason == prefix(f"{server.host}/team/app@{missing}") + (
        f"the image with digest {missing} does not exist in the repository 'team/app' in the registry {server.host}."
    )


def test_missing_tag(registry):
    server, _ = registry
    resolution = client().resolve(f"{server.host}/team/app:9.9")
    assert resolution.outcome is Outcome.IMAGE_NOT_FOUND
    assert resolution.failure_reason == prefix(f"{server.host}/team/app:9.9") + (
        f"the tag '9.9' does not exist in the repository 'team/app' in the registry {server.host}."
    )


def test_missing_repository(registry):
    server, _ = registry
    resolution = client().resolve(f"{server.host}/team/nothing:1.0")
    assert resolution.outcome is Outcome.REPOSITORY_NOT_FOUND
    assert resolution.failure_reason == prefix(f"{server.host}/team/nothing:1.0") + (
        f"the repository 'team/nothing' does not exist in the registry {server.host}."
    )


@pytest.mark.parametrize(
    "tag, kind, media_type",
    [
        ("oci", "OCI image manifest", OCI_MANIFEST),
        ("oci-index", "OCI image index", "application/vnd.oci.image.index.v1+json"),
        ("oci-entry", "OCI image manifest", OCI_MANIFEST),  # a Docker manifest list whose linux/amd64 entry is OCI
    ],
)
def test_oci_images_are_rejected(registry, tag, kind, media_type):
    server, _ = registry
    resolution = client().resolve(f"{server.host}/team/app:{tag}")
    assert resolution.outcome is Outcome.OCI_MANIFEST
    assert resolution.failure_reason == prefix(f"{server.host}/team/app:{tag}") + (
        f"the image has an {kind} ({media_type}), which is not supported. Use an image with a Docker image "
        "manifest V2, schema 2, for example one pushed with skopeo copy --format v2s2."
    )


def test_oci_image_pinned_by_digest_is_rejected(registry):
    server, digests = registry
    assert client().resolve(f"{server.host}/team/app@{digests['oci']}").outcome is Outcome.OCI_MANIFEST


def test_docker_manifest_list_pins_the_list_after_checking_its_linux_amd64_image(registry):
    server, digests = registry
    resolution = client().resolve(f"{server.host}/team/app:multi")
    assert resolution.found
    assert resolution.container_image == f"{server.host}/team/app@{digests['multi']}"
    assert resolution.platform_digest == digests["1.0"]


def test_manifest_list_without_linux_amd64(registry):
    server, _ = registry
    resolution = client().resolve(f"{server.host}/team/app:arm-only")
    assert resolution.outcome is Outcome.PLATFORM_NOT_FOUND
    assert resolution.failure_reason == prefix(f"{server.host}/team/app:arm-only") + (
        "the manifest list has no image for the platform linux/amd64."
    )


def test_mirror_resolves_an_ecr_uri_against_a_local_registry(registry):
    server, digests = registry
    resolution = client(mirrors=[f"{ECR}={server.url}"]).resolve(f"{ECR}/team/app:1.0")
    assert resolution.container_image == f"{ECR}/team/app@{digests['1.0']}"
    missing = client(mirrors={ECR.upper(): server.url}).resolve(f"{ECR}/team/app:nope")
    assert missing.failure_reason == prefix(f"{ECR}/team/app:nope") + (
        f"the tag 'nope' does not exist in the repository 'team/app' in the registry {ECR} (mirror {server.url})."
    )


# -- authentication -----------------------------------------------------------------------------------------------


def test_basic_auth_with_credentials_from_a_config_file(basic_registry, tmp_path):
    server, digest = basic_registry
    auth = docker_config(tmp_path / "config.json", {server.host: ("bob", "s3cret")})
    resolution = client(auth_file=auth).resolve(f"{server.host}/private/app:1")
    assert resolution.container_image == f"{server.host}/private/app@{digest}"


def test_basic_auth_with_credentials_from_the_environment(basic_registry):
    server, digest = basic_registry
    inline = json.dumps({"auths": {server.host: {"username": "bob", "password": "s3cret"}}})
    settings = RegistrySettings.from_env({"SMIMAGES_REGISTRY_CHECK": "on", "SMIMAGES_REGISTRY_AUTH": inline})
    assert resolve(f"{server.host}/private/app:1", settings).digest == digest


def test_mirrored_registry_takes_credentials_of_the_mirror_or_else_of_the_original_host(basic_registry):
    server, digest = basic_registry
    for key in (server.host, ECR):
        inline = json.dumps({"auths": {key: {"username": "bob", "password": "s3cret"}}})
        resolution = client(mirrors={ECR: server.url}, auth_json=inline).resolve(f"{ECR}/private/app:1")
        assert resolution.container_image == f"{ECR}/private/app@{digest}", key


def test_basic_auth_without_credentials(basic_registry):
    server, _ = basic_registry
    resolution = client().resolve(f"{server.host}/private/app:1")
    assert resolution.outcome is Outcome.AUTHENTICATION_REQUIRED
    assert resolution.failure_reason == prefix(f"{server.host}/private/app:1") + (
        f"the registry {server.host} requires authentication and no credentials are configured for it."
    )


def test_basic_auth_with_wrong_credentials(basic_registry):
    server, _ = basic_registry
    inline = json.dumps({"auths": {server.host: {"username": "bob", "password": "wrong"}}})
    resolution = client(auth_json=inline).resolve(f"{server.host}/private/app:1")
    assert resolution.outcome is Outcome.CREDENTIALS_REFUSED
    assert resolution.failure_reason == prefix(f"{server.host}/private/app:1") + (
        f"the registry {server.host} refused the configured credentials (HTTP 401)."
    )


def _alice(server, user="alice", password="wonder") -> str:
    return json.dumps({"auths": {server.host: {"username": user, "password": password}}})


def test_bearer_token_flow(token_registry):
    server, tokens, digest = token_registry
    before = len(tokens.requests)
    shared = client(auth_json=_alice(server))
    for _ in range(3):
        assert shared.resolve(f"{server.host}/secure/app:1").container_image == f"{server.host}/secure/app@{digest}"
    asked = tokens.requests[before:]
    assert asked == [
        {"user": "alice", "service": ["smimages-test-registry"], "scope": ["repository:secure/app:pull"]}
    ]  # one token, reused by the later resolutions


def test_bearer_missing_tag_and_repository_are_told_apart(token_registry):
    server, _, _ = token_registry
    alice = client(auth_json=_alice(server))
    assert alice.resolve(f"{server.host}/secure/app:2").outcome is Outcome.IMAGE_NOT_FOUND
    assert alice.resolve(f"{server.host}/secure/none:1").outcome is Outcome.REPOSITORY_NOT_FOUND


def test_bearer_anonymous_token_is_not_enough(token_registry):
    server, _, _ = token_registry
    resolution = client().resolve(f"{server.host}/secure/app:1")
    assert resolution.outcome is Outcome.AUTHENTICATION_REQUIRED


@pytest.mark.parametrize("user, password", [("alice", "wrong"), ("carol", "c4rol")])
def test_bearer_refused(token_registry, user, password):
    server, _, _ = token_registry
    resolution = client(auth_json=_alice(server, user, password)).resolve(f"{server.host}/secure/app:1")
    assert resolution.outcome is Outcome.CREDENTIALS_REFUSED
    assert resolution.failure_reason == prefix(f"{server.host}/secure/app:1") + (
        f"the registry {server.host} refused the configured credentials (HTTP 401)."
    )


# -- transport: TLS, plain http, timeouts, retries ----------------------------------------------------------------


def test_https_mirror_with_a_private_ca(tls_registry):
    server, ca_file, digest = tls_registry
    resolution = client(mirrors={"tls.example.com": server.url}, ca_file=ca_file).resolve("tls.example.com/tls/app:1")
    assert resolution.container_image == f"tls.example.com/tls/app@{digest}"


def test_https_certificate_not_trusted(tls_registry):
    server, _, _ = tls_registry
    resolution = client(mirrors={"tls.example.com": server.url}).resolve("tls.example.com/tls/app:1")
    assert resolution.outcome is Outcome.UNREACHABLE
    assert resolution.failure_reason == prefix("tls.example.com/tls/app:1") + (
        f"the registry tls.example.com (mirror {server.url}) could not be reached "
        "(TLS certificate verification failed: unable to get local issuer certificate)."
    )


def test_plain_http_to_a_non_loopback_endpoint_is_refused_unless_allowed():
    image = f"{ECR}/team/app:1"
    refused = client(mirrors={ECR: "http://192.0.2.1:5000"}).resolve(image)
    assert refused.outcome is Outcome.INSECURE_REGISTRY
    assert refused.failure_reason == prefix(image) + (
        "the registry endpoint http://192.0.2.1:5000 uses plain HTTP, which is allowed only for loopback "
        "addresses unless plain HTTP is explicitly allowed."
    )
    allowed = client(mirrors={ECR: "http://192.0.2.1:5000"}, allow_http=True, timeout=0.3).resolve(image)
    assert allowed.outcome is Outcome.UNREACHABLE  # it tried


def test_plain_http_token_realm_or_redirect_off_loopback_is_refused():
    def challenge(handler, count):
        return 401, {"WWW-Authenticate": 'Bearer realm="http://192.0.2.1/token",service="s"'}, b""

    def redirect(handler, count):
        return 307, {"Location": "http://192.0.2.1/v2/app/manifests/1"}, b""

    for script in (challenge, redirect):
        with ScriptedRegistry(script) as stub:
            resolution = client().resolve(f"{stub.host}/app:1")
        assert resolution.outcome is Outcome.INSECURE_REGISTRY, script.__name__
        assert "http://192.0.2.1" in resolution.failure_reason


@pytest.mark.parametrize(
    "name, outcome, detail",
    [
        ("realm-not-http", Outcome.UNREACHABLE, "(an unsupported URL 'ftp://127.0.0.1/token')."),
        ("redirect-loop", Outcome.UNREACHABLE, "(more than 5 redirects)."),
        ("negotiate", Outcome.REGISTRY_ERROR, "(unsupported authentication scheme Negotiate)."),
        ("token-without-token", Outcome.REGISTRY_ERROR, "answered without a token)."),
        ("not-json", Outcome.REGISTRY_ERROR, "(the manifest is not a JSON object)."),
    ],
)
def test_misbehaving_registries_end_in_a_failure_not_an_exception(name, outcome, detail):
    def script(handler, count):
        host = handler.headers["Host"]
        if name == "realm-not-http":
            return 401, {"WWW-Authenticate": 'Bearer realm="ftp://127.0.0.1/token"'}, b""
        if name == "redirect-loop":
            return 302, {"Location": "/v2/app/manifests/1"}, b""
        if name == "negotiate":
            return 401, {"WWW-Authenticate": "Negotiate"}, b""
        if name == "token-without-token":
            if handler.path.startswith("/token"):
                return 200, {"Content-Type": "application/json"}, b'{"nothing": 1}'
            return 401, {"WWW-Authenticate": f'Bearer realm="http://{host}/token",service="s"'}, b""
        return 200, {"Content-Type": DOCKER_MANIFEST}, b"<html>"

    with ScriptedRegistry(script) as stub:
        resolution = client().resolve(f"{stub.host}/app:1")
    assert resolution.outcome is outcome
    assert resolution.failure_reason.endswith(detail), resolution.failure_reason


def test_closed_port_is_unreachable():
    host = closed_port()
    resolution = client(retries=2).resolve(f"{host}/team/app:1")
    assert resolution.outcome is Outcome.UNREACHABLE
    assert resolution.failure_reason == prefix(f"{host}/team/app:1") + (
        f"the registry {host} could not be reached (connection to {host} refused)."
    )


def test_a_registry_that_never_answers_times_out_within_the_bound():
    with SilentPort() as silent:
        started = time.monotonic()
        resolution = client(timeout=0.3, retries=2).resolve(f"{silent.host}/team/app:1")
        elapsed = time.monotonic() - started
    assert resolution.outcome is Outcome.UNREACHABLE
    assert resolution.failure_reason == prefix(f"{silent.host}/team/app:1") + (
        f"the registry {silent.host} could not be reached (timed out after 0.3 s)."
    )
    assert elapsed < 0.3 * 3 + 0.5  # timeout * (retries + 1), plus scheduling slack


def _schema2(body: bytes = b'{"schemaVersion": 2, "mediaType": "' + DOCKER_MANIFEST.encode() + b'"}'):
    return 200, {"Content-Type": DOCKER_MANIFEST, "Docker-Content-Digest": sha256(body)}, body


def test_server_errors_are_retried():
    def flaky(handler, count):
        return (503, {}, b"") if count <= 2 else _schema2()

    with ScriptedRegistry(flaky) as stub:
        resolution = client(retries=2).resolve(f"{stub.host}/app:1")
    assert resolution.found and len(stub.paths) == 3
    assert resolution.container_image == f"{stub.host}/app@{_schema2()[1]['Docker-Content-Digest']}"


def test_persistent_server_error():
    def broken(handler, count):
        body = json.dumps({"errors": [{"code": "UNKNOWN", "message": "storage backend down"}]}).encode()
        return 500, {"Content-Type": "application/json"}, body

    with ScriptedRegistry(broken) as stub:
        resolution = client(retries=1).resolve(f"{stub.host}/app:1")
    assert len(stub.paths) == 2 and resolution.outcome is Outcome.REGISTRY_ERROR and resolution.transient
    assert resolution.failure_reason == prefix(f"{stub.host}/app:1") + (
        f"the registry {stub.host} returned an error (HTTP 500 UNKNOWN: storage backend down)."
    )


def test_schema_1_manifest_is_unsupported():
    body = b'{"schemaVersion": 1, "name": "app", "tag": "1", "fsLayers": []}'
    media_type = "application/vnd.docker.distribution.manifest.v1+prettyjws"

    with ScriptedRegistry(lambda h, n: (200, {"Content-Type": media_type}, body)) as stub:
        resolution = client().resolve(f"{stub.host}/app:1")
    assert resolution.outcome is Outcome.UNSUPPORTED_MANIFEST
    assert resolution.failure_reason == prefix(f"{stub.host}/app:1") + (
        f"the manifest media type {media_type} is not supported. "
        "Use an image with a Docker image manifest V2, schema 2."
    )


def test_manifest_that_does_not_match_its_digest():
    status, headers, body = _schema2()
    with ScriptedRegistry(
        lambda h, n: (status, {**headers, "Docker-Content-Digest": "sha256:" + "f" * 64}, body)
    ) as stub:
        resolution = client().resolve(f"{stub.host}/app:1")
    assert resolution.outcome is Outcome.REGISTRY_ERROR
    assert resolution.failure_reason.endswith(f"(the manifest does not match its digest sha256:{'f' * 64}).")


# -- the texts ----------------------------------------------------------------------------------------------------


def test_every_failure_has_one_text_and_docs_list_them_verbatim():
    assert set(FAILURE_TEXTS) == set(Outcome) - {Outcome.FOUND}
    docs = DOCS.read_text()
    for outcome, template in FAILURE_TEXTS.items():
        assert f"`{template}`" in docs, outcome


def test_failure_reason_never_exceeds_the_shape_limit():
    from smimages.registry.outcomes import failure_reason

    text = failure_reason(Outcome.REGISTRY_ERROR, "x" * 255, registry="r" * 255, detail="d" * 5000)
    assert len(text) <= MAX_FAILURE_REASON and "d" * 200 not in text
