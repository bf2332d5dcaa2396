"""Two servers on one PostgreSQL, the database restarted under write load (a cluster of the test's own): clients see
only 503 ServiceUnavailable with Retry-After while it is down, no acknowledged write is lost or made twice, the first
request after its return succeeds within 2 s, and each server logs the episode once, without a traceback."""

import threading
import time
from functools import partial

from support import BASE, ROLE, Log, assert_no_traceback, bare_client
from support.load import Outcome, attempt, figure

THREADS_PER_SERVER = 4
OUTAGE = 3.0  # seconds the database stays down
TEMPORARY_FAILURE = "The request has failed due to a temporary failure of the server."
# the connection was cut, or a new one refused while the database is down
UNAVAILABLE = (
    f"{TEMPORARY_FAILURE} The database ",
    f"{TEMPORARY_FAILURE} Nothing accepts connections at the database's",
)


def test_two_servers_ride_out_a_database_restart(cluster, server_factory):
    servers = [server_factory("--db", cluster.url).start() for _ in range(2)]
    logs = [Log(server) for server in servers]
    bare_client(servers[0].url).create_image(ImageName="img", RoleArn=ROLE)
    outcomes: list[tuple[int, Outcome]] = []
    acknowledged: dict[str, str] = {}  # ClientToken -> ImageVersionArn
    stop = threading.Event()

    def client_thread(index: int, thread: int) -> None:
        sm = bare_client(servers[index].url, read_timeout=15)
        for n in range(10_000):
            if stop.is_set():
                return
            token = f"t{index}-{thread}-{n}"
            while True:  # as an SDK does: back off on a 503, retry with the same ClientToken
                outcome = attempt(partial(sm.create_image_version, ImageName="img", BaseImage=BASE, ClientToken=token))
                outcomes.append((index, outcome))
                if outcome.status == 200:
                    acknowledged[token] = outcome.value["ImageVersionArn"]
                    break
                if outcome.status != 503:
                    return  # anything else fails the test below
                time.sleep(0.05)

    threads = [
        threading.Thread(target=client_thread, args=(index, t))
        for index in range(len(servers))
        for t in range(THREADS_PER_SERVER)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    down = time.monotonic()
    cluster.stop("fast")  # ends every session, as a restart or a failover does
    stopped = time.monotonic()
    time.sleep(OUTAGE)
    up = cluster.start()
    time.sleep(2.5)
    stop.set()
    for thread in threads:
        thread.join()

    statuses = sorted({outcome.status for _, outcome in outcomes}, key=str)
    assert statuses == [200, 503], [(o.status, o.code, o.message) for _, o in outcomes if o.status not in (200, 503)]
    refused = [outcome for _, outcome in outcomes if outcome.status == 503]
    for outcome in refused:
        assert outcome.code == "ServiceUnavailable" and outcome.retry_after == "1"
        assert outcome.message.startswith(UNAVAILABLE), outcome.message
        assert down <= outcome.ended and outcome.started <= up + 2.0  # only during the outage
    first_successes = [
        min(o.ended for i, o in outcomes if i == index and o.status == 200 and o.started >= up) - up
        for index in range(len(servers))
    ]
    assert max(first_successes) < 2.0
    listed = [
        version["ImageVersionArn"]
        for page in bare_client(servers[1].url).get_paginator("list_image_versions").paginate(ImageName="img")
        for version in page["ImageVersions"]
    ]
    assert sorted(listed) == sorted(acknowledged.values())  # nothing lost, nothing made twice
    assert len(set(acknowledged.values())) == len(acknowledged)
    for server, log in zip(servers, logs, strict=True):
        text = log.new() + server.stop()
        assert text.count("unavailable: ") == 1, text  # the episode, once
        assert text.count("available again after") == 1, text
        assert_no_traceback(text)
    figure(
        "postgres-restart",
        servers=len(servers),
        client_threads=len(threads),
        outage_s=up - down,
        stop_s=stopped - down,
        acknowledged=len(acknowledged),
        answered_503=len(refused),
        other_errors=0,
        first_success_after_return_s=max(first_successes),
    )
