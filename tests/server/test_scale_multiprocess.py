"""Several real `smimages serve` processes on one PostgreSQL database, as behind a load balancer: concurrent
creates numbered without gaps, a server killed mid-load losing nothing it acknowledged, and lifecycle
transitions run in the servers or in a separate `smimages worker` process."""

import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from support import BASE, ROLE, bare_client

pytestmark = pytest.mark.postgres
THREADS_PER_SERVER = 4


@pytest.fixture
def db(postgres):
    """A new, empty PostgreSQL schema: the first server migrates it."""
    return postgres.schema()


def stored(db: str, sql: str):
    """A value read straight from the database, as an operator would look at it."""
    engine = create_engine(make_url(db).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def versions(sm, name="img") -> list[dict]:
    return [
        v
        for page in sm.get_paginator("list_image_versions").paginate(
            ImageName=name, SortBy="VERSION", SortOrder="ASCENDING"
        )
        for v in page["ImageVersions"]
    ]


def load(servers, creates_per_thread: int, create) -> tuple[list, float]:
    """Runs create(server_index, client_of_that_server, n) from THREADS_PER_SERVER threads per server at once."""
    start = threading.Barrier(THREADS_PER_SERVER * len(servers) + 1)

    def thread(index: int, t: int):
        sm = bare_client(servers[index].url)
        start.wait()
        return [
            create(index, sm, (index * THREADS_PER_SERVER + t) * creates_per_thread + i)
            for i in range(creates_per_thread)
        ]

    with ThreadPoolExecutor(THREADS_PER_SERVER * len(servers)) as pool:
        futures = [pool.submit(thread, index, t) for index in range(len(servers)) for t in range(THREADS_PER_SERVER)]
        start.wait()
        began = time.perf_counter()
        results = [result for future in futures for result in future.result()]
    return results, time.perf_counter() - began


def test_two_servers_number_concurrent_creates_on_one_image_without_gaps(server_factory, db):
    servers = [server_factory("--db", db, "--log-level", "warning").start() for _ in range(2)]
    bare_client(servers[0].url).create_image(ImageName="img", RoleArn=ROLE)

    def create(_index, sm, _n):
        try:
            return sm.create_image_version(ImageName="img", BaseImage=BASE)["ImageVersionArn"]
        except (ClientError, BotoCoreError) as exc:
            return exc

    results, seconds = load(servers, 32, create)
    assert [r for r in results if not isinstance(r, str)] == []  # every call answered 200
    numbers = sorted(int(arn.rsplit("/", 1)[1]) for arn in results)
    assert numbers == list(range(1, 257))
    assert [v["Version"] for v in versions(bare_client(servers[1].url))] == numbers
    print(
        f"\n256 CreateImageVersion on one image, 2 servers x {THREADS_PER_SERVER} threads: {seconds:.2f} s "
        f"({256 / seconds:.0f}/s)"
    )
    for server in servers:
        assert "Traceback" not in server.stop()


def test_a_server_killed_mid_load_loses_no_acknowledged_create(server_factory, db):
    """Clients retry a create that got no answer on the other server with the same ClientToken (as SDKs do
    behind a load balancer): nothing acknowledged is lost, nothing is created twice, nothing stays CREATING."""
    doomed, survivor = [
        server_factory("--db", db, "--transition-delay", "0.5", "--log-level", "warning").start() for _ in range(2)
    ]
    bare_client(doomed.url).create_image(ImageName="img", RoleArn=ROLE)
    time.sleep(0.6)
    acknowledged: dict[str, str] = {}  # ClientToken -> ImageVersionArn
    lost_answers = []
    balancer = threading.local()  # per client thread: the server the load balancer now sends it to

    def create(_index, sm, _n):
        token = str(uuid.uuid4())
        for _attempt in range(2):
            try:
                arn = getattr(balancer, "sm", sm).create_image_version(
                    ImageName="img", BaseImage=BASE, ClientToken=token
                )["ImageVersionArn"]
                acknowledged[token] = arn
                return arn
            except BotoCoreError:  # no answer: the connection died with the server
                lost_answers.append(token)
                balancer.sm = bare_client(survivor.url)
        raise AssertionError(f"{token} never answered")

    def kill_when_busy():
        while len(acknowledged) < 60:
            time.sleep(0.005)
        doomed.proc.send_signal(signal.SIGKILL)

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    results, seconds = load([doomed, survivor], 25, create)
    killer.join()
    doomed.proc.wait(timeout=10)
    assert doomed.proc.returncode == -signal.SIGKILL

    assert len(acknowledged) == len(results) == 200
    listed = versions(bare_client(survivor.url))
    assert [v["Version"] for v in listed] == list(range(1, 201))  # nothing lost, nothing created twice
    assert sorted(acknowledged.values(), key=lambda arn: int(arn.rsplit("/", 1)[1])) == [
        v["ImageVersionArn"] for v in listed
    ]
    deadline = time.monotonic() + 15
    while stored(db, "SELECT count(*) FROM image_versions WHERE status <> 'CREATED' OR due_at IS NOT NULL"):
        assert time.monotonic() < deadline, "the surviving worker never wrote the transitions down"
        time.sleep(0.1)
    assert {v["ImageVersionStatus"] for v in versions(bare_client(survivor.url))} == {"CREATED"}
    print(
        f"\n200 creates over 2 servers, one SIGKILLed after 60 acknowledged: {seconds:.2f} s, "
        f"{len(lost_answers)} answers lost and retried on the survivor"
    )
    assert "Traceback" not in survivor.stop()


def test_a_client_token_replayed_against_another_server_creates_nothing(server_factory, db):
    first, second = [server_factory("--db", db).start() for _ in range(2)]
    bare_client(first.url).create_image(ImageName="img", RoleArn=ROLE)
    arn = bare_client(first.url).create_image_version(ImageName="img", BaseImage=BASE, ClientToken="tok")[
        "ImageVersionArn"
    ]
    assert (
        bare_client(second.url).create_image_version(ImageName="img", BaseImage=BASE + "-other", ClientToken="tok")[
            "ImageVersionArn"
        ]
        == arn
    )
    assert [v["Version"] for v in versions(bare_client(second.url))] == [1]


def test_transitions_run_in_a_separate_worker_process(server_factory, db):
    """serve --no-worker (or SMIMAGES_WORKER=off) leaves the stored transitions to `smimages worker`."""
    servers = [
        server_factory("--db", db, "--no-worker", "--transition-delay", "0.2").start(),
        server_factory("--db", db, "--transition-delay", "0.2", env={"SMIMAGES_WORKER": "off"}).start(),
    ]
    sm = bare_client(servers[0].url)
    sm.create_image(ImageName="img", RoleArn=ROLE)
    time.sleep(0.3)
    for server in servers:
        bare_client(server.url).create_image_version(ImageName="img", BaseImage=BASE)
    time.sleep(1.5)  # a worker inside either server would long have written the transitions down
    assert {v["ImageVersionStatus"] for v in versions(bare_client(servers[1].url))} == {
        "CREATED"
    }  # reads follow the clock
    assert stored(db, "SELECT count(*) FROM image_versions WHERE due_at IS NOT NULL") == 2
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "smimages", "worker", "--db", db],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    started = [next(line for line in worker.stdout if "worker started" in line) for worker in workers]
    try:
        assert len(started) == 2
        deadline = time.monotonic() + 20
        while stored(db, "SELECT count(*) FROM image_versions WHERE due_at IS NOT NULL") + stored(
            db, "SELECT count(*) FROM images WHERE due_at IS NOT NULL"
        ):
            assert time.monotonic() < deadline, "the worker process never wrote the transitions down"
            time.sleep(0.1)
        assert stored(db, "SELECT count(*) FROM image_versions WHERE status = 'CREATED'") == 2
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
    outputs = [worker.communicate(timeout=20)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    assert all("worker stopped" in output and "Traceback" not in output for output in outputs)
