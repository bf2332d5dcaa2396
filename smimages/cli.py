"""The smimages command line: serve, worker, migrate, export and import."""

import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from .clock import ShiftedClock
from .store import (
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_POOL_SIZE,
    DEFAULT_STATEMENT_TIMEOUT,
    DatabaseOptions,
    ReadOnly,
    SchemaBehind,
    SchemaTooNew,
    Store,
    Unavailable,
    default_url,
    display_url,
    open_store,
)

if TYPE_CHECKING:
    from .registry import RegistrySettings

DEFAULT_PORT = 4590
F = TypeVar("F", bound=Callable[..., Any])

_db_option = click.option(
    "--db",
    envvar="SMIMAGES_DB",
    default=None,
    show_envvar=True,
    help="Database URL: sqlite:///path/state.db, sqlite:// (in memory) or postgresql://user@host:port/db. "
    "Default: a SQLite file in the per-user data directory.",
)


_pool_option = click.option(
    "--pool-size",
    envvar="SMIMAGES_POOL_SIZE",
    default=DEFAULT_POOL_SIZE,
    type=click.IntRange(1),
    show_default=True,
    show_envvar=True,
    help="PostgreSQL connections this process keeps (serve also handles this many requests at once).",
)


_TIMEOUT_OPTIONS = [
    click.option(
        "--db-lock-timeout",
        envvar="SMIMAGES_DB_LOCK_TIMEOUT",
        default=DEFAULT_LOCK_TIMEOUT,
        type=click.FloatRange(0),
        show_default=True,
        show_envvar=True,
        metavar="SECONDS",
        help="How long a statement waits for a lock another database session holds (a row lock on PostgreSQL, the "
        "write lock on SQLite) before its request answers 503 ServiceUnavailable; 0: no limit.",
    ),
    click.option(
        "--db-statement-timeout",
        envvar="SMIMAGES_DB_STATEMENT_TIMEOUT",
        default=DEFAULT_STATEMENT_TIMEOUT,
        type=click.FloatRange(0),
        show_default=True,
        show_envvar=True,
        metavar="SECONDS",
        help="How long a PostgreSQL statement may run before it is cancelled and its request answers 503 "
        "ServiceUnavailable; 0: no limit.",
    ),
]


def _timeout_options(command: F) -> F:
    for option in reversed(_TIMEOUT_OPTIONS):
        command = option(command)
    return command


_REGISTRY_OPTIONS = [
    click.option(
        "--registry-check",
        envvar="SMIMAGES_REGISTRY_CHECK",
        default="off",
        show_default=True,
        show_envvar=True,
        metavar="off|on",
        help="Resolve each new image version's BaseImage in its container registry (docs/registry.md): "
        "CREATED with a digest-pinned ContainerImage, or CREATE_FAILED with a FailureReason.",
    ),
    click.option(
        "--registry-mirror",
        "registry_mirrors",
        envvar="SMIMAGES_REGISTRY_MIRROR",
        multiple=True,
        show_envvar=True,
        metavar="HOST=URL",
        help="Send registry HOST to the registry at URL (repeatable; the variable holds pairs separated "
        "by spaces), e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com=http://127.0.0.1:5000.",
    ),
    click.option(
        "--registry-auth-file",
        envvar="SMIMAGES_REGISTRY_AUTH_FILE",
        default=None,
        show_envvar=True,
        metavar="PATH",
        help="Registry credentials in docker config.json format (SMIMAGES_REGISTRY_AUTH may "
        "hold the same JSON inline).",
    ),
    click.option(
        "--registry-allow-http",
        envvar="SMIMAGES_REGISTRY_ALLOW_HTTP",
        is_flag=True,
        show_envvar=True,
        help="Allow plain http to registry endpoints that are not loopback addresses.",
    ),
    click.option(
        "--registry-ca-file",
        envvar="SMIMAGES_REGISTRY_CA_FILE",
        default=None,
        show_envvar=True,
        metavar="PATH",
        help="PEM certificates trusted for https registries (default: the system's).",
    ),
    click.option(
        "--registry-timeout",
        envvar="SMIMAGES_REGISTRY_TIMEOUT",
        default=10.0,
        type=float,
        show_default=True,
        show_envvar=True,
        metavar="SECONDS",
        help="Limit for each connect and each read of a registry request.",
    ),
    click.option(
        "--registry-retries",
        envvar="SMIMAGES_REGISTRY_RETRIES",
        default=2,
        type=int,
        show_default=True,
        show_envvar=True,
        metavar="N",
        help="Extra attempts after a connection error, a timeout, HTTP 429 or 5xx (0..10).",
    ),
    click.option(
        "--registry-lease",
        envvar="SMIMAGES_REGISTRY_LEASE",
        default=None,
        type=click.FloatRange(0, min_open=True),
        show_envvar=True,
        metavar="SECONDS",
        help="How long a worker holds a registry check it claimed before another worker may take it over "
        "(default: timeout x (retries + 1) + 30).",
    ),
]


def _registry_options(command: F) -> F:
    for option in reversed(_REGISTRY_OPTIONS):
        command = option(command)
    return command


def _registry_settings(
    registry_check: str,
    registry_mirrors: tuple[str, ...],
    registry_auth_file: str | None,
    registry_allow_http: bool,
    registry_ca_file: str | None,
    registry_timeout: float,
    registry_retries: int,
) -> "RegistrySettings":
    """RegistrySettings from the --registry-* flags (and SMIMAGES_REGISTRY_AUTH); an invalid one stops the command
    with its message."""
    from .registry import RegistrySettings

    try:
        return RegistrySettings.from_options(
            check=registry_check,
            mirrors=registry_mirrors,
            auth_file=registry_auth_file,
            auth_json=os.environ.get("SMIMAGES_REGISTRY_AUTH"),
            allow_http=registry_allow_http,
            ca_file=registry_ca_file,
            timeout=registry_timeout,
            retries=registry_retries,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def _log_registry(settings: "RegistrySettings") -> None:
    if settings.check:
        # RegistrySettings stores mirrors as (host, URL) pairs, whatever form it was given them in
        pairs = cast("tuple[tuple[str, str], ...]", settings.mirrors)
        mirrors = ", ".join(f"{host}={url}" for host, url in pairs) or "none"
        logging.getLogger("smimages").info("registry check on (mirrors: %s)", mirrors)


# what a one-off command (migrate, export, import) runs with: it waits as long as the database makes it
_PATIENT = DatabaseOptions(lock_timeout=0, statement_timeout=0)


def _open_store(
    db: str | None, pool_size: int = DEFAULT_POOL_SIZE, options: DatabaseOptions = _PATIENT, serving: bool = False
) -> Store:
    """The store, or one `Error:` line saying why the database cannot be used and what to do."""
    url = db or default_url()
    try:
        return open_store(url, pool_size=pool_size, options=options)
    except (SchemaTooNew, SchemaBehind) as exc:
        raise click.ClickException(str(exc)) from None
    except ReadOnly as exc:
        instead = ", or serve it read-only with --read-only" if serving else ""
        raise click.ClickException(
            f"the database {display_url(url)} cannot be written ({exc.detail}): make the file and its folder "
            f"writable by this user{instead}."
        ) from None
    except Unavailable as exc:
        raise click.ClickException(
            f"cannot use the database {display_url(url)}: {exc.reason} ({exc.detail})."
        ) from None


@click.group()
def main() -> None:
    """A local, AWS-compatible SageMaker AI custom-images service."""


@main.command()
@click.option("--host", envvar="SMIMAGES_HOST", default="127.0.0.1", show_default=True, show_envvar=True)
@click.option("--port", envvar="SMIMAGES_PORT", default=DEFAULT_PORT, type=int, show_default=True, show_envvar=True)
@_db_option
@click.option(
    "--transition-delay",
    envvar="SMIMAGES_TRANSITION_DELAY",
    default=0.0,
    type=click.FloatRange(0),
    show_default=True,
    show_envvar=True,
    help="Seconds a resource stays CREATING/UPDATING/DELETING before its final status.",
)
@click.option(
    "--log-level",
    envvar="SMIMAGES_LOG_LEVEL",
    default="info",
    show_default=True,
    show_envvar=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@click.option(
    "--auth",
    "auth_mode",
    envvar="SMIMAGES_AUTH",
    type=click.Choice(["off", "sigv4"]),
    default=None,
    show_envvar=True,
    help="off: any credentials are accepted (loopback addresses only; the default there). sigv4: every "
    "request's signature is verified against --credentials-file (the default when one is given).",
)
@click.option(
    "--credentials-file",
    envvar="SMIMAGES_CREDENTIALS_FILE",
    default=None,
    show_envvar=True,
    help="INI file of access keys for --auth sigv4 (format in docs/security.md); must be chmod 600.",
)
@click.option(
    "--insecure-allow-anonymous",
    envvar="SMIMAGES_INSECURE_ALLOW_ANONYMOUS",
    is_flag=True,
    show_envvar=True,
    help="Allow --auth off on a non-loopback address (a warning is logged at every start).",
)
@click.option(
    "--request-timeout",
    envvar="SMIMAGES_REQUEST_TIMEOUT",
    default=20.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    show_envvar=True,
    help="Seconds a client has to send a whole request (head and body); slower clients get 408 RequestTimeout.",
)
@click.option(
    "--max-connections",
    envvar="SMIMAGES_MAX_CONNECTIONS",
    default=1000,
    show_default=True,
    type=click.IntRange(1),
    show_envvar=True,
    help="Open connections beyond which new requests are answered 503.",
)
@_pool_option
@_timeout_options
@click.option(
    "--read-only",
    envvar="SMIMAGES_READ_ONLY",
    is_flag=True,
    show_envvar=True,
    help="Serve the catalog read-only: Describe* and List* are answered, every other operation is refused with "
    "AccessDeniedException; nothing is migrated and no worker runs (a SQLite file this user may not write, a "
    "PostgreSQL standby).",
)
@click.option(
    "--worker/--no-worker",
    envvar="SMIMAGES_WORKER",
    default=True,
    show_default=True,
    show_envvar=True,
    help="Run background jobs (lifecycle transitions) in this process; with --no-worker run "
    "`smimages worker` on the same database instead.",
)
@click.option(
    "--enable-admin",
    envvar="SMIMAGES_ENABLE_ADMIN",
    is_flag=True,
    show_envvar=True,
    help="Serve the test-control API under /_smimages/ (move the clock, inject faults, dump/load/reset "
    "the catalog; docs/testing.md). Unauthenticated: for test servers only.",
)
@_registry_options
def serve(
    host: str,
    port: int,
    db: str | None,
    transition_delay: float,
    log_level: str,
    auth_mode: str | None,
    credentials_file: str | None,
    insecure_allow_anonymous: bool,
    request_timeout: float,
    max_connections: int,
    pool_size: int,
    db_lock_timeout: float,
    db_statement_timeout: float,
    read_only: bool,
    worker: bool,
    enable_admin: bool,
    registry_lease: float | None,
    **registry: Any,
) -> None:
    """Serve the SageMaker images API over HTTP."""
    from . import httpserver
    from .auth import AuthConfigError, configure
    from .operations.service import Service, Settings
    from .server import Server

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        auth = configure(auth_mode, credentials_file, host, insecure_allow_anonymous, admin=enable_admin)
    except AuthConfigError as exc:
        raise click.ClickException(str(exc)) from None
    registry_settings = _registry_settings(**registry)
    options = DatabaseOptions(db_lock_timeout, db_statement_timeout, read_only)
    store = _open_store(db, pool_size, options, serving=True)
    clock = ShiftedClock() if enable_admin else time.time  # the admin API may move the clock ahead
    settings = Settings(transition_delay=transition_delay, registry=registry_settings, registry_lease=registry_lease)
    app = Server(Service(store, settings, clock), auth, worker=worker, test_controls=enable_admin)
    _log_registry(registry_settings)
    logging.getLogger("smimages").info(
        "serving on http://%s:%d with %s%s", host, port, store.display_url, " (read-only)" if read_only else ""
    )
    if enable_admin:
        logging.getLogger("smimages").warning("the unauthenticated admin API is enabled under /_smimages/")
    httpserver.run(
        app,
        host=host,
        port=port,
        lifespan="on",
        timeout_graceful_shutdown=10,
        limit_concurrency=max_connections,
        timeout_keep_alive=5,
        request_timeout=request_timeout,
    )
    store.dispose()


@main.command()
@_db_option
@_pool_option
@_timeout_options
@click.option(
    "--log-level",
    envvar="SMIMAGES_LOG_LEVEL",
    default="info",
    show_default=True,
    show_envvar=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@_registry_options
def worker(
    db: str | None,
    pool_size: int,
    db_lock_timeout: float,
    db_statement_timeout: float,
    log_level: str,
    registry_lease: float | None,
    **registry: Any,
) -> None:
    """Run background jobs (lifecycle transitions, registry checks) for servers started with --no-worker, until
    SIGINT/SIGTERM. Give it the same --registry-* settings as the servers."""
    from .operations.service import Service, Settings
    from .worker import TransitionWorker

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    registry_settings = _registry_settings(**registry)
    store = _open_store(db, pool_size, DatabaseOptions(db_lock_timeout, db_statement_timeout))
    logging.getLogger("smimages").info("worker running on %s", store.display_url)
    _log_registry(registry_settings)
    settings = Settings(registry=registry_settings, registry_lease=registry_lease)
    TransitionWorker(Service(store, settings)).run_until_signalled()
    store.dispose()


@main.command()
@_db_option
def migrate(db: str | None) -> None:
    """Apply database migrations and exit."""
    store = _open_store(db)
    click.echo(f"database is at schema revision {store.revision()}")
    store.dispose()


@main.command("export")
@_db_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    show_default=True,
    help="File to write the catalog document to (- for standard output).",
)
def export_catalog(db: str | None, output: str) -> None:
    """Write the whole catalog (every account and region) as one JSON document."""
    from . import snapshot

    store = _open_store(db)
    text = snapshot.dumps(snapshot.export_state(store))
    store.dispose()
    if output == "-":
        sys.stdout.write(text)
    else:
        with open(output, "w") as out:
            out.write(text)


@main.command("import")
@_db_option
@click.argument("source", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--replace", is_flag=True, help="Delete the catalog the database holds first (otherwise it must be empty)."
)
def import_catalog(db: str | None, source: str, replace: bool) -> None:
    """Load a catalog document written by `smimages export` (or by hand; docs/testing.md)."""
    import json

    from . import snapshot

    try:
        document = json.loads(sys.stdin.read() if source == "-" else Path(source).read_text())
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read {source}: {exc}") from None
    store = _open_store(db)
    try:
        count = snapshot.import_state(store, document, time.time(), replace=replace)
    except snapshot.SnapshotError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.dispose()
    click.echo(f"imported {count} image{'s' if count != 1 else ''}")
