"""Fixtures of every tier: the database each test runs on, an in-process service with boto3 clients, and server
processes. Helpers live in tests/support."""

import sys

import pytest

from smimages.operations.service import Settings
from smimages.testing import InProcess
from support import POSTGRES, REQUIRE_POSTGRES, ROLE, MotoServer, PostgresRun, ServerProcess


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres: runs against the test PostgreSQL (SMIMAGES_TEST_POSTGRES)")
    config.addinivalue_line(
        "markers", "sqlite_only: the behaviour tested does not involve the store, so db_url is SQLite only"
    )


def pytest_generate_tests(metafunc):
    """db_url: in-memory SQLite, then a fresh PostgreSQL schema; SQLite only where the store is not involved."""
    if "db_url" in metafunc.fixturenames:
        params = ["sqlite"]
        if metafunc.definition.get_closest_marker("sqlite_only") is None:
            params.append(pytest.param("postgresql", marks=pytest.mark.postgres))
        metafunc.parametrize("db_url", params, indirect=True)


@pytest.fixture
def db_url(request):
    """The database an in-process test runs against (see pytest_generate_tests)."""
    return "sqlite://" if request.param == "sqlite" else request.getfixturevalue("pg_url")


@pytest.fixture(scope="session")
def postgres():
    """This run's PostgreSQL schemas; tests needing them skip when the server is unreachable (fail in CI)."""
    import psycopg

    try:
        run = PostgresRun(POSTGRES)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {POSTGRES} is unreachable: {exc}".strip()
        if REQUIRE_POSTGRES:
            pytest.fail(f"{message} (SMIMAGESREQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(message)
    yield run
    run.close()


@pytest.fixture
def pg_url(postgres):
    """A migrated PostgreSQL schema holding nothing, as a database URL (see PostgresRun)."""
    return postgres.fresh()


def pytest_collection_modifyitems(items):
    for item in items:
        if "postgres" in item.fixturenames:
            item.add_marker(pytest.mark.postgres)


_postgres_passed = []


def pytest_runtest_logreport(report):
    if report.when == "call" and report.passed and "postgres" in report.keywords:
        _postgres_passed.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    """With SMIMAGESREQUIRE_POSTGRES=1 a run in which no PostgreSQL test passed fails, whatever skipped them."""
    if REQUIRE_POSTGRES and not _postgres_passed and exitstatus == 0 and session.testscollected:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print("\nSMIMAGESREQUIRE_POSTGRES=1 but no PostgreSQL test ran", file=sys.stderr)


@pytest.fixture
def settings():
    return Settings()


@pytest.fixture
def service(db_url, settings):
    svc = InProcess(db_url, settings)
    yield svc
    svc.close()


@pytest.fixture
def sm(service):
    """A boto3 SageMaker client answered in-process."""
    return service.client()


@pytest.fixture
def raw(service):
    """A client that skips botocore's own checks, so the server's validation is what answers."""
    return service.client(validate=False)


@pytest.fixture
def image(sm):
    """A CREATED image named my-image."""
    sm.create_image(ImageName="my-image", RoleArn=ROLE)
    return "my-image"


@pytest.fixture
def server_factory():
    started = []

    def make(*args, env=None):
        server = ServerProcess(*args, env=env)
        started.append(server)
        return server

    yield make
    for server in started:
        if server.proc and server.proc.poll() is None:
            server.stop()


@pytest.fixture(scope="session")
def moto_server():
    """moto's server, started once per test run (it takes a second or two)."""
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def moto(moto_server):
    """moto's server, holding nothing: the upstream of `serve --upstream`."""
    moto_server.reset()
    return moto_server
