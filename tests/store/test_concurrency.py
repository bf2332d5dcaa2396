"""Concurrent writers on one catalog, on both backends: several in-process services share one database, each with
its own engine and connection pool as separate processes have, and many threads call them at once."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from smimages.operations.service import Settings
from smimages.store import Aborted, Conflict, Store
from smimages.store.schema import image_versions
from smimages.testing import InProcess
from support import BASE, ROLE, error_of

THREADS = 4  # per service


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shared_db(request, tmp_path):
    """A database several services share: a SQLite file, or a PostgreSQL schema."""
    return f"sqlite:///{tmp_path / 'shared.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")


@pytest.fixture
def settings():
    return Settings()


@pytest.fixture
def services(shared_db, settings):
    made = [InProcess(shared_db, settings) for _ in range(2)]
    yield made
    for service in made:
        service.close()


def hammer(services, calls_per_thread: int, call) -> list:
    """Runs call(client, n) from THREADS threads per service, each with its own client; returns every result
    (or the exception it raised), after starting them all together."""
    start = threading.Barrier(THREADS * len(services))

    def worker(service, thread):
        client = service.client()
        start.wait()
        results = []
        for i in range(calls_per_thread):
            try:
                results.append(call(client, thread * calls_per_thread + i))
            except ClientError as exc:
                results.append(exc)
        return results

    with ThreadPoolExecutor(THREADS * len(services)) as pool:
        futures = [
            pool.submit(worker, service, index * THREADS + t)
            for index, service in enumerate(services)
            for t in range(THREADS)
        ]
        return [result for future in futures for result in future.result()]


def failure(result) -> tuple[str, str] | None:
    """(code, message) of a call that failed, None for one that succeeded."""
    if isinstance(result, ClientError):
        return result.response["Error"]["Code"], result.response["Error"]["Message"]
    return None


def all_versions(sm, name: str) -> list[int]:
    return [
        v["Version"]
        for page in sm.get_paginator("list_image_versions").paginate(
            ImageName=name, SortBy="VERSION", SortOrder="ASCENDING"
        )
        for v in page["ImageVersions"]
    ]


def test_concurrent_versions_are_numbered_without_gaps(services):
    sm = services[0].client()
    sm.create_image(ImageName="img", RoleArn=ROLE)
    results = hammer(services, 15, lambda c, n: c.create_image_version(ImageName="img", BaseImage=BASE))
    assert not [r for r in results if isinstance(r, Exception)]
    numbers = sorted(int(r["ImageVersionArn"].rsplit("/", 1)[1]) for r in results)
    assert numbers == list(range(1, len(results) + 1)) == all_versions(sm, "img")


def test_concurrent_create_image_of_one_name_has_one_winner(services):
    names = ["race", "Race", "RACE"]  # unique ignoring case
    results = hammer(services, 3, lambda c, n: c.create_image(ImageName=names[n % 3], RoleArn=ROLE))
    won = [r for r in results if not isinstance(r, Exception)]
    lost = [failure(r) for r in results if failure(r)]
    assert len(won) == 1
    name = won[0]["ImageArn"].rsplit("/", 1)[1]
    assert {code for code, _ in lost} == {"ResourceInUse"} and len(lost) == len(results) - 1
    assert all(message.startswith("The Image with ImageName ") for _, message in lost)
    assert [i["ImageName"] for i in services[1].client().list_images()["Images"]] == [name]


def test_a_client_token_replayed_anywhere_creates_one_version(services):
    services[0].client().create_image(ImageName="img", RoleArn=ROLE)
    results = hammer(
        services, 3, lambda c, n: c.create_image_version(ImageName="img", BaseImage=BASE, ClientToken="same-token")
    )
    assert {r["ImageVersionArn"] for r in results} == {"arn:aws:sagemaker:us-east-1:000000000000:image-version/img/1"}
    assert all_versions(services[1].client(), "img") == [1]


def test_an_alias_never_ends_up_on_two_versions(services):
    sm = services[0].client()
    sm.create_image(ImageName="img", RoleArn=ROLE)
    for _ in range(4):
        sm.create_image_version(ImageName="img", BaseImage=BASE)

    def move(client, n):
        if n % 3 == 0:  # whoever holds it lets go
            return client.update_image_version(ImageName="img", Alias="hot", AliasesToDelete=["hot"])
        return client.update_image_version(ImageName="img", Version=n % 4 + 1, AliasesToAdd=["hot"])

    results = hammer(services, 12, move)
    errors = {failure(r) for r in results if failure(r)}
    assert errors <= {
        ("ValidationException", "Alias hot is already associated with another ImageVersion of Image img."),
        ("ResourceNotFound", "ImageVersion with Alias hot for Image img does not exist"),
    }
    holders = [
        v for v in range(1, 5) if "hot" in sm.list_aliases(ImageName="img", Version=v)["SageMakerImageVersionAliases"]
    ]
    assert len(holders) <= 1
    if holders:
        assert sm.describe_image_version(ImageName="img", Alias="hot")["Version"] == holders[0]
    assert sm.list_aliases(ImageName="img", Alias="hot")["SageMakerImageVersionAliases"] == (["hot"] if holders else [])


def test_concurrent_add_tags_take_turns(services):
    sm = services[0].client()
    arn = sm.create_image(ImageName="img", RoleArn=ROLE)["ImageArn"]
    same_key = hammer(services, 2, lambda c, n: c.add_tags(ResourceArn=arn, Tags=[{"Key": "k", "Value": str(n)}]))
    assert not [r for r in same_key if isinstance(r, Exception)]
    assert [t["Key"] for t in sm.list_tags(ResourceArn=arn)["Tags"]] == ["k"]
    sm.delete_tags(ResourceArn=arn, TagKeys=["k"])
    # 8 callers each add 10 new keys: exactly 5 fit under the 50-tag limit, whatever the interleaving
    results = hammer(
        services,
        1,
        lambda c, n: c.add_tags(ResourceArn=arn, Tags=[{"Key": f"k{n}-{i}", "Value": "v"} for i in range(10)]),
    )
    assert len([r for r in results if not isinstance(r, Exception)]) == 5
    assert len(sm.list_tags(ResourceArn=arn, MaxResults=100)["Tags"]) == 50


class TestQuotaUnderConcurrency:
    @pytest.fixture
    def settings(self):
        return Settings(max_images=5, max_versions_per_image=7)

    def test_quotas_hold_under_concurrent_creates(self, services):
        results = hammer(services, 2, lambda c, n: c.create_image(ImageName=f"img{n}", RoleArn=ROLE))
        assert len([r for r in results if not isinstance(r, Exception)]) == 5
        assert {r.response["Error"]["Code"] for r in results if isinstance(r, Exception)} == {"ResourceLimitExceeded"}
        name = services[0].client().list_images()["Images"][0]["ImageName"]
        results = hammer(services, 2, lambda c, n: c.create_image_version(ImageName=name, BaseImage=BASE))
        assert len([r for r in results if not isinstance(r, Exception)]) == 7
        assert all_versions(services[0].client(), name) == list(range(1, 8))


def test_dispatch_runs_an_operation_again_after_a_conflict_or_a_deadlock(service, monkeypatch):
    from smimages.operations import OPERATIONS

    failures = [Aborted("deadlock detected"), Conflict("duplicate key"), Aborted("deadlock detected")]

    def flaky(_service, _ctx, request):
        if failures:
            raise failures.pop(0)
        return {"ImageArn": "arn:aws:sagemaker:us-east-1:000000000000:image/done"}

    monkeypatch.setitem(OPERATIONS, "DescribeImage", flaky)
    assert service.client().describe_image(ImageName="x")["ImageArn"].endswith("/done")
    failures.extend([Conflict("duplicate key"), Conflict("duplicate key")])  # a second conflict is not retried
    with pytest.raises(ClientError) as exc:
        service.client().describe_image(ImageName="x")
    assert error_of(exc) == ("ResourceInUse", "Resource was modified concurrently")


def test_a_real_deadlock_surfaces_as_aborted(postgres):
    """PostgreSQL aborts one of two transactions that wait on each other; the store says so with Aborted."""
    store = Store(postgres.schema())
    with store.transaction(write=True) as tx:
        tx.conn.exec_driver_sql("CREATE TABLE deadlock_probe (id int primary key)")
        tx.conn.exec_driver_sql("INSERT INTO deadlock_probe VALUES (1), (2)")
    both_locked_one = threading.Barrier(2)

    def lock(first: int, second: int):
        try:
            with store.transaction(write=True) as tx:
                tx.conn.exec_driver_sql(f"SELECT * FROM deadlock_probe WHERE id = {first} FOR UPDATE")
                both_locked_one.wait()
                tx.conn.exec_driver_sql(f"SELECT * FROM deadlock_probe WHERE id = {second} FOR UPDATE")
            return "committed"
        except Aborted:
            return "aborted"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(lock, (1, 2), (2, 1)))
    store.dispose()
    assert outcomes == ["aborted", "committed"]


def test_connections_cut_by_the_database_cost_no_failed_request(postgres):
    """A PostgreSQL restart or an idle-session timeout closes pooled connections: the request that finds one
    dead is run again on a new connection (nothing was committed), and the rest of the pool is replaced."""
    url = postgres.schema() + "&application_name=cut-test"
    service = InProcess(url)
    sm = service.client(retries={"total_max_attempts": 1})
    sm.create_image(ImageName="img", RoleArn=ROLE)
    with ThreadPoolExecutor(4) as pool:  # several pooled connections
        list(pool.map(lambda _: service.client().describe_image(ImageName="img"), range(8)))
    cut = postgres.execute(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'cut-test'"
    ).fetchone()[0]
    assert cut >= 1
    assert sm.describe_image(ImageName="img")["ImageName"] == "img"
    sm.create_image(ImageName="img2", RoleArn=ROLE)
    assert sm.create_image_version(ImageName="img2", BaseImage=BASE)["ImageVersionArn"].endswith("/img2/1")
    service.close()


def test_worker_jobs_claim_then_run_outside_any_transaction_then_finish(service):
    """The worker's three phases, as a slow job (a registry lookup, say) will use them."""
    from sqlalchemy import event

    from smimages.worker import TransitionWorker

    engine = service.service.store.engine
    log, connections = [], []
    event.listen(engine, "checkout", lambda *_: connections.append(1))
    event.listen(engine, "checkin", lambda *_: connections.pop())

    class SlowJob:
        name = "slow"

        def claim(self, tx, now):
            log.append(("claim", tx.conn.in_transaction()))
            return ["a", "b", "c"], False

        def run(self, item):
            log.append(("run", item, len(connections)))
            if item == "b":
                raise RuntimeError("registry unreachable")
            return item.upper()

        def finish(self, tx, item, outcome, now):
            log.append(("finish", item, outcome, tx.conn.in_transaction()))

    worker = TransitionWorker(service.service, jobs=[SlowJob()])
    assert worker.run_once() is None
    assert log == [
        ("claim", True),
        ("run", "a", 0),
        ("finish", "a", "A", True),
        ("run", "b", 0),
        ("run", "c", 0),
        ("finish", "c", "C", True),
    ]


@pytest.mark.postgres
def test_claimed_transitions_are_skipped_by_other_workers_until_their_claimant_dies(pg_url):
    """A worker process killed while it holds a claim leaves the work to the others: the database rolls its
    transaction back. Until then other workers skip the rows instead of waiting, and requests go on."""
    import os
    import signal
    import subprocess
    import sys

    from smimages.testing import ManualClock
    from smimages.worker import TransitionWorker

    clock = ManualClock()
    service = InProcess(pg_url, Settings(transition_delay=5), clock=clock)
    sm = service.client()
    sm.create_image(ImageName="img", RoleArn=ROLE)
    clock.advance(5)
    for _ in range(3):
        sm.create_image_version(ImageName="img", BaseImage=BASE)
    clock.advance(5)
    claimant = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"""
import sys, time
from smimages.store import Store
from smimages.store.schema import image_versions
store = Store({pg_url!r})
with store.transaction(write=True) as tx:
    claimed = tx.claim_due("image_versions", {clock()}, 100)
    print(len(claimed), flush=True)
    time.sleep(60)
""",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert claimant.stdout.readline().strip() == "3"
        worker = TransitionWorker(service.service)
        with service.service.store.transaction(write=True) as tx:
            assert tx.claim_due("image_versions", clock(), 100) == []  # skipped, not waited for
        sm.create_image_version(ImageName="img", BaseImage=BASE)  # requests are not held up
        assert sm.describe_image_version(ImageName="img", Version=1)["ImageVersionStatus"] == "CREATED"
        worker.run_once()
        assert _stored_statuses(service) == ["CREATING"] * 4
    finally:
        os.kill(claimant.pid, signal.SIGKILL)
        claimant.wait()
    clock.advance(5)
    deadline = time.monotonic() + 10
    while worker.run_once() is not None:  # the rows stay locked until the database has seen the client die
        assert time.monotonic() < deadline, "the dead claimant's rows were never released"
        time.sleep(0.05)
    assert _stored_statuses(service) == ["CREATED"] * 4
    service.close()


def _stored_statuses(service) -> list[str]:
    with service.service.store.transaction() as tx:
        return [row.status for row in tx.conn.execute(image_versions.select().order_by(image_versions.c.version))]


def test_a_snapshot_transaction_reads_one_state_while_others_write(services):
    """Store.transaction(snapshot=True), for reading several tables consistently (an export, say)."""
    from sqlalchemy import func, select

    from smimages.store.schema import images

    services[0].client().create_image(ImageName="before", RoleArn=ROLE)
    count = select(func.count()).select_from(images)
    with services[0].service.store.transaction(snapshot=True) as tx:
        assert tx.conn.execute(count).scalar() == 1
        services[1].client().create_image(ImageName="during", RoleArn=ROLE)
        assert tx.conn.execute(count).scalar() == 1
    with services[0].service.store.transaction() as tx:
        assert tx.conn.execute(count).scalar() == 2
