"""The smimages command line: serve and migrate."""
import logging

import click

from .store import SchemaTooNew, Store
from .store.engine import default_url

DEFAULT_PORT = 4590

_db_option = click.option(
    "--db", envvar="SMIMAGES_DB", default=None, show_envvar=True,
    help="Database URL: sqlite:///path/state.db, sqlite:// (in memory) or postgresql://user@host:port/db. "
         "Default: a SQLite file in the per-user data directory.")


def _open_store(db: str | None) -> Store:
    store = Store(db or default_url())
    try:
        store.migrate()
    except SchemaTooNew as exc:
        raise click.ClickException(str(exc)) from None
    return store


@click.group()
def main():
    """A local, AWS-compatible SageMaker AI custom-images service."""


@main.command()
@click.option("--host", envvar="SMIMAGES_HOST", default="127.0.0.1", show_default=True, show_envvar=True)
@click.option("--port", envvar="SMIMAGES_PORT", default=DEFAULT_PORT, type=int, show_default=True,
              show_envvar=True)
@_db_option
@click.option("--transition-delay", envvar="SMIMAGES_TRANSITION_DELAY", default=0.0, type=click.FloatRange(0),
              show_default=True, show_envvar=True,
              help="Seconds a resource stays CREATING/UPDATING/DELETING before its final status.")
@click.option("--log-level", envvar="SMIMAGES_LOG_LEVEL", default="info", show_default=True, show_envvar=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
def serve(host: str, port: int, db: str | None, transition_delay: float, log_level: str):
    """Serve the SageMaker images API over HTTP."""
    import uvicorn

    from .app import App
    from .operations.service import Service, Settings

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    store = _open_store(db)
    app = App(Service(store, Settings(transition_delay=transition_delay)))
    logging.getLogger("smimages").info("serving on http://%s:%d with %s", host, port,
                                       store.engine.url.render_as_string(hide_password=True))
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, lifespan="on",
                timeout_graceful_shutdown=10)
    store.dispose()


@main.command()
@_db_option
def migrate(db: str | None):
    """Apply database migrations and exit."""
    store = _open_store(db)
    click.echo(f"database is at schema revision {store.migrate()}")
    store.dispose()
