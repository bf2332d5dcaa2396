"""The store's read path: SQLite file reads on each thread's own open connection, and an image with one of its
versions found in one statement. Neither may change what a read sees."""

import asyncio
import contextvars
import gc
import sqlite3
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError
from greenlet import getcurrent, greenlet
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.util import await_only

from smimages.store import JOINED_IMAGE_COLUMNS, SHOWN_VERSION_COLUMNS, Store
from smimages.store.loopreads import LoopReads
from smimages.testing import InProcess
from support import ACCOUNT, BASE, REGION, ROLE, error_of


@pytest.fixture
def store(file_url):
    store = Store(file_url)
    store.migrate()
    yield store
    store.dispose()


@pytest.fixture
def other_thread():
    """One thread of its own, kept alive between calls (so it keeps its read connection)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield lambda fn, *args: pool.submit(fn, *args).result()


def read_connection(store):
    with store.transaction() as tx:
        return tx.conn


def count_images(store) -> int:
    with store.transaction() as tx:
        return tx.count_images(ACCOUNT, REGION, 0.0)


def insert_image(store, name: str) -> None:
    with store.transaction(write=True) as tx:
        tx.insert_image(
            {
                "account": ACCOUNT,
                "region": REGION,
                "name": name,
                "name_key": name,
                "role_arn": ROLE,
                "next_version": 0,
                "status": "CREATED",
                "created_at": 0.0,
                "modified_at": 0.0,
            }
        )


def test_each_thread_reads_on_one_open_connection_without_the_pool(store, other_thread):
    checkouts = []
    event.listen(store.engine, "checkout", lambda *_: checkouts.append(1))
    mine = read_connection(store)
    assert read_connection(store) is mine and not mine.in_transaction()
    theirs = other_thread(read_connection, store)
    assert theirs is not mine and other_thread(read_connection, store) is theirs
    assert checkouts == []
    with store.transaction(write=True) as tx:
        assert tx.conn is not mine
    assert checkouts == [1]


def test_every_read_sees_what_was_committed_before_it(store, other_thread):
    assert count_images(store) == other_thread(count_images, store) == 0  # both threads hold a connection now
    insert_image(store, "mine")
    assert count_images(store) == other_thread(count_images, store) == 1
    other_thread(insert_image, store, "theirs")
    assert count_images(store) == other_thread(count_images, store) == 2


def test_a_failed_read_leaves_nothing_open(store):
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            tx.conn.execute(text("SELECT count(*) FROM images")).scalar()
            raise RuntimeError
    assert not read_connection(store).in_transaction()
    insert_image(store, "after")
    assert count_images(store) == 1


def test_writes_and_snapshots_keep_their_transactions(store):
    statements = []
    event.listen(store.engine, "before_cursor_execute", lambda _c, _cur, sql, *_: statements.append(sql))
    insert_image(store, "img")
    with store.transaction(snapshot=True) as tx:
        tx.count_images(ACCOUNT, REGION, 0.0)
    assert statements[0] == "BEGIN IMMEDIATE" and statements[2] == "BEGIN"


def test_dispose_closes_every_thread_connection_and_reads_go_on(store, other_thread):
    connections = [read_connection(store), other_thread(read_connection, store)]
    store.dispose()
    assert all(conn.closed for conn in connections)
    assert read_connection(store) not in connections and other_thread(read_connection, store) not in connections
    assert count_images(store) == 0


def test_a_thread_connection_closes_when_the_thread_ends(store):
    opened = []
    thread = threading.Thread(target=lambda: opened.append(read_connection(store).connection.dbapi_connection))
    thread.start()
    thread.join()
    gc.collect()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[0].execute("SELECT 1")


def test_an_in_memory_catalog_reads_through_its_one_pooled_connection():
    store = Store("sqlite://")
    try:
        checkouts = []
        event.listen(store.engine, "checkout", lambda *_: checkouts.append(1))
        read_connection(store)
        assert checkouts == [1]
    finally:
        store.dispose()


def test_image_version_finds_what_image_then_version_find(catalog):
    svc, built = catalog
    selectors = [{}, *({"number": n} for n in range(1, 6)), *({"alias": f"a{n}"} for n in range(1, 6))]
    found = 0
    with svc.service.store.transaction() as tx:
        for now in (built, built + 10):  # deletions pending, then done
            for name in ("img", "doomed", "emptied", "missing"):
                for selector in selectors:
                    image = tx.image(ACCOUNT, REGION, name, now)
                    version = image and tx.version(image["id"], now, **selector)
                    # the joined lookup fetches the image's id and name and what a read shows of the version
                    expected = (
                        (
                            {key: image[key] for key in JOINED_IMAGE_COLUMNS},
                            {key: version[key] for key in SHOWN_VERSION_COLUMNS},
                        )
                        if version
                        else None
                    )
                    assert tx.image_version(ACCOUNT, REGION, name, now, **selector) == expected, (now, name, selector)
                    found += expected is not None
        # before the deletions are due: img's latest, 1-4, a1-a4, doomed's latest, 1, a1, emptied's latest, 1;
        # after: img's latest (3), 1, 3, a1, a3
        assert found == 14 + 5
        assert tx.image_version(ACCOUNT, REGION, "img", built + 10)[1]["version"] == 3
        assert tx.image_version(ACCOUNT, REGION, "img", built, number=3)[1]["horovod"] is True


def test_a_missing_image_and_a_missing_version_keep_their_errors(sm):
    sm.create_image(ImageName="img", RoleArn=ROLE)
    sm.create_image_version(ImageName="img", BaseImage=BASE)
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:image"
    for call, message in [
        (lambda: sm.list_aliases(ImageName="nope", Version=1), f"Image with ARN {arn}/nope does not exist"),
        (
            lambda: sm.list_aliases(ImageName="img", Version=2),
            f"ImageVersion with ARN {arn}-version/img/2 does not exist",
        ),
        (
            lambda: sm.describe_image_version(ImageName="nope", Version=1),
            f"ImageVersion with ARN {arn}-version/nope/1 does not exist",
        ),
        (
            lambda: sm.describe_image_version(ImageName="nope", Alias="x"),
            "ImageVersion with Alias x for Image nope does not exist",
        ),
    ]:
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc) == ("ResourceNotFound", message)


def test_a_read_connection_the_database_drops_is_replaced(pg_url):
    """PostgreSQL reads run on a connection each thread keeps; one the server terminates is dropped and the read run
    again on a new one, so the client sees no error."""
    svc = InProcess(pg_url)
    try:
        sm = svc.client()
        sm.create_image(ImageName="img", RoleArn=ROLE)
        with svc.service.store.transaction() as tx:
            reader = tx.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with svc.service.store.transaction(write=True) as tx:
            assert tx.conn.exec_driver_sql(f"SELECT pg_terminate_backend({reader})").scalar() is True
        assert sm.describe_image(ImageName="img")["ImageName"] == "img"
        with svc.service.store.transaction() as tx:
            assert tx.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() != reader
    finally:
        svc.close()


def test_the_loops_connections_go_to_reads_in_the_order_they_asked(pg_url):
    """With one loop connection, a read that waits for it gets it before a read that asks as it is given back (an
    asyncio.Queue would let the newcomer take it, and a waiter under load could wait behind newcomers for ever)."""
    reads = LoopReads(make_url(pg_url), 1)
    order = []

    def read(name, hold=None):
        conn = reads.connection()
        order.append(name)
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
        if hold is not None:
            await_only(hold.wait())
        reads.release(conn, False)

    async def scenario():
        given_back = asyncio.Event()
        first = asyncio.create_task(reads.run(read, "first", given_back))
        await asyncio.sleep(0.2)  # the first read holds the one connection
        waiting = asyncio.create_task(reads.run(read, "waiting"))
        await asyncio.sleep(0.2)  # the second waits for it
        given_back.set()
        newcomer = asyncio.create_task(reads.run(read, "newcomer"))  # asks as the first gives it back
        await asyncio.gather(first, waiting, newcomer)
        await reads.close()

    asyncio.run(scenario())
    assert order == ["first", "waiting", "newcomer"]


def test_a_read_in_another_greenlet_reads_as_a_thread_does(pg_url):
    """Only run()'s greenlets read on the loop's connections: code in a greenlet of its own (gevent's, say) reads on
    its thread's connection, as it would without greenlets."""
    store = Store(pg_url)
    store.loop_reader()
    try:

        def read():
            assert not store.loop_reads.here()
            with store.transaction() as tx:
                return tx.conn.engine is store.loop_reads.engine, tx.conn.exec_driver_sql("SELECT 1").scalar()

        assert greenlet(read).switch() == (False, 1)
    finally:
        store.dispose()


def loop_reads(size=2):
    """LoopReads whose greenlets these tests drive without a database (no connection opens until a read asks)."""
    return LoopReads(make_url("postgresql+psycopg://postgres@127.0.0.1:1/none"), size)


def test_the_loops_reads_run_one_after_another_in_kept_greenlets():
    """A read's greenlet is kept for the next (a new one costs Python a new frame stack per read), as many as reads
    can run at once; what each read returns, raises or awaits is its own."""
    reads = loop_reads(size=2)
    request = contextvars.ContextVar("request")

    def read(name, pause=None):
        if pause is not None:
            await_only(pause.wait())
        assert reads.here()
        return name, request.get(), getcurrent()

    def failing():
        await_only(asyncio.sleep(0))
        raise LookupError("no such row")

    async def task(name, pause=None):
        request.set(name)  # each task's own context, as each request's
        return await reads.run(read, name, pause)

    async def scenario():
        first = await task("first")
        second = await task("second")
        with pytest.raises(LookupError, match="no such row"):
            await reads.run(failing)
        after = await task("after")
        pauses = [asyncio.Event() for _ in range(3)]
        together = [asyncio.create_task(task(f"together-{n}", pause)) for n, pause in enumerate(pauses)]
        await asyncio.sleep(0.05)
        for pause in pauses:
            pause.set()
        return first, second, after, await asyncio.gather(*together), await task("last")

    first, second, after, together, last = asyncio.run(scenario())
    assert (first[:2], second[:2], after[:2]) == (("first", "first"), ("second", "second"), ("after", "after"))
    assert first[2] is second[2] is after[2]  # one greenlet, kept through a read that raised
    assert [result[:2] for result in together] == [(f"together-{n}",) * 2 for n in range(3)]
    assert len({result[2] for result in together}) == 3  # reads at once each have their own
    assert last[2] in {result[2] for result in together}
    assert len(reads._kept) == 2  # at most `size` kept
    assert not reads.here()


def test_a_read_cancelled_while_it_waits_ends_and_its_greenlet_serves_the_next():
    reads = loop_reads()
    seen = []

    def read():
        seen.append(getcurrent())
        try:
            await_only(asyncio.sleep(10))
        except asyncio.CancelledError:
            seen.append("cancelled inside the read")
            raise

    def interrupted():
        raise KeyboardInterrupt  # any BaseException reaches the caller as it was raised

    async def scenario():
        waiting = asyncio.create_task(reads.run(read))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        with pytest.raises(KeyboardInterrupt) as raised:
            await reads.run(interrupted)
        assert raised.traceback[-1].name == "interrupted"
        return await reads.run(getcurrent)

    next_one = asyncio.run(scenario())
    assert seen == [next_one, "cancelled inside the read"]
    assert reads._kept == [next_one]


def test_the_loops_reads_leave_nothing_behind():
    """Greenlets that are not kept, what a read returned or raised, and LoopReads once closed, are all freed: the
    collector cannot break a cycle through a suspended greenlet, so there must be none (checked with it off)."""
    reads = loop_reads(size=1)
    made = []

    class Thing:
        """Something of a read's own."""

    def read(pause, fail):
        made.extend((weakref.ref(getcurrent()), weakref.ref(thing := Thing())))
        await_only(pause.wait())
        if fail:
            raise LookupError(thing)
        return thing

    async def scenario():
        pauses = [asyncio.Event() for _ in range(3)]
        together = [
            asyncio.gather(reads.run(read, pause, n == 1), return_exceptions=True) for n, pause in enumerate(pauses)
        ]
        await asyncio.sleep(0.05)
        for pause in pauses:
            pause.set()
        await asyncio.gather(*together)

    gc.disable()
    try:
        asyncio.run(scenario())
        greenlets, things = made[0::2], made[1::2]
        assert len(greenlets) == 3 and [g() for g in greenlets].count(None) == 2  # one kept
        assert [thing() for thing in things] == [None] * 3
    finally:
        gc.enable()
    kept = weakref.ref(reads)
    asyncio.run(reads.close())
    reads = None
    gc.collect()
    assert kept() is None
    assert all(g() is None for g in greenlets)
