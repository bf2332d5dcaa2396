"""PostgreSQL's read requests on the event loop (smimages/store/loopreads.py), on a real server over a socket: reads
queue for the loop's connections without an error, a server holds no more connections than the capacity model says,
and a loop connection the database drops is replaced without the client seeing it."""

import secrets
from concurrent.futures import ThreadPoolExecutor

import psycopg
from sqlalchemy.engine import make_url

from support import BASE, ROLE, ServerProcess, bare_client

CALLS = 240


def named(pg_url: str) -> tuple[str, str]:
    """The URL with an application name of its own (the connections a server opens are found by it), and the name."""
    name = f"smimages-loop-{secrets.token_hex(4)}"
    return make_url(pg_url).update_query_dict({"application_name": name}).render_as_string(hide_password=False), name


def backends(pg_url: str, name: str) -> int:
    """How many connections the server named `name` holds open now."""
    url = make_url(pg_url).set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)).fetchone()
    return row[0]


def terminate(pg_url: str, name: str) -> int:
    """Ends every connection of the server named `name`, as a database restart or an idle-session reaper would."""
    url = make_url(pg_url).set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (name,)
        ).fetchall()
    return len(rows)


def seeded(server: ServerProcess):
    sm = bare_client(server.url)
    sm.create_image(ImageName="img", RoleArn=ROLE)
    for number in range(1, 4):
        sm.create_image_version(ImageName="img", BaseImage=BASE, Aliases=[f"v{number}"])
    return sm


def test_reads_queue_for_the_loop_connections_and_every_one_is_answered(postgres):
    """With --pool-size 1, 240 reads from 12 clients at once share the loop's one connection: every one is answered
    correctly, and the server holds no more connections than its capacity model says (docs/deploy.md): 2 x pool size
    for requests, and one for the background worker's reads."""
    url, name = named(postgres.fresh())
    server = ServerProcess("--db", url, "--pool-size", "1").start()
    try:
        seeded(server)
        clients = [bare_client(server.url) for _ in range(12)]

        def read(n: int):
            sm = clients[n % len(clients)]
            if n % 3 == 0:
                return sm.describe_image_version(ImageName="img", Alias=f"v{n % 3 + 1}")["Version"] == n % 3 + 1
            if n % 3 == 1:
                return [v["Version"] for v in sm.list_image_versions(ImageName="img")["ImageVersions"]] == [3, 2, 1]
            return sm.describe_image(ImageName="img")["ImageName"] == "img"

        with ThreadPoolExecutor(12) as pool:
            answered = list(pool.map(read, range(CALLS)))
        assert answered == [True] * CALLS
        assert backends(url, name) <= 2 * 1 + 1
    finally:
        output = server.stop()
    assert "Traceback" not in output


def test_a_loop_connection_the_database_drops_is_replaced(postgres):
    """Every connection of the server is terminated between two reads: the next read runs again on a new loop
    connection, and the client (which never retries) sees no error."""
    url, name = named(postgres.fresh())
    server = ServerProcess("--db", url).start()
    try:
        sm = seeded(server)
        assert sm.describe_image_version(ImageName="img")["Version"] == 3
        assert terminate(url, name) >= 1
        assert sm.describe_image_version(ImageName="img")["Version"] == 3
        assert [v["Version"] for v in sm.list_image_versions(ImageName="img")["ImageVersions"]] == [3, 2, 1]
    finally:
        output = server.stop()
    assert "Traceback" not in output
