"""Peers that fall silent. Clients that connect and send nothing, or a request head a byte at a time, hold up no
one and are dropped after --request-timeout; a database that accepts connections and never answers stops `serve`
within the connect timeout with one line; a database that falls silent mid-run (its connections kept open, as
behind a partition) leaves health answering in milliseconds and readiness saying why, within its timeout."""

import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from support import ROLE, bare_client
from support.load import HEALTH_LIMIT, Probe, attempt, figure, get
from support.proxy import SilentProxy

REQUEST_TIMEOUT = 2.0


def test_silent_and_slow_clients_hold_up_no_one(server_factory, tmp_path):
    server = server_factory("--db", f"sqlite:///{tmp_path / 'state.db'}", "--request-timeout", str(REQUEST_TIMEOUT))
    server.start()
    sm = bare_client(server.url)
    sm.create_image(ImageName="img", RoleArn=ROLE)
    opened = time.monotonic()
    silent = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(200)]
    slow = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(50)]
    head = b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: SageMaker.ListImages\r\n"
    try:
        with Probe(server.url) as health:
            calls = []
            for i in range(len(head)):
                for sock in slow:
                    try:
                        sock.send(head[i : i + 1])
                    except OSError:
                        pass  # the server has dropped it
                calls.append(attempt(lambda: sm.describe_image(ImageName="img")))
                if time.monotonic() - opened > REQUEST_TIMEOUT + 0.5:
                    break
                time.sleep(0.05)
        assert {o.status for o in calls} == {200}
        answers = []
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda sock: read_until_closed(sock, REQUEST_TIMEOUT + 3), silent + slow))
        closed = time.monotonic() - opened
    finally:
        for sock in silent + slow:
            sock.close()
    assert answers[: len(silent)] == [b""] * len(silent)  # closed without a word
    assert all(b" 408 " in answer.split(b"\r\n")[0] for answer in answers[len(silent) :])  # RequestTimeout
    assert closed < REQUEST_TIMEOUT + 2
    assert health.slowest < HEALTH_LIMIT and max(o.seconds for o in calls) < 0.25
    figure(
        "silent-clients",
        silent=len(silent),
        slow_heads=len(slow),
        request_timeout=REQUEST_TIMEOUT,
        all_dropped_after_s=closed,
        health_max_s=health.slowest,
        requests_max_s=max(o.seconds for o in calls),
    )


def read_until_closed(sock: socket.socket, limit: float) -> bytes:
    sock.settimeout(limit)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_database_that_never_answers_stops_serve_with_one_line():
    peer = SilentProxy()  # accepts, never says a word
    try:
        started = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "smimages",
                "serve",
                "--port",
                "0",
                "--db",
                f"postgresql://x@127.0.0.1:{peer.port}/db",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        seconds = time.monotonic() - started
    finally:
        peer.close()
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"Error: cannot open postgresql://x@127.0.0.1:{peer.port}/db: the database server did not answer in time"
    ), result.stderr
    assert seconds < 5 + 3  # the connect timeout
    figure("silent-database-at-start", refused_after_s=seconds)


def test_a_database_falling_silent_keeps_health_fast_and_readiness_honest(server_factory, cluster):
    proxy = SilentProxy(("127.0.0.1", cluster.port))
    try:
        server = server_factory("--db", f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres").start()
        sm = bare_client(server.url, read_timeout=60)
        sm.create_image(ImageName="img", RoleArn=ROLE)
        assert get(f"{server.url}/_smimages/ready")[:2] == (200, {"status": "ready"})
        proxy.frozen.set()
        with ThreadPoolExecutor(4) as pool:
            stuck = [pool.submit(attempt, lambda: sm.describe_image(ImageName="img")) for _ in range(2)]
            with Probe(server.url) as health:
                checks = [get(f"{server.url}/_smimages/ready") for _ in range(3)]
            proxy.frozen.clear()
            thawed = [future.result() for future in stuck]
        # the check's connection times out (2 s), or the check as a whole does (2.5 s)
        reasons = {"the database server did not answer in time", "the database did not answer within 2 s"}
        assert all(status == 503 and body["reason"] in reasons for status, body, _ in checks), checks
        assert max(check[2] for check in checks) < 3.0
        assert health.slowest < HEALTH_LIMIT
        # a request on an open connection is held until the database answers again; one that needed a new
        # connection got a 503 once the connect timeout (5 s) passed
        assert {(o.status, o.retry_after) for o in thawed} <= {(200, None), (503, "1")}
        assert get(f"{server.url}/_smimages/ready")[:2] == (200, {"status": "ready"})
    finally:
        proxy.close()
    figure(
        "silent-database-mid-run",
        readiness_answer_s=max(check[2] for check in checks),
        health_max_s=health.slowest,
        health_checks=len(health.times),
    )
