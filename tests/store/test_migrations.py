"""One schema and one migration history for both backends: `smimages migrate`, serve migrating an empty database
itself, concurrent migrations, and a database migrated by a newer release refused with a clear message."""

import json
import subprocess
import sys

import orjson
import pytest
from alembic import command as alembic_command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from smimages.store import SchemaTooNew, Store
from smimages.store.engine import _alembic
from smimages.store.schema import metadata


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", "smimages.store:migrations")
    return ScriptDirectory.from_config(config).get_current_head()


HEAD = _head()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db(request, tmp_path):
    """A database nothing was ever written to: a new SQLite file, or a new PostgreSQL schema."""
    return (
        f"sqlite:///{tmp_path / 'new.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres").schema()
    )


def smimages(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smimages", *args], capture_output=True, text=True, timeout=timeout)


def test_migrate_creates_the_schema_once(empty_db):
    first = smimages("migrate", "--db", empty_db)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"database is at schema revision {HEAD}"
    again = smimages("migrate", "--db", empty_db)
    assert (again.returncode, again.stdout) == (0, first.stdout)
    store = Store(empty_db)
    assert store.revision() == HEAD
    with store.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) == {*metadata.tables, "alembic_version"}
    store.dispose()


def test_the_migrations_build_exactly_the_schema_the_code_declares(empty_db):
    """schema.py is the one definition: after migrating, Alembic finds nothing to add, drop or alter."""
    store = Store(empty_db)
    store.migrate()
    with store.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    store.dispose()
    assert differences == []


def test_concurrent_first_starts_migrate_once(empty_db):
    """Several servers started together on an empty database: one migrates, the others wait and find it done."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "smimages", "migrate", "--db", empty_db],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [proc.communicate(timeout=60)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 3, outputs
    store = Store(empty_db)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]
    store.dispose()


def test_a_database_from_a_newer_release_is_refused(empty_db):
    store = Store(empty_db)
    store.migrate()
    with store.transaction(write=True) as tx:
        tx.conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed0042'"))
    with pytest.raises(SchemaTooNew):
        store.migrate()
    store.dispose()
    expected = (
        "Error: The database schema is at revision f00dfeed0042, which this smimages does not know; it was "
        f"migrated by a newer release (this one knows up to {HEAD}). Upgrade smimages, or point --db at "
        "another database."
    )
    for command in (["migrate"], ["worker"], ["serve", "--port", "0"]):
        result = smimages(*command, "--db", empty_db)
        assert result.returncode == 1, result
        assert result.stderr.strip().splitlines()[-1] == expected


def test_blocks_stored_before_0006_are_rewritten_as_the_wire_writes_them(empty_db):
    """An app image config's blocks as releases before 0006 stored them (the json module's form: spaced, non-ASCII
    escaped) are rewritten in orjson's, which list pages carry as it is; a block already in it is left alone."""
    store = Store(empty_db)
    old = {"KernelSpecs": [{"Name": "python3", "DisplayName": "Python é"}]}
    new = {"ContainerConfig": {"ContainerArguments": ["x"]}}
    with store.engine.connect() as conn, conn.begin():
        alembic_command.upgrade(_alembic(conn), "0005")
        json_text = "CAST(:{} AS JSON)" if store.dialect == "postgresql" else ":{}"
        conn.execute(
            text(
                "INSERT INTO app_image_configs (account, region, name, name_key, kernel_gateway, jupyter_lab, "
                f"created_at, modified_at) VALUES ('000000000000', 'us-east-1', 'c', 'c', {json_text.format('old')}, "
                f"{json_text.format('new')}, 1.0, 1.0)"
            ),
            {"old": json.dumps(old), "new": orjson.dumps(new).decode()},
        )
    store.migrate()
    with store.engine.connect() as conn:
        stored = conn.execute(
            text("SELECT CAST(kernel_gateway AS TEXT), CAST(jupyter_lab AS TEXT) FROM app_image_configs")
        ).one()
    store.dispose()
    assert tuple(stored) == (orjson.dumps(old).decode(), orjson.dumps(new).decode())
