"""A SQLite server SIGKILLed under write load: every write it acknowledged is in the file, which passes
PRAGMA integrity_check, and a new server on it serves them all."""

import signal
import sqlite3
import threading
import time
from functools import partial

from support import BASE, ROLE, bare_client
from support.load import attempt, figure

THREADS = 8
KILL_AFTER = 300  # acknowledged writes


def test_sigkill_under_write_load_loses_no_acknowledged_write(server_factory, tmp_path):
    path = tmp_path / "state.db"
    server = server_factory("--db", f"sqlite:///{path}", "--log-level", "warning").start()
    images: set[str] = set()
    versions: set[tuple[str, int]] = set()
    tags: set[str] = set()
    lock = threading.Lock()
    dead = threading.Event()

    def writer(thread: int) -> None:
        sm = bare_client(server.url, read_timeout=10)
        for n in range(100_000):
            name = f"img-{thread}-{n}"
            arn = f"arn:aws:sagemaker:us-east-1:000000000000:image/{name}"
            steps = [
                partial(sm.create_image, ImageName=name, RoleArn=ROLE),
                partial(sm.create_image_version, ImageName=name, BaseImage=BASE, ClientToken=f"{name}-1"),
                partial(sm.add_tags, ResourceArn=arn, Tags=[{"Key": "k", "Value": name}]),
            ]
            records = ((images, name), (versions, (name, 1)), (tags, name))
            for step, (acknowledged, item) in zip(steps, records, strict=True):
                outcome = attempt(step)
                if outcome.status != 200:
                    assert outcome.status is None, outcome  # only a connection that died with the server
                    dead.set()
                    return
                with lock:
                    acknowledged.add(item)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    while len(images) + len(versions) + len(tags) < KILL_AFTER:
        time.sleep(0.002)
    server.proc.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    for thread in threads:
        thread.join()
    assert server.proc.wait(timeout=10) == -signal.SIGKILL
    acknowledged = len(images) + len(versions) + len(tags)

    with sqlite3.connect(path) as conn:  # as an operator would look at it (this also recovers the WAL)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored_images = {name for (name,) in conn.execute("SELECT name FROM images")}
        stored_versions = set(
            conn.execute("SELECT i.name, v.version FROM image_versions v JOIN images i ON i.id = v.image_id")
        )
        stored_tags = {value for (value,) in conn.execute("SELECT value FROM image_tags")}
    conn.close()
    assert images <= stored_images and versions <= stored_versions and tags <= stored_tags

    restarted = time.monotonic()
    again = server_factory("--db", f"sqlite:///{path}").start()
    serving = time.monotonic() - restarted
    sm = bare_client(again.url)
    listed = {image["ImageName"] for page in sm.get_paginator("list_images").paginate() for image in page["Images"]}
    assert images <= listed
    figure(
        "sqlite-sigkill",
        writer_threads=THREADS,
        acknowledged=acknowledged,
        load_s=killed - started,
        writes_per_s=acknowledged / (killed - started),
        lost=0,
        integrity="ok",
        restart_to_healthy_s=serving,
    )
