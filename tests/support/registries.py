"""Real registries for tests: Debian's docker-registry (CNCF Distribution) on loopback ports, pushes through its
HTTP API, a Bearer token service, TLS certificates, and scripted stand-ins for misbehaving registries."""

import base64
import datetime
import gzip
import hashlib
import http.client
import http.server
import io
import json
import socket
import ssl
import subprocess
import tarfile
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from smimages.net import free_port

from .debian import ensure_command

REGISTRY_BINARY = "docker-registry"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_LAYER_TYPES = {
    "docker": (
        "application/vnd.docker.container.image.v1+json",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        DOCKER_MANIFEST,
    ),
    "oci": ("application/vnd.oci.image.config.v1+json", "application/vnd.oci.image.layer.v1.tar+gzip", OCI_MANIFEST),
}


# -- installing and running the registry -----------------------------------------------------------------------


def ensure_registry_binary() -> str:
    """The docker-registry executable; Debian's package is installed when it is missing."""
    return ensure_command(REGISTRY_BINARY, (REGISTRY_BINARY,))


class RegistryServer:
    """`docker-registry serve config.yml` on a free loopback port with its own storage directory.

    auth: None, {"htpasswd": path} or {"token": {"realm":..., "service":..., "issuer":..., "rootcertbundle":...}};
    tls: (certificate path, key path) or None."""

    def __init__(self, workdir: Path, auth: dict | None = None, tls: tuple[Path, Path] | None = None):
        self.binary = ensure_registry_binary()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.auth = auth
        self.tls = tls
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def host(self) -> str:
        """As a BaseImage names it: 127.0.0.1:<port>."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    def _config(self) -> str:
        lines = [
            "version: 0.1",
            "log:",
            "  level: warn",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.workdir / 'data'}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
            f"  secret: {uuid.uuid4().hex}",
        ]
        if self.tls:
            lines += ["  tls:", f"    certificate: {self.tls[0]}", f"    key: {self.tls[1]}"]
        if self.auth and "htpasswd" in self.auth:
            lines += ["auth:", "  htpasswd:", "    realm: smimages-test", f"    path: {self.auth['htpasswd']}"]
        elif self.auth and "token" in self.auth:
            lines += ["auth:", "  token:"] + [f"    {k}: {v}" for k, v in self.auth["token"].items()]
        return "\n".join(lines) + "\n"

    def start(self) -> "RegistryServer":
        errors = []
        for _ in range(3):  # a free port can be taken between choosing and binding it
            self.port = free_port()
            config = self.workdir / "config.yml"
            config.write_text(self._config())
            log = open(self.workdir / "registry.log", "wb")
            self.proc = subprocess.Popen(
                [self.binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
            log.close()
            if self._wait_ready():
                return self
            self.stop()
            errors.append((self.workdir / "registry.log").read_text(errors="replace")[-3000:])
        raise RuntimeError("docker-registry did not start:\n" + "\n---\n".join(errors))

    def _wait_ready(self, seconds: float = 15.0) -> bool:
        context = ssl._create_unverified_context() if self.tls else None
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                conn = (
                    http.client.HTTPSConnection("127.0.0.1", self.port, timeout=1, context=context)
                    if self.tls
                    else http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                )
                conn.request("GET", "/v2/")
                status = conn.getresponse().status
                conn.close()
                if status in (200, 401):
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def write_htpasswd(path: Path, users: dict[str, str]) -> Path:
    """An htpasswd file with bcrypt hashes (the only kind the registry accepts)."""
    lines = [f"{user}:{bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=4)).decode()}" for user, pw in users.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def docker_config(path: Path, auths: dict[str, tuple[str, str]]) -> Path:
    """A docker config.json with `auth` entries for host -> (user, password)."""
    entries = {host: {"auth": base64.b64encode(f"{u}:{p}".encode()).decode()} for host, (u, p) in auths.items()}
    path.write_text(json.dumps({"auths": entries}))
    return path


# -- certificates ------------------------------------------------------------------------------------------------


@dataclass
class KeyPair:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    cert_path: Path
    key_path: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificate(
    directory: Path,
    stem: str,
    common_name: str,
    issuer: KeyPair | None = None,
    ca: bool = False,
    sans: tuple[str, ...] = (),
) -> KeyPair:
    """An RSA key and a certificate (self-signed without an issuer), written as PEM files."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.UTC)
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.cert.subject if issuer else _name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if sans:
        names = []
        for san in sans:
            try:
                import ipaddress

                names.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                names.append(x509.DNSName(san))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(signer_key, hashes.SHA256())
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    return KeyPair(key, cert, cert_path, key_path)


def tls_pair(directory: Path) -> tuple[KeyPair, KeyPair]:
    """(CA, server certificate for 127.0.0.1 and localhost signed by it)."""
    ca = make_certificate(directory, "ca", "smimages test CA", ca=True)
    return ca, make_certificate(directory, "server", "127.0.0.1", issuer=ca, sans=("127.0.0.1", "localhost"))


# -- a Bearer token service ------------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class TokenServer:
    """The token endpoint of the Docker Registry token authentication spec, in a thread.

    GET /token?service=...&scope=repository:<name>:pull: without credentials a token granting nothing (like
    Docker Hub's anonymous tokens), with wrong credentials 401, with right ones a token granting the actions the
    user may have on that repository (`grants`: user -> repository names, "*" for all). Tokens are RS256 JWTs
    whose x5c header carries the certificate the registry trusts (its rootcertbundle)."""

    def __init__(
        self,
        workdir: Path,
        users: dict[str, str],
        grants: dict[str, set[str]],
        service: str = "smimages-test-registry",
        issuer: str = "smimages-test-token-issuer",
    ):
        self.users, self.grants, self.service, self.issuer = users, grants, service, issuer
        self.signing = make_certificate(workdir, "token-signing", "smimages test token signer")
        self.requests: list[dict] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server._handle(self)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def registry_auth(self) -> dict:
        return {
            "token": {
                "realm": self.realm,
                "service": self.service,
                "issuer": self.issuer,
                "rootcertbundle": str(self.signing.cert_path),
            }
        }

    def start(self) -> "TokenServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handle(self, handler) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(handler.path).query)
        user = None
        header = handler.headers.get("Authorization", "")
        if header.startswith("Basic "):
            name, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if self.users.get(name) != password:
                self.requests.append({"user": name, "refused": True})
                return _reply(handler, 401, {"details": "incorrect username or password"})
            user = name
        access = []
        for scope in query.get("scope", []):
            kind, _, rest = scope.partition(":")
            repository, _, actions = rest.rpartition(":")
            allowed = self.grants.get(user, set()) if user else set()
            if kind == "repository" and ("*" in allowed or repository in allowed):
                access.append({"type": "repository", "name": repository, "actions": actions.split(",")})
        self.requests.append({"user": user, "service": query.get("service"), "scope": query.get("scope")})
        _reply(handler, 200, {"token": self.token(user or "", access), "expires_in": 300})

    def token(self, subject: str, access: list[dict]) -> str:
        now = int(time.time())
        der = self.signing.cert.public_bytes(serialization.Encoding.DER)
        head = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(head).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = self.signing.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"


def _reply(handler, status: int, document: dict, headers: dict | None = None) -> None:
    body = json.dumps(document).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(body)


# -- pushing images through the registry HTTP API --------------------------------------------------------------


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Pusher:
    """Pushes blobs and manifests; `basic` (user, password) for htpasswd registries, `token_server` + `basic` for
    token registries (it asks for push,pull on each repository)."""

    registry: RegistryServer
    basic: tuple[str, str] | None = None
    token_server: TokenServer | None = None
    ca_file: Path | None = None
    _tokens: dict = field(default_factory=dict)

    def _authorization(self, repository: str) -> dict[str, str]:
        if self.token_server is not None:
            if repository not in self._tokens:
                user = self.basic[0] if self.basic else ""
                self._tokens[repository] = self.token_server.token(
                    user, [{"type": "repository", "name": repository, "actions": ["pull", "push"]}]
                )
            return {"Authorization": f"Bearer {self._tokens[repository]}"}
        if self.basic is not None:
            return {"Authorization": "Basic " + base64.b64encode(":".join(self.basic).encode()).decode()}
        return {}

    def _request(
        self, method: str, url: str, repository: str, body: bytes = b"", headers: dict | None = None
    ) -> http.client.HTTPResponse:
        parts = urllib.parse.urlsplit(url if "://" in url else self.registry.url + url)
        if parts.scheme == "https":
            context = (
                ssl.create_default_context(cafile=str(self.ca_file))
                if self.ca_file
                else ssl._create_unverified_context()
            )
            conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=10, context=context)
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(
            method,
            path,
            body=body,
            headers={**self._authorization(repository), **(headers or {}), "Content-Length": str(len(body))},
        )
        response = conn.getresponse()
        response.data = response.read()
        conn.close()
        return response

    def blob(self, repository: str, data: bytes) -> str:
        digest = sha256(data)
        started = self._request("POST", f"/v2/{repository}/blobs/uploads/", repository)
        assert started.status == 202, (started.status, started.data)
        location = started.headers["Location"]
        separator = "&" if "?" in location else "?"
        done = self._request(
            "PUT",
            f"{location}{separator}digest={digest}",
            repository,
            data,
            {"Content-Type": "application/octet-stream"},
        )
        assert done.status == 201, (done.status, done.data)
        return digest

    def manifest(self, repository: str, reference: str, document: dict, media_type: str) -> str:
        """PUTs a manifest under a tag (or its digest); returns the registry's Docker-Content-Digest."""
        body = json.dumps(document, indent=3).encode()
        done = self._request(
            "PUT", f"/v2/{repository}/manifests/{reference}", repository, body, {"Content-Type": media_type}
        )
        assert done.status == 201, (done.status, done.data)
        assert done.headers["Docker-Content-Digest"] == sha256(body)
        return done.headers["Docker-Content-Digest"]

    def image(
        self, repository: str, tag: str, kind: str = "docker", label: str = "", architecture: str = "amd64"
    ) -> str:
        """A one-layer image ("docker": Docker V2 schema 2 media types, "oci": OCI ones); returns its digest."""
        config_type, layer_type, manifest_type = _LAYER_TYPES[kind]
        layer_tar = _tar({"hello.txt": f"{repository}:{tag} {label} {architecture}\n".encode()})
        layer = gzip.compress(layer_tar, mtime=0)
        config = json.dumps(
            {
                "architecture": architecture,
                "os": "linux",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": [sha256(layer_tar)]},
            }
        ).encode()
        document = {
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": {"mediaType": config_type, "size": len(config), "digest": self.blob(repository, config)},
            "layers": [{"mediaType": layer_type, "size": len(layer), "digest": self.blob(repository, layer)}],
        }
        return self.manifest(repository, tag, document, manifest_type)

    def index(self, repository: str, tag: str, entries: list[tuple[str, str, str]], kind: str = "docker") -> str:
        """A Docker manifest list ("docker") or OCI image index ("oci") of (digest, media type, architecture)
        entries already pushed to the repository; returns its digest."""
        media_type = DOCKER_LIST if kind == "docker" else OCI_INDEX
        manifests = []
        for digest, entry_type, architecture in entries:
            size = len(
                self._request(
                    "GET", f"/v2/{repository}/manifests/{digest}", repository, headers={"Accept": entry_type}
                ).data
            )
            manifests.append(
                {
                    "mediaType": entry_type,
                    "size": size,
                    "digest": digest,
                    "platform": {"architecture": architecture, "os": "linux"},
                }
            )
        return self.manifest(
            repository, tag, {"schemaVersion": 2, "mediaType": media_type, "manifests": manifests}, media_type
        )

    def registry_digest(self, repository: str, reference: str, accept: str = DOCKER_MANIFEST) -> str:
        """Docker-Content-Digest as the registry answers a HEAD for a manifest."""
        response = self._request(
            "HEAD", f"/v2/{repository}/manifests/{reference}", repository, headers={"Accept": accept}
        )
        assert response.status == 200, response.status
        return response.headers["Docker-Content-Digest"]


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# -- stand-ins for what a healthy registry never does ----------------------------------------------------------


class ScriptedRegistry:
    """An HTTP server in a thread answering each GET from `script(handler, count)` -> (status, headers, body).
    Used only for behavior a real registry cannot be made to show (5xx, schema 1, wrong digests)."""

    def __init__(self, script):
        self.script = script
        self.paths: list[str] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                owner.paths.append(self.path)
                status, headers, body = owner.script(self, len(owner.paths))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> "ScriptedRegistry":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class SilentPort:
    """A loopback port that accepts connections (the kernel's backlog) and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.host = f"127.0.0.1:{self.sock.getsockname()[1]}"

    def __enter__(self) -> "SilentPort":
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()


def closed_port() -> str:
    """host:port on loopback where nothing listens."""
    return f"127.0.0.1:{free_port()}"
