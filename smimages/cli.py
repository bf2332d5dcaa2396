"""The smimages command line: serve, worker, migrate, export and import."""

import errno
import logging
import os
import socket
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
    BadDatabaseURL,
    CatalogMissing,
    DatabaseOptions,
    ReadOnly,
    Store,
    StoreError,
    default_url,
    display_url,
    open_store,
)

if TYPE_CHECKING:
    from .registry import RegistrySettings

DEFAULT_PORT = 4590
F = TypeVar("F", bound=Callable[..., Any])
LEVELS = click.Choice(["debug", "info", "warning", "error"])
log = logging.getLogger("smimages.cli")

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
    help="PostgreSQL connections per pool (serve writes on this many at once, and reads on as many more).",
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


def _options(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    """One decorator applying a list of click options, in the list's order on the help page."""

    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


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


def _log_options(what: str) -> Callable[[F], F]:
    """--log-level (smimages' own log lines, `what` says which) and --library-log-level (everything else's)."""

    def decorate(command: F) -> F:
        command = click.option(
            "--library-log-level",
            envvar="SMIMAGES_LIBRARY_LOG_LEVEL",
            default="warning",
            show_default=True,
            show_envvar=True,
            type=LEVELS,
            help="Level of the log lines of the libraries smimages runs on (uvicorn, SQLAlchemy, Alembic, botocore, "
            "asyncio).",
        )(command)
        return click.option(
            "--log-level",
            envvar="SMIMAGES_LOG_LEVEL",
            default="info",
            show_default=True,
            show_envvar=True,
            type=LEVELS,
            help=f"Level of smimages' own log lines ({what}); at debug, an error's traceback too.",
        )(command)

    return decorate


def _configure_logging(level: str, library_level: str) -> None:
    logging.basicConfig(level=library_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("smimages").setLevel(level.upper())


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
    db: str | None,
    pool_size: int = DEFAULT_POOL_SIZE,
    options: DatabaseOptions = _PATIENT,
    serving: bool = False,
    create: bool = True,
) -> Store:
    """The catalog --db names; one that is created says so. Without `create` (export, worker) a missing catalog
    is an error naming the fix, as is a database this user cannot write."""
    url = db or default_url()
    try:
        store = open_store(url, pool_size=pool_size, options=options, create=create)
    except CatalogMissing as exc:
        command = click.get_current_context().command_path + (" --read-only" if options.read_only else "")
        raise click.ClickException(
            f"{exc}. `{command}` reads an existing catalog and never creates one: check --db (or SMIMAGES_DB), or "
            "create a catalog with `smimages migrate --db URL`."
        ) from None
    except ReadOnly as exc:
        instead = "serve it read-only with --read-only" if serving else "choose another database"
        raise click.ClickException(
            f"the database {display_url(url)} cannot be written ({exc.detail}): make the file and its folder "
            f"writable by this user, or {instead}."
        ) from None
    if store.created:
        logging.getLogger("smimages").info("created a new, empty catalog in %s", store.display_url)
    return store


def _check_workers(workers: int, db: str | None, enable_admin: bool, console: str) -> None:
    """Refuses what several server processes cannot share (the catalog of sqlite://, test controls, sessions)."""
    if db is not None and db.strip().rstrip("/") in ("sqlite:", "sqlite:///:memory:"):
        raise click.UsageError(
            f"--workers {workers} needs a database the processes share: a SQLite file or PostgreSQL, not {db}"
        )
    if enable_admin:
        raise click.UsageError(
            f"--workers {workers} and --enable-admin: each process would have its own clock and faults; use "
            "--workers 1 on a test server"
        )
    if console == "on":
        raise click.UsageError(
            f"--workers {workers} serves from {workers} processes whose console sessions are their own: add "
            "--console off (or serve the console from a --workers 1 server on the same database)"
        )


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket `serve` hands to uvicorn; failing to make one is a mistake the message names."""
    from .httpserver import listen

    try:
        return listen(host, port)
    except socket.gaierror:
        raise click.ClickException(
            f"--host {host} is not an address or a name this machine can resolve: use an IP address such as "
            "127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"
        ) from None
    except OSError as exc:
        fixes = {
            errno.EADDRINUSE: f"port {port} is in use on {host} (another smimages?): stop what listens there, or "
            "choose another port with --port",
            errno.EACCES: f"no permission to listen on port {port}: ports below 1024 need privileges; choose "
            "another with --port",
            errno.EADDRNOTAVAIL: f"{host} is not an address of this machine: choose another with --host "
            "(127.0.0.1: this machine only; 0.0.0.0: every interface)",
        }
        default = f"cannot listen on {host} port {port} ({exc.strerror or exc}): check --host and --port"
        raise click.ClickException(fixes.get(exc.errno or 0, default)) from None


class _Command(click.Command):
    """A command whose mistakes end it with one `Error:` line, the traceback of what caused it shown only when
    --log-level is debug: a bad --db is a usage error (exit 2), any other store error exits 1."""

    def invoke(self, ctx: click.Context) -> Any:
        error: click.ClickException
        cause: BaseException
        try:
            return super().invoke(ctx)
        except BadDatabaseURL as exc:
            error, cause = click.BadParameter(str(exc), ctx, param_hint="'--db'"), exc
        except StoreError as exc:
            error, cause = click.ClickException(str(exc)), exc
        except click.ClickException as exc:  # raised by the command in place of what it caught
            if exc.__context__ is None:
                raise
            error, cause = exc, exc.__context__
        log.debug("what caused the error below", exc_info=cause)
        raise error from None


class _Commands(click.Group):
    """smimages' commands, each a _Command."""

    command_class = _Command


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="smimages", prog_name="smimages", message="%(prog)s %(version)s")
def main() -> None:
    """A local, AWS-compatible SageMaker AI custom-images service.

    Each command's options: smimages COMMAND -h. Docs: README.md and docs/ of the source tree (installed in
    share/doc/smimages)."""


def run() -> None:
    """The smimages command: click's main, where every mistake ends in one `Error:` line, exit status 2 for a
    command line that is wrong (an unknown flag, a bad value) and 1 for anything else; Ctrl-C is left to the caller
    (smimages/__main__.py) as the KeyboardInterrupt it is."""
    try:
        code = main.main(prog_name="smimages", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:  # what click makes of a KeyboardInterrupt
        raise KeyboardInterrupt from None
    if isinstance(code, int) and code:
        sys.exit(code)


@main.command()
@click.option(
    "--host",
    envvar="SMIMAGES_HOST",
    default="127.0.0.1",
    show_default=True,
    show_envvar=True,
    help="Address to listen on: 127.0.0.1 for this machine only, 0.0.0.0 for every interface (which needs "
    "--auth sigv4, or --insecure-allow-anonymous).",
)
@click.option(
    "--port",
    envvar="SMIMAGES_PORT",
    default=DEFAULT_PORT,
    type=click.IntRange(0, 65535),
    show_default=True,
    show_envvar=True,
    help="Port to listen on (0: any free port; the log line 'serving on' names it).",
)
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
@_log_options("a line per refused or failed request; at debug, per request")
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
@_options(_TIMEOUT_OPTIONS)
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
@click.option(
    "--upstream",
    envvar="SMIMAGES_UPSTREAM",
    default=None,
    show_envvar=True,
    metavar="URL",
    help="Forward every SageMaker operation smimages does not serve (CreateDomain, CreateModel, ...) to URL "
    "(moto's server, say) and return its answer unchanged (docs/upstream.md).",
)
@click.option(
    "--upstream-timeout",
    envvar="SMIMAGES_UPSTREAM_TIMEOUT",
    default=30.0,  # below botocore's 60 s read timeout: a client hears why before it gives up
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    show_envvar=True,
    metavar="SECONDS",
    help="How long a forwarded request waits for the upstream's whole answer (then 504 GatewayTimeout; an upstream "
    "stalling in the middle of an answer may take twice as long).",
)
@click.option(
    "--workers",
    envvar="SMIMAGES_WORKERS",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    show_envvar=True,
    metavar="N",
    help="Server processes sharing the port (on a SQLite file or PostgreSQL), for the cores of a bigger machine; "
    "with more than one, --console off and no --enable-admin (their state lives in one process). Background jobs "
    "run in the first.",
)
@click.option(
    "--console",
    "console",
    envvar="SMIMAGES_CONSOLE",
    type=click.Choice(["on", "off"]),
    default="on",
    show_default=True,
    show_envvar=True,
    help="The web console at http://HOST:PORT/ (docs/console.md): browse and change the catalog in a browser; "
    "with --auth sigv4, after signing in with an access key.",
)
@_options(_REGISTRY_OPTIONS)
def serve(
    host: str,
    port: int,
    db: str | None,
    transition_delay: float,
    log_level: str,
    library_log_level: str,
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
    upstream: str | None,
    upstream_timeout: float,
    workers: int,
    console: str,
    registry_lease: float | None,
    **registry: Any,
) -> None:
    """Serve the SageMaker images API over HTTP (and the web console)."""
    from . import httpserver
    from .auth import AuthConfigError, configure
    from .operations.service import Service, Settings
    from .server import Server
    from .upstream import HttpUpstream

    _configure_logging(log_level, library_log_level)
    try:
        auth = configure(auth_mode, credentials_file, host, insecure_allow_anonymous, admin=enable_admin)
    except AuthConfigError as exc:
        raise click.ClickException(str(exc)) from None
    registry_settings = _registry_settings(**registry)
    try:
        forward_to = None if upstream is None else HttpUpstream(upstream, upstream_timeout)
    except ValueError as exc:
        raise click.ClickException(f"--upstream: {exc}") from None
    if workers > 1:
        _check_workers(workers, db, enable_admin, console)
    settings = Settings(transition_delay=transition_delay, registry=registry_settings, registry_lease=registry_lease)
    clock = ShiftedClock() if enable_admin else time.time  # the admin API may move the clock ahead

    def assemble(store: Store, index: int = 0) -> Server:
        return Server(
            Service(store, settings, clock),
            auth,
            worker=worker and index == 0,
            test_controls=enable_admin,
            upstream=forward_to,
            console=console == "on",
        )

    uvicorn_config: dict[str, Any] = {
        "lifespan": "on",
        "timeout_graceful_shutdown": 10,
        "limit_concurrency": max_connections,
        "timeout_keep_alive": 5,
        "request_timeout": request_timeout,
    }
    options = DatabaseOptions(db_lock_timeout, db_statement_timeout, read_only)
    with _listen(host, port) as sock:  # first: a port in use is said before anything slow
        store = _open_store(db, pool_size, options, serving=True)
        _log_registry(registry_settings)
        bound = f"[{host}]" if ":" in host else host
        url = f"http://{bound}:{sock.getsockname()[1]}"
        processes = f" in {workers} processes" if workers > 1 else ""
        httpserver.hold_stop_signals()
        logging.getLogger("smimages").info(
            "serving on %s%s with %s%s", url, processes, store.display_url, " (read-only)" if read_only else ""
        )
        if forward_to is not None:
            logging.getLogger("smimages").info("other SageMaker operations go to the upstream %s", forward_to.url)
        if console == "on":
            logging.getLogger("smimages").info("web console at %s/", url)
        if enable_admin:
            logging.getLogger("smimages").warning("the unauthenticated admin API is enabled under /_smimages/")
        if workers == 1:
            try:
                httpserver.run(assemble(store), sock, **uvicorn_config)
            finally:
                store.dispose()
            return
        store.dispose()  # migrated: each process opens its own connections after the fork

        def build(index: int) -> tuple[Server, Callable[[], None]]:
            own = _open_store(db, pool_size, options, serving=True, create=False)
            return assemble(own, index), own.dispose

        httpserver.run_processes(build, sock, workers, **uvicorn_config)


@main.command()
@_db_option
@_pool_option
@_options(_TIMEOUT_OPTIONS)
@_log_options("start, stop, and failed passes")
@_options(_REGISTRY_OPTIONS)
def worker(
    db: str | None,
    pool_size: int,
    db_lock_timeout: float,
    db_statement_timeout: float,
    log_level: str,
    library_log_level: str,
    registry_lease: float | None,
    **registry: Any,
) -> None:
    """Run background jobs (lifecycle transitions, registry checks) for servers started with --no-worker, until
    SIGINT/SIGTERM. Give it the same --registry-* settings as the servers. It never creates or migrates a
    database."""
    from .operations.service import Service, Settings
    from .worker import TransitionWorker

    _configure_logging(log_level, library_log_level)
    registry_settings = _registry_settings(**registry)
    store = _open_store(db, pool_size, DatabaseOptions(db_lock_timeout, db_statement_timeout), create=False)
    logging.getLogger("smimages").info("worker running on %s", store.display_url)
    _log_registry(registry_settings)
    settings = Settings(registry=registry_settings, registry_lease=registry_lease)
    TransitionWorker(Service(store, settings)).run_until_signalled()
    store.dispose()


@main.command()
@_db_option
@_log_options("a created catalog")
def migrate(db: str | None, log_level: str, library_log_level: str) -> None:
    """Create the catalog's tables, or bring them to this release's schema, and exit."""
    _configure_logging(log_level, library_log_level)
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
@_log_options("none but errors")
def export_catalog(db: str | None, output: str, log_level: str, library_log_level: str) -> None:
    """Write the whole catalog (every account and region) as one JSON document. It never creates or migrates a
    database."""
    from . import snapshot

    _configure_logging(log_level, library_log_level)
    store = _open_store(db, create=False)
    try:
        text = snapshot.dumps(snapshot.export_state(store))
    finally:
        store.dispose()
    if output == "-":
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text)
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}; choose another -o") from None


@main.command("import")
@_db_option
@click.argument("source", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--replace", is_flag=True, help="Delete the catalog the database holds first (otherwise it must be empty)."
)
@_log_options("a created catalog")
def import_catalog(db: str | None, source: str, replace: bool, log_level: str, library_log_level: str) -> None:
    """Load a catalog document written by `smimages export` (or by hand; docs/testing.md) into the catalog --db
    names, creating it if needed."""
    import json

    from . import snapshot

    _configure_logging(log_level, library_log_level)
    try:
        document = json.loads(sys.stdin.read() if source == "-" else Path(source).read_text())
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read {source}: {exc}") from None
    store = _open_store(db)
    try:
        count = snapshot.import_state(store, document, time.time(), replace=replace)
    except snapshot.CatalogNotEmpty as exc:
        raise click.ClickException(
            f"{exc} ({store.display_url}): add --replace to replace what it holds, or import into an empty database"
        ) from None
    except snapshot.SnapshotError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.dispose()
    click.echo(f"imported {count} image{'s' if count != 1 else ''}")
