"""Each operation makes a small, fixed number of database round trips, the same on both backends but where PostgreSQL
makes in one statement what SQLite makes in two (where a round trip costs, inside a lock).

Counted as SQL statements (SQLite's explicit BEGIN aside). On PostgreSQL a write transaction adds a BEGIN and a
COMMIT round trip; reads run in autocommit and add none. Speed itself is the benchmark harness's business."""

import pytest
from sqlalchemy import event

from smimages.store.fastpath import DriverLookups
from support import BASE, ROLE

ARN = "arn:aws:sagemaker:us-east-1:000000000000:image/img"
# operation -> statements PostgreSQL spares (a new version's number recorded in its INSERT's CTE)
POSTGRESQL_FEWER = {"CreateImageVersion": 1, "CreateImageVersion (2 aliases)": 1}
# (operation, call, statements, writes): in the order they run, each on the state the previous ones left
CALLS = [
    (
        "CreateImage",
        lambda sm: sm.create_image(ImageName="img", RoleArn=ROLE, Tags=[{"Key": "a", "Value": "b"}]),
        3,
        True,
    ),
    ("CreateImage (name taken)", lambda sm: sm.create_image(ImageName="img", RoleArn=ROLE), 2, True),
    ("DescribeImage", lambda sm: sm.describe_image(ImageName="img"), 1, False),
    ("ListImages", lambda sm: sm.list_images(), 1, False),
    ("UpdateImage", lambda sm: sm.update_image(ImageName="img", Description="d"), 2, True),
    ("CreateImageVersion", lambda sm: sm.create_image_version(ImageName="img", BaseImage=BASE), 3, True),
    (
        "CreateImageVersion (2 aliases)",
        lambda sm: sm.create_image_version(ImageName="img", BaseImage=BASE, Aliases=["a1", "a2"], ClientToken="tok"),
        6,
        True,
    ),
    (
        "CreateImageVersion (replay)",
        lambda sm: sm.create_image_version(ImageName="img", BaseImage=BASE, ClientToken="tok"),
        1,
        True,
    ),
    ("DescribeImageVersion", lambda sm: sm.describe_image_version(ImageName="img"), 1, False),
    ("DescribeImageVersion (alias)", lambda sm: sm.describe_image_version(ImageName="img", Alias="a1"), 1, False),
    (
        "UpdateImageVersion (1 alias)",
        lambda sm: sm.update_image_version(ImageName="img", Version=1, AliasesToAdd=["x"], ReleaseNotes="n"),
        6,
        True,
    ),
    ("ListImageVersions", lambda sm: sm.list_image_versions(ImageName="img"), 2, False),
    ("ListAliases", lambda sm: sm.list_aliases(ImageName="img"), 2, False),
    ("ListAliases (version)", lambda sm: sm.list_aliases(ImageName="img", Version=2), 2, False),
    ("AddTags", lambda sm: sm.add_tags(ResourceArn=ARN, Tags=[{"Key": "k", "Value": "v"}]), 3, True),
    ("ListTags", lambda sm: sm.list_tags(ResourceArn=ARN), 2, False),
    ("DeleteTags", lambda sm: sm.delete_tags(ResourceArn=ARN, TagKeys=["k"]), 2, True),
    ("DeleteImageVersion", lambda sm: sm.delete_image_version(ImageName="img", Version=1), 3, True),
    ("DeleteImage", lambda sm: sm.delete_image(ImageName="img"), 2, True),
]


def test_statements_per_operation(service, sm, monkeypatch):
    engine = service.service.store.engine
    seen = []

    def note(conn):
        seen.append(conn.connection.dbapi_connection.autocommit if engine.dialect.name == "postgresql" else None)

    def count(conn, _cursor, statement, *_):
        if statement not in ("BEGIN", "BEGIN IMMEDIATE"):
            note(conn)

    def run(conn, statement, params, every):  # the per-request statements run on the driver's cursor: count them
        note(conn)
        return direct(conn, statement, params, every)

    for listened in service.service.store.engines:
        event.listen(listened, "before_cursor_execute", count)
    direct = DriverLookups._run
    monkeypatch.setattr(DriverLookups, "_run", staticmethod(run))
    counted = {}
    for name, call, _, _ in CALLS:
        seen.clear()
        try:
            call(sm)
        except sm.exceptions.ResourceInUse:
            pass
        counted[name] = len(seen)
        if engine.dialect.name == "postgresql":  # reads skip BEGIN/COMMIT, writes are one transaction
            assert set(seen) == {not dict((c[0], c[3]) for c in CALLS)[name]}, name
    fewer = POSTGRESQL_FEWER if engine.dialect.name == "postgresql" else {}
    assert counted == {name: statements - fewer.get(name, 0) for name, _, statements, _ in CALLS}


@pytest.mark.parametrize("versions, statements", [(0, 4), (30, 5), (300, 8)])
def test_a_worker_pass_makes_a_fixed_number_of_statements(service, sm, versions, statements):
    """Per table a claim, an UPDATE of the claimed rows that settle (a DELETE of those that disappear), then the
    next due time; past one batch (200 rows) it comes straight back for the rest."""
    sm.create_image(ImageName="img", RoleArn=ROLE)
    for _ in range(versions):
        sm.create_image_version(ImageName="img", BaseImage=BASE)
    seen = []
    for engine in service.service.store.engines:
        event.listen(
            engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, *_: None if statement.startswith("BEGIN") else seen.append(statement),
        )
    while service.worker.run_once() is not None:
        pass
    assert len(seen) == statements
