"""--registry-check on: the lifecycle worker resolves each new version's BaseImage in a real CNCF Distribution registry
(Debian's docker-registry on loopback ports) and ends its CREATING in CREATED (ContainerImage pinned by the
registry's digest) or CREATE_FAILED (FailureReason), on both store backends; claims under a lease, the transition
delay, faults, deletes, and real servers killed in the middle."""

import json
import signal
import subprocess
import sys
import time

import pytest
from botocore.exceptions import ClientError, WaiterError
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from smimages.operations.service import Settings
from smimages.registry import RegistrySettings
from smimages.registry.job import GAVE_UP, MAX_ATTEMPTS, ResolveVersions, default_lease
from smimages.store.schema import image_versions
from smimages.testing import InProcess
from smimages.worker import TransitionWorker, default_jobs
from support import ROLE, error_of
from support.registries import (
    Pusher,
    RegistryServer,
    SilentPort,
    closed_port,
)

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
DELAY = 30
FAST = {"timeout": 2.0, "retries": 0}


def prefix(image: str) -> str:
    return f"Failed to pull the container image '{image}': "


# -- registries and services -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """An open registry with team/app:1.0 (Docker schema 2) and team/app:oci (OCI manifest); yields (server, the
    Docker-Content-Digest the registry answers for team/app:1.0)."""
    server = RegistryServer(tmp_path_factory.mktemp("lifecycle-registry")).start()
    push = Pusher(server)
    push.image("team/app", "1.0")
    push.image("team/app", "oci", kind="oci")
    yield server, push.registry_digest("team/app", "1.0")
    server.stop()


@pytest.fixture
def make(db_url):
    """make(delay=0, lease=None, **registry settings) -> an in-process service with the registry check on."""
    made = []

    def build(delay: float = 0, lease: float | None = None, **registry) -> InProcess:
        settings = Settings(
            transition_delay=delay, registry_lease=lease, registry=RegistrySettings(check=True, **{**FAST, **registry})
        )
        service = InProcess(db_url, settings)
        made.append(service)
        sm = service.client()
        try:
            sm.create_image(ImageName="img", RoleArn=ROLE)
        except sm.exceptions.ResourceInUse:  # a second service on the test's one PostgreSQL schema
            pass
        service.advance(delay)  # the image is CREATED
        return service

    yield build
    for service in made:
        service.close()


def describe(service, version=1) -> dict:
    return service.client().describe_image_version(ImageName="img", Version=version)


def stored_version(service, version=1) -> dict:
    with service.service.store.transaction() as tx:
        return dict(tx.conn.execute(select(image_versions).where(image_versions.c.version == version)).mappings().one())


def check(service, base_image: str) -> dict:
    """Creates a version of `base_image`, shows it CREATING, lets the worker check it, returns it described."""
    sm = service.client()
    number = int(sm.create_image_version(ImageName="img", BaseImage=base_image)["ImageVersionArn"].rsplit("/")[-1])
    creating = describe(service, number)
    assert creating["ImageVersionStatus"] == "CREATING"
    assert "ContainerImage" not in creating and "FailureReason" not in creating
    service.settle()
    return describe(service, number)


# -- outcomes ----------------------------------------------------------------------------------------------------


def test_found_through_a_mirror_pins_the_registry_digest_under_the_ecr_host(make, registry):
    server, digest = registry
    service = make(mirrors={ECR: server.url})
    done = check(service, f"{ECR}/team/app:1.0")
    assert (done["ImageVersionStatus"], done["BaseImage"], done["ContainerImage"]) == (
        "CREATED",
        f"{ECR}/team/app:1.0",
        f"{ECR}/team/app@{digest}",
    )
    assert "FailureReason" not in done
    assert service.client().list_image_versions(ImageName="img")["ImageVersions"][0]["ImageVersionStatus"] == "CREATED"
    row = stored_version(service)
    assert (row["resolve_due"], row["resolve_owner"], row["resolve_attempts"]) == (None, None, 1)


def test_found_in_a_registry_named_directly(make, registry):
    server, digest = registry
    done = check(make(), f"{server.host}/team/app:1.0")
    assert (done["ImageVersionStatus"], done["ContainerImage"]) == ("CREATED", f"{server.host}/team/app@{digest}")


def test_a_base_image_pinned_by_digest_is_checked(make, registry):
    server, digest = registry
    service = make(mirrors={ECR: server.url})
    pinned = check(service, f"{ECR}/team/app@{digest}")
    assert (pinned["ImageVersionStatus"], pinned["ContainerImage"]) == ("CREATED", f"{ECR}/team/app@{digest}")
    tagged = check(service, f"{ECR}/team/app:any-tag@{digest}")  # the digest wins; the tag is not consulted
    assert tagged["ContainerImage"] == f"{ECR}/team/app@{digest}"
    absent = "sha256:" + "0" * 64
    image = f"{ECR}/team/app@{absent}"
    missing = check(service, image)
    assert missing["ImageVersionStatus"] == "CREATE_FAILED" and "ContainerImage" not in missing
    assert missing["FailureReason"] == prefix(image) + (
        f"the image with digest {absent} does not exist in the repository 'team/app' in the registry {ECR} "
        f"(mirror {server.url})."
    )


@pytest.mark.parametrize(
    "base, reason",
    [
        ("team/app:9.9", "the tag '9.9' does not exist in the repository 'team/app' in the registry {registry}."),
        ("team/nothing:1.0", "the repository 'team/nothing' does not exist in the registry {registry}."),
        (
            "team/app:oci",
            "the image has an OCI image manifest (application/vnd.oci.image.manifest.v1+json), which is "
            "not supported. Use an image with a Docker image manifest V2, schema 2, for example one pushed "
            "with skopeo copy --format v2s2.",
        ),
    ],
    ids=["missing-tag", "missing-repository", "oci-manifest"],
)
def test_registry_answers_that_fail_the_version(make, registry, base, reason):
    server, _ = registry
    image = f"{ECR}/{base}"
    failed = check(make(mirrors={ECR: server.url}), image)
    assert failed["ImageVersionStatus"] == "CREATE_FAILED"
    assert failed["FailureReason"] == prefix(image) + reason.format(registry=f"{ECR} (mirror {server.url})")
    assert "ContainerImage" not in failed


def test_refused_credentials_fail_the_version_and_right_ones_pass(make, basic_registry):
    server, digest = basic_registry
    image = f"{server.host}/private/app:1"
    wrong = json.dumps({"auths": {server.host: {"username": "bob", "password": "wrong"}}})
    failed = check(make(auth_json=wrong), image)
    assert (failed["ImageVersionStatus"], failed["FailureReason"]) == (
        "CREATE_FAILED",
        prefix(image) + (f"the registry {server.host} refused the configured credentials (HTTP 401)."),
    )
    right = json.dumps({"auths": {server.host: {"username": "bob", "password": "s3cret"}}})
    done = check(make(auth_json=right), image)
    assert (done["ImageVersionStatus"], done["ContainerImage"]) == ("CREATED", f"{server.host}/private/app@{digest}")


def test_an_unreachable_registry_fails_the_version_after_its_retries(make):
    """Transient trouble is retried inside one resolution (--registry-retries), not in later passes."""
    host = closed_port()
    image = f"{host}/team/app:1.0"
    service = make(retries=1, timeout=1.0)
    failed = check(service, image)
    assert (failed["ImageVersionStatus"], failed["FailureReason"]) == (
        "CREATE_FAILED",
        prefix(image) + (f"the registry {host} could not be reached (connection to {host} refused)."),
    )
    assert stored_version(service)["resolve_attempts"] == 1


def test_an_invalid_base_image_fails_without_a_registry(make):
    failed = check(make(), "my-repo:1.0")
    assert failed["FailureReason"] == prefix("my-repo:1.0") + (
        "BaseImage is not a valid image URI (it does not start with a registry host). "
        "Use <registry>/<repository>:<tag> or <registry>/<repository>@sha256:<digest>."
    )


# -- the lifecycle around the check --------------------------------------------------------------------------------


def passes(service) -> None:
    """Runs worker passes (default jobs, as `serve` runs them) until nothing is due at the current time."""
    worker = TransitionWorker(service.service)
    while (due := worker.run_once()) is not None and due <= service.now():
        pass


def test_with_the_check_off_nothing_changes(db_url, registry):
    service = InProcess(db_url, Settings())
    assert [job.name for job in default_jobs(service.service.settings)] == [
        "materialize-image_versions",
        "materialize-images",
    ]
    sm = service.client()
    sm.create_image(ImageName="img", RoleArn=ROLE)
    base = f"{registry[0].host}/team/app:9.9"  # not in the registry: it is never asked
    sm.create_image_version(ImageName="img", BaseImage=base)
    done = describe(service)
    assert (done["ImageVersionStatus"], done["ContainerImage"]) == ("CREATED", base)
    assert stored_version(service)["resolve_due"] is None
    service.close()


def test_the_outcome_shows_no_earlier_than_the_transition_delay_allows(make, registry):
    server, digest = registry
    service = make(delay=DELAY, mirrors={ECR: server.url})
    assert next(job.name for job in default_jobs(service.service.settings)) == "registry-resolve"
    sm = service.client()
    sm.create_image_version(ImageName="img", BaseImage=f"{ECR}/team/app:1.0")
    created = describe(service)["CreationTime"]
    passes(service)  # resolved at once ...
    row = stored_version(service)
    assert (row["status"], row["pending_status"], row["due_at"]) == ("CREATING", "CREATED", created.timestamp() + DELAY)
    assert describe(service)["ImageVersionStatus"] == "CREATING"  # ... but shown only when the delay is over
    service.advance(DELAY - 0.001)
    assert describe(service)["ImageVersionStatus"] == "CREATING"
    service.advance(0.001)
    done = describe(service)
    assert (done["ImageVersionStatus"], done["ContainerImage"]) == ("CREATED", f"{ECR}/team/app@{digest}")
    assert (done["LastModifiedTime"] - created).total_seconds() == DELAY


def test_an_outcome_later_than_the_delay_shows_when_it_is_written(make, registry):
    server, _ = registry
    service = make(delay=DELAY, mirrors={ECR: server.url})
    service.client().create_image_version(ImageName="img", BaseImage=f"{ECR}/team/app:9.9")
    service.advance(3 * DELAY)  # no worker ran: the clock alone never ends a check
    assert describe(service)["ImageVersionStatus"] == "CREATING"
    passes(service)
    failed = describe(service)
    assert failed["ImageVersionStatus"] == "CREATE_FAILED"
    assert failed["LastModifiedTime"].timestamp() == service.now()


def test_an_injected_failure_wins_and_needs_no_check(make):
    service = make(mirrors={ECR: f"http://{closed_port()}"})
    service.faults.fail("CreateImageVersion", "Failed to pull the container image.")
    service.client().create_image_version(ImageName="img", BaseImage=f"{ECR}/team/app:1.0")
    assert stored_version(service)["resolve_due"] is None
    service.settle()
    failed = describe(service)
    assert (failed["ImageVersionStatus"], failed["FailureReason"]) == (
        "CREATE_FAILED",
        "Failed to pull the container image.",
    )


def test_a_version_being_checked_is_busy_and_replays_its_client_token(make, registry):
    service = make(mirrors={ECR: registry[0].url})
    sm = service.client()
    arn = sm.create_image_version(ImageName="img", BaseImage=f"{ECR}/team/app:1.0", ClientToken="t")
    assert (
        sm.create_image_version(ImageName="img", BaseImage=f"{ECR}/team/app:1.0", ClientToken="t")["ImageVersionArn"]
        == arn["ImageVersionArn"]
    )
    version_arn = "arn:aws:sagemaker:us-east-1:000000000000:image-version/img/1"
    for call in (
        lambda: sm.delete_image_version(ImageName="img", Version=1),
        lambda: sm.update_image_version(ImageName="img", Version=1, ReleaseNotes="x"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc) == ("ResourceInUse", f"ImageVersion ({version_arn}) is being created")
    service.settle()
    assert describe(service)["ImageVersionStatus"] == "CREATED"


def claim(service, job):
    with service.service.store.transaction(write=True) as tx:
        return job.claim(tx, service.now())[0]


def finish(service, job, item, outcome) -> bool:
    with service.service.store.transaction(write=True) as tx:
        return job.finish(tx, item, outcome, service.now())


def test_deleting_the_image_while_its_version_is_checked_writes_nothing(make, registry):
    service = make(delay=DELAY, mirrors={ECR: registry[0].url})
    sm = service.client()
    sm.create_image_version(ImageName="img", BaseImage=f"{ECR}/team/app:1.0")
    job = ResolveVersions(service.service.settings.registry)
    [item] = claim(service, job)
    sm.delete_image(ImageName="img")  # allowed: the image is CREATED; its versions go with it
    outcome = job.run(item)
    assert outcome.found
    assert finish(service, job, item, outcome) is False
    row = stored_version(service)
    assert (row["status"], row["pending_status"], row["due_at"], row["container_image"]) == (
        "CREATING",
        None,
        None,
        None,
    )
    assert claim(service, job) == []  # a version of an image going away is not checked again
    service.settle()
    with pytest.raises(ClientError) as exc:
        sm.describe_image(ImageName="img")
    assert error_of(exc)[0] == "ResourceNotFound"


def test_a_version_gone_before_its_outcome_is_written_is_left_alone(make, registry):
    service = make(mirrors={ECR: registry[0].url})
    service.client().create_image_version(ImageName="img", BaseImage=f"{ECR}/team/app:1.0")
    job = ResolveVersions(service.service.settings.registry)
    [item] = claim(service, job)
    service.reset()  # the catalog emptied under the check
    assert finish(service, job, item, job.run(item)) is False


def test_an_expired_lease_is_taken_over_and_the_late_outcome_is_dropped(make, registry):
    server, digest = registry
    service = make(lease=60, mirrors={ECR: server.url})
    service.client().create_image_version(ImageName="img", BaseImage=f"{ECR}/team/app:1.0")
    first, second = (ResolveVersions(service.service.settings.registry, lease=60) for _ in range(2))
    [taken] = claim(service, first)
    assert claim(service, second) == []  # leased
    assert stored_version(service)["resolve_due"] == service.now() + 60
    late = first.run(taken)  # ... and then the first worker hangs
    service.advance(59.999)
    assert claim(service, second) == []
    service.advance(0.001)
    [again] = claim(service, second)
    assert (again.id, again.attempts) == (taken.id, 2)
    assert finish(service, first, taken, late) is False  # no longer its lease
    assert describe(service)["ImageVersionStatus"] == "CREATING"
    assert finish(service, second, again, second.run(again)) is True
    done = describe(service)
    assert (done["ImageVersionStatus"], done["ContainerImage"]) == ("CREATED", f"{ECR}/team/app@{digest}")


def test_settle_takes_over_a_check_whose_worker_died(make, registry):
    service = make(lease=60, mirrors={ECR: registry[0].url})
    service.client().create_image_version(ImageName="img", BaseImage=f"{ECR}/team/app:1.0")
    claim(service, ResolveVersions(service.service.settings.registry, lease=60))  # a worker that never finishes
    started = service.now()
    service.settle()  # moves the clock to the lease's expiry, then checks it
    assert service.now() == started + 60
    assert describe(service)["ImageVersionStatus"] == "CREATED"


def test_a_check_interrupted_again_and_again_is_given_up(make, registry):
    service = make(lease=10, mirrors={ECR: registry[0].url})
    image = f"{ECR}/team/app:1.0"
    service.client().create_image_version(ImageName="img", BaseImage=image)
    for _ in range(MAX_ATTEMPTS):  # each claimant dies before writing an outcome
        assert len(claim(service, ResolveVersions(service.service.settings.registry, lease=10))) == 1
        service.advance(10)
    service.settle()
    failed = describe(service)
    assert (failed["ImageVersionStatus"], failed["FailureReason"]) == (
        "CREATE_FAILED",
        GAVE_UP.format(image=image, attempts=MAX_ATTEMPTS),
    )
    assert failed["FailureReason"] == prefix(image) + (
        "the registry check was interrupted 3 times (the worker running it stopped) and was given up."
    )


@pytest.mark.postgres
def test_workers_skip_a_check_another_transaction_is_claiming(pg_url, registry):
    """FOR UPDATE SKIP LOCKED: a claim in progress elsewhere is skipped, not waited for."""
    service = InProcess(pg_url, Settings(registry=RegistrySettings(check=True, mirrors={ECR: registry[0].url}, **FAST)))
    sm = service.client()
    sm.create_image(ImageName="img", RoleArn=ROLE)
    for _ in range(2):
        sm.create_image_version(ImageName="img", BaseImage=f"{ECR}/team/app:1.0")
    first, second = (ResolveVersions(service.service.settings.registry) for _ in range(2))
    store = service.service.store
    with store.transaction(write=True) as tx:
        [one], _ = first.claim(tx, service.now())  # not committed yet: its row stays locked
        with store.transaction(write=True) as other:
            [two], _ = second.claim(other, service.now())
        assert one.id != two.id
        with store.transaction(write=True) as other:
            assert second.claim(other, service.now()) == ([], False)
    service.close()


def test_lease_defaults_outlast_a_resolution():
    assert default_lease(RegistrySettings()) == 10 * 3 + 30
    assert ResolveVersions(RegistrySettings(timeout=1, retries=0)).lease == 31
    assert ResolveVersions(RegistrySettings(), lease=2).lease == 2


def test_the_in_process_mock_checks_versions_when_settled(registry):
    from smimages.testing import mock_sagemaker_images

    settings = Settings(registry=RegistrySettings(check=True, mirrors={ECR: registry[0].url}, **FAST))
    with mock_sagemaker_images(settings=settings) as mock:
        sm = mock.client()
        sm.create_image(ImageName="img", RoleArn=ROLE)
        sm.create_image_version(ImageName="img", BaseImage=f"{ECR}/team/app:1.0")
        assert sm.describe_image_version(ImageName="img")["ImageVersionStatus"] == "CREATING"
        mock.settle()
        assert sm.describe_image_version(ImageName="img")["ContainerImage"] == f"{ECR}/team/app@{registry[1]}"


# -- real servers ---------------------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server_db(request, tmp_path):
    """A database for server processes: a SQLite file, or a new PostgreSQL schema."""
    return (
        f"sqlite:///{tmp_path / 'state.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres").schema()
    )


def stored(db: str, sql: str):
    """One row read straight from the database, as an operator would look at it."""
    url = make_url(db)
    engine = create_engine(url.set(drivername="postgresql+psycopg") if url.get_backend_name() == "postgresql" else url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).mappings().first()
    finally:
        engine.dispose()


def test_waiters_over_a_socket_succeed_and_fail_with_the_registry(server_factory, server_db, registry):
    """Settings from the environment, as a deployment's environment file gives them."""
    server, digest = registry
    env = {
        "SMIMAGES_REGISTRY_CHECK": "on",
        "SMIMAGES_REGISTRY_MIRROR": f"{ECR}={server.url}",
        "SMIMAGES_REGISTRY_TIMEOUT": "2",
        "SMIMAGES_REGISTRY_RETRIES": "0",
    }
    smimages = server_factory("--db", server_db, "--transition-delay", "1", env=env).start()
    sm = smimages.client()
    sm.create_image(ImageName="img", RoleArn=ROLE)
    wait = {"Delay": 1, "MaxAttempts": 30}
    sm.get_waiter("image_created").wait(ImageName="img", WaiterConfig=wait)
    sm.create_image_version(ImageName="img", BaseImage=f"{ECR}/team/app:1.0")
    assert sm.describe_image_version(ImageName="img", Version=1)["ImageVersionStatus"] == "CREATING"
    sm.get_waiter("image_version_created").wait(ImageName="img", Version=1, WaiterConfig=wait)
    done = sm.describe_image_version(ImageName="img", Version=1)
    assert done["ContainerImage"] == f"{ECR}/team/app@{digest}"
    assert (done["LastModifiedTime"] - done["CreationTime"]).total_seconds() >= 1

    sm.create_image_version(ImageName="img", BaseImage=f"{ECR}/team/app:9.9")
    with pytest.raises(WaiterError) as exc:
        sm.get_waiter("image_version_created").wait(ImageName="img", Version=2, WaiterConfig=wait)
    assert exc.value.last_response["ImageVersionStatus"] == "CREATE_FAILED"
    assert exc.value.last_response["FailureReason"] == prefix(f"{ECR}/team/app:9.9") + (
        f"the tag '9.9' does not exist in the repository 'team/app' in the registry {ECR} (mirror {server.url})."
    )
    log = smimages.stop()
    assert "registry check on (mirrors: " in log and "Traceback" not in log


def test_a_check_interrupted_by_a_killed_server_is_completed_after_its_lease(server_factory, server_db, registry):
    """The first server claims the check and hangs on a registry that never answers; it is killed (SIGKILL)
    mid-resolution. Once its lease expires another process (a server on SQLite; a separate `smimages worker`
    behind a --no-worker server on PostgreSQL) claims the check again and completes it."""
    server, digest = registry
    lease = 3
    with SilentPort() as silent:
        doomed = server_factory(
            "--db",
            server_db,
            "--registry-check",
            "on",
            "--registry-mirror",
            f"{ECR}=http://{silent.host}",
            "--registry-timeout",
            "60",
            "--registry-retries",
            "0",
            "--registry-lease",
            str(lease),
            "--log-level",
            "warning",
        ).start()
        sm = doomed.client()
        sm.create_image(ImageName="img", RoleArn=ROLE)
        sm.create_image_version(ImageName="img", BaseImage=f"{ECR}/team/app:1.0")
        deadline = time.monotonic() + 10
        while not (
            claimed := stored(server_db, "SELECT resolve_owner, resolve_due, resolve_attempts FROM image_versions")
        )["resolve_owner"]:
            assert time.monotonic() < deadline, "the first server never claimed the check"
            time.sleep(0.05)
        assert claimed["resolve_attempts"] == 1
        doomed.stop(signal.SIGKILL)
    healthy = ["--registry-check", "on", "--registry-mirror", f"{ECR}={server.url}", "--registry-lease", str(lease)]
    worker = None
    if make_url(server_db).get_backend_name() == "postgresql":
        survivor = server_factory("--db", server_db, "--no-worker", *healthy).start()
        worker = subprocess.Popen(
            [sys.executable, "-m", "smimages", "worker", "--db", server_db, *healthy],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    else:
        survivor = server_factory("--db", server_db, *healthy).start()
    try:
        sm = survivor.client()
        sm.get_waiter("image_version_created").wait(
            ImageName="img", Version=1, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        done = sm.describe_image_version(ImageName="img", Version=1)
        assert done["ContainerImage"] == f"{ECR}/team/app@{digest}"
        # taken over no earlier than the first lease's expiry (to the millisecond timestamps carry)
        assert done["LastModifiedTime"].timestamp() >= claimed["resolve_due"] - 0.001
        row = stored(server_db, "SELECT resolve_owner, resolve_due, resolve_attempts FROM image_versions")
        assert dict(row) == {"resolve_owner": None, "resolve_due": None, "resolve_attempts": 2}
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            out = worker.communicate(timeout=30)[0]
            assert worker.returncode == 0 and "Traceback" not in out, out
    assert "Traceback" not in survivor.stop()


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["serve", "--registry-mirror", "nonsense"],
            "Error: registry mirror 'nonsense' must be HOST=URL, e.g. "
            "123456789012.dkr.ecr.us-east-1.amazonaws.com=http://127.0.0.1:5000",
        ),
        (["worker", "--registry-check", "maybe"], "Error: --registry-check must be on or off, not 'maybe'"),
        (
            ["serve", "--registry-ca-file", "/nonexistent/ca.pem"],
            "Error: registry CA file /nonexistent/ca.pem does not exist",
        ),
    ],
)
def test_invalid_registry_settings_stop_the_command_at_start(args, message, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "smimages", *args, "--db", f"sqlite:///{tmp_path / 's.db'}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == message
