"""The first hour with the command line: every mistake a new user makes (a malformed or unsupported --db, a database
that is missing, unreachable or unwritable, a port in use or out of range, Ctrl-C) ends the command with one `Error:`
line naming the fix, exit status 2 for a wrong command line and 1 otherwise, and no traceback unless --log-level
debug; export and worker never create a database; --version, -h, help for every flag, and log levels."""

import importlib.metadata
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from smimages.cli import main
from support import POSTGRES, ROLE, free_port

COMMANDS = {
    "serve": ["serve", "--port", "0"],
    "migrate": ["migrate"],
    "export": ["export"],
    "worker": ["worker"],
    "import": ["import", "-"],
}
PG = make_url(POSTGRES)
PG_HOST = f"{PG.host}:{PG.port or 5432}"
DB_HINT = "Invalid value for '--db'"
CONNECT = "connection to server at"


def smimages(*args: str, prefix: tuple[str, ...] = (), cwd: Path | None = None):
    """The installed `smimages` command, as a user runs it (an import reads the empty catalog `{}`)."""
    command = [*prefix, str(Path(sys.executable).with_name("smimages")), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, input="{}", cwd=cwd)


def error_line(output: str) -> str:
    """The one line a failed command ends with, after checking that it printed no traceback."""
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, output
    return lines[0]


URL_MISTAKES = [
    pytest.param(
        "postgres://postgres:secret@127.0.0.1/test",
        2,
        f"Error: {DB_HINT}: postgres:// is not a SQLAlchemy scheme: use postgresql:// "
        "(postgresql://postgres:***@127.0.0.1/test)",
        id="postgres-scheme",
    ),
    pytest.param(
        "x.db",
        2,
        f"Error: {DB_HINT}: 'x.db' is not a database URL: write sqlite:///x.db for a SQLite file "
        "(postgresql://user@host:port/db for PostgreSQL)",
        id="bare-path",
    ),
    pytest.param(
        "sqlite://x.db",
        2,
        f"Error: {DB_HINT}: sqlite://x.db names no file (the path goes after three slashes): write sqlite:///x.db "
        "for a relative path, sqlite:////abs/path.db for an absolute one, or sqlite:// for a database in memory",
        id="two-slashes",
    ),
    pytest.param(
        "mysql://user@host/db",
        2,
        f"Error: {DB_HINT}: mysql:// databases are not supported: use sqlite:///path/state.db, sqlite:// (in "
        "memory) or postgresql://user@host:port/db",
        id="unsupported",
    ),
    pytest.param(
        "postgresql://postgres@127.0.0.1:99999/test",
        2,
        f"Error: {DB_HINT}: postgresql://postgres@127.0.0.1:99999/test has no valid port: use a number from 1 to "
        "65535, or none for 5432",
        id="bad-port",
    ),
    pytest.param(
        f"postgresql://postgres@{PG_HOST}/test?colour=blue",
        2,
        f'Error: {DB_HINT}: the database URL has an invalid connection option "colour": remove that query parameter',
        id="bad-option",
        marks=pytest.mark.postgres,
    ),
    pytest.param(
        "postgresql://postgres@host.invalid/test",
        1,
        "Error: cannot open postgresql://postgres@host.invalid/test: the database host is unknown: failed to "
        "resolve host 'host.invalid': * ; check the host name in the database URL",
        id="unknown-host",
    ),
    pytest.param(
        "postgresql://postgres@127.0.0.1:{free}/test",
        1,
        "Error: cannot open postgresql://postgres@127.0.0.1:{free}/test: nothing accepts connections at the "
        f'database\'s host and port: {CONNECT} "127.0.0.1", port {{free}} failed: Connection refused; start '
        "PostgreSQL there, or check the host and port in the database URL",
        id="nothing-listening",
    ),
    pytest.param(
        f"postgresql://postgres@{PG_HOST}/smimages_no_such_db",
        1,
        f"Error: cannot open postgresql://postgres@{PG_HOST}/smimages_no_such_db: the database does not exist: "
        f'* FATAL: database "smimages_no_such_db" does not exist; create it (createdb), or check the database '
        "name in the URL",
        id="missing-database",
        marks=pytest.mark.postgres,
    ),
    pytest.param(
        f"postgresql://smimages_no_such_role@{PG_HOST}/test",
        1,
        f"Error: cannot open postgresql://smimages_no_such_role@{PG_HOST}/test: the database user does not "
        'exist: * FATAL: role "smimages_no_such_role" does not exist; create it (createuser), or check the user '
        "name in the URL",
        id="missing-role",
        marks=pytest.mark.postgres,
    ),
]


def matches(line: str, pattern: str) -> bool:
    """Whether `line` is `pattern`, where ' * ' and '* ' stand for any text (a resolver's or libpq's own words)."""
    import fnmatch

    return fnmatch.fnmatchcase(line, pattern.replace(" * ", "*").replace("* ", "*"))


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("url, status, message", URL_MISTAKES)
def test_every_command_answers_a_bad_database_in_one_line(command, url, status, message, request):
    if "{free}" in url:
        port = str(free_port())
        url, message = url.replace("{free}", port), message.replace("{free}", port)
    if request.node.get_closest_marker("postgres"):
        request.getfixturevalue("postgres")  # skips (or fails in CI) without the test server
    result = CliRunner().invoke(main, [*COMMANDS[command], "--db", url], input="{}")
    assert (result.exit_code == status and result.exception is None) or isinstance(result.exception, SystemExit)
    assert result.exit_code == status, result.output
    assert matches(error_line(result.output), message), error_line(result.output)


def test_the_real_command_answers_a_bad_database_in_one_line():
    """The same through the installed command, whose output is all a user sees (no traceback, only the line)."""
    result = smimages("export", "--db", "postgres://postgres@127.0.0.1/test")
    assert result.returncode == 2 and result.stdout == ""
    assert error_line(result.stderr) == (
        f"Error: {DB_HINT}: postgres:// is not a SQLAlchemy scheme: use postgresql:// (postgresql://postgres@127.0.0.1/test)"
    )
    assert result.stderr.startswith("Usage: smimages export [OPTIONS]\nTry 'smimages export --help' for help.")


def test_the_traceback_is_shown_at_log_level_debug():
    result = smimages("migrate", "--db", "x.db", "--log-level", "debug")
    assert result.returncode == 2
    assert "DEBUG smimages.cli: what caused the error below\nTraceback" in result.stderr
    assert "BadDatabaseURL" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("Error: Invalid value for '--db': 'x.db' is not")


def read_only(folder: Path) -> tuple[str, ...]:
    """A command prefix that runs the command with `folder` on a read-only file system (a mount namespace)."""
    remount = f'mount --bind "{folder}" "{folder}" && mount -o remount,ro,bind "{folder}" && exec "$@"'
    user = () if os.geteuid() == 0 else ("--map-root-user",)
    return ("unshare", "--mount", *user, "sh", "-c", remount, "sh")


@pytest.mark.parametrize("command", ["serve", "migrate", "import"])
def test_a_read_only_file_system(command, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    new = smimages(*COMMANDS[command], "--db", f"sqlite:///{folder}/sub/state.db", prefix=read_only(folder))
    assert new.returncode == 1, new.stderr
    assert error_line(new.stderr) == (
        f"Error: cannot create the database's folder {folder}/sub: Read-only file system; choose a database path "
        "in a folder this user can write to"
    )
    assert smimages("migrate", "--db", f"sqlite:///{folder}/state.db").returncode == 0
    existing = smimages(*COMMANDS[command], "--db", f"sqlite:///{folder}/state.db", prefix=read_only(folder))
    assert existing.returncode == 1, existing.stderr
    instead = "serve it read-only with --read-only" if command == "serve" else "choose another database"
    assert error_line(existing.stderr) == (
        f"Error: the database sqlite:///{folder}/state.db cannot be written (unable to open database file): make "
        f"the file and its folder writable by this user, or {instead}."
    )


@pytest.fixture
def theirs(tmp_path):
    """A folder this user may not write to (0555)."""
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o555)
    return folder


# root writes anywhere: as root, the commands run without the capabilities that override file permissions (rather
# than as another user, who might not reach this checkout's .venv)
LIKE_A_USER = ("setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner") if os.geteuid() == 0 else ()


def test_a_folder_this_user_cannot_write_to(theirs):
    result = smimages(
        "serve", "--port", "0", "--db", f"sqlite:///{theirs}/sub/state.db", prefix=LIKE_A_USER, cwd=theirs
    )
    assert result.returncode == 1
    assert error_line(result.stderr) == (
        f"Error: cannot create the database's folder {theirs}/sub: Permission denied; choose a database path in a "
        "folder this user can write to"
    )
    result = smimages("migrate", "--db", f"sqlite:///{theirs}", prefix=LIKE_A_USER, cwd=theirs)
    assert result.returncode == 2
    assert error_line(result.stderr) == (
        f"Error: {DB_HINT}: {theirs} is a folder: name a file in it, e.g. sqlite:///{theirs}/smimages.db"
    )


def test_a_port_in_use_is_said_before_serving_is(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = smimages("serve", "--port", str(port), "--db", f"sqlite:///{tmp_path}/state.db")
    assert result.returncode == 1
    assert "serving on" not in result.stderr
    assert error_line(result.stderr) == (
        f"Error: port {port} is in use on 127.0.0.1 (another smimages?): stop what listens there, or choose another "
        "port with --port"
    )
    assert not (tmp_path / "state.db").exists()  # nothing slow (or lasting) happened before


@pytest.mark.parametrize(
    "args, status, message",
    [
        (
            ["--port", "99999"],
            2,
            "Error: Invalid value for '--port' (env var: 'SMIMAGES_PORT'): 99999 is not in the range 0<=x<=65535.",
        ),
        (
            ["--host", "192.0.2.1", "--insecure-allow-anonymous"],
            1,
            "Error: 192.0.2.1 is not an address of this machine: choose another with --host (127.0.0.1: this "
            "machine only; 0.0.0.0: every interface)",
        ),
        (
            ["--host", "no-such-host.invalid", "--insecure-allow-anonymous"],
            1,
            "Error: --host no-such-host.invalid is not an address or a name this machine can resolve: use an IP "
            "address such as 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)",
        ),
    ],
)
def test_addresses_serve_cannot_listen_on(args, status, message):
    result = smimages("serve", "--db", "sqlite://", *args)
    assert (result.returncode, error_line(result.stderr)) == (status, message)


def loading(proc: subprocess.Popen) -> bool:
    """Whether the process is importing smimages' dependencies (SQLAlchemy's compiled modules are mapped), i.e. in
    smimages' own code and not in Python's start-up, which no program can guard."""
    try:
        return "/sqlalchemy/" in Path(f"/proc/{proc.pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.parametrize("command", ["serve", "migrate", "export", "worker"])
def test_ctrl_c_at_any_moment(command, tmp_path):
    """SIGINT while the command loads, opens its database or starts: one line and exit 1, or (once a server or worker
    runs) its normal clean stop, exit 0; never a traceback."""
    db = f"sqlite:///{tmp_path}/state.db"
    assert smimages("migrate", "--db", db).returncode == 0
    executable = str(Path(sys.executable).with_name("smimages"))
    outcomes = []
    for delay in (0, 0.3, 0.8, 1.6):  # seconds after the imports began
        proc = subprocess.Popen(
            [executable, *COMMANDS[command], "--db", db], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        while not loading(proc) and proc.poll() is None:
            time.sleep(0.001)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=60)[1]
        assert "Traceback" not in err, err
        assert proc.returncode in (0, 1), err
        if proc.returncode == 1:
            assert err.splitlines()[-1] == "Error: interrupted", err
        outcomes.append(proc.returncode)
    assert outcomes[0] == 1, outcomes  # interrupted while loading


def test_a_background_server_stops_on_sigint_as_it_starts(tmp_path):
    """`smimages serve &` in a script runs with SIGINT ignored until uvicorn handles it; a `kill -INT` the moment it
    says it serves is held until then and stops it gracefully (it was once discarded, leaving the server running)."""
    executable = str(Path(sys.executable).with_name("smimages"))
    proc = subprocess.Popen(
        [executable, "serve", "--db", f"sqlite:///{tmp_path}/state.db", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # as bash starts a background job
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "serving on" in line:
            break
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=20)[1]
    assert proc.returncode == 0, err
    assert err.splitlines()[-1].endswith("INFO smimages: stopped: every request answered"), err


def test_serve_says_when_it_creates_a_database_and_where(server_factory, tmp_path):
    server = server_factory("--db", f"sqlite:///{tmp_path}/new/folder/state.db").start()
    out = server.stop()
    assert f"INFO smimages: created a new, empty catalog in sqlite:///{tmp_path}/new/folder/state.db\n" in out
    assert out.index("created a new") < out.index("serving on")
    server = server_factory("--db", f"sqlite:///{tmp_path}/new/folder/state.db").start()
    assert "created" not in server.stop()


@pytest.mark.parametrize("command", ["export", "worker"])
def test_export_and_worker_never_create_a_database(command, tmp_path, postgres):
    result = smimages(*COMMANDS[command], "--db", "sqlite:///sub/state.db", cwd=tmp_path)  # no such file there
    assert result.returncode == 1
    assert error_line(result.stderr) == (
        f"Error: there is no database file {tmp_path}/sub/state.db. `smimages {command}` reads an existing catalog "
        "and never creates one: check --db (or SMIMAGES_DB), or create a catalog with `smimages migrate --db URL`."
    )
    assert list(tmp_path.iterdir()) == []
    empty = postgres.schema()
    result = smimages(*COMMANDS[command], "--db", empty)
    assert result.returncode == 1
    shown = make_url(empty).render_as_string(hide_password=True)
    assert error_line(result.stderr).startswith(
        f"Error: {shown} holds no smimages catalog (its tables were never created). `smimages {command}` reads"
    )
    schema = make_url(empty).query["options"].split()[0].removeprefix("-csearch_path=")
    tables = postgres.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", (schema,)).fetchone()[0]
    assert tables == 0


def test_export_and_worker_refuse_an_older_schema(tmp_path):
    db = f"sqlite:///{tmp_path}/state.db"
    assert smimages("migrate", "--db", db).returncode == 0
    import sqlite3

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "smimages.store:migrations")
    head = ScriptDirectory.from_config(config).get_current_head()
    previous = ScriptDirectory.from_config(config).get_revision(head).down_revision
    with sqlite3.connect(tmp_path / "state.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (previous,))
    for command in ("export", "worker"):
        result = smimages(*COMMANDS[command], "--db", db)
        assert result.returncode == 1
        assert error_line(result.stderr) == (
            f"Error: The database schema is at revision {previous}, behind this smimages ({head}). Migrate it "
            "first: smimages migrate --db URL (with write access to the database)."
        )


def test_import_names_replace(tmp_path):
    db = f"sqlite:///{tmp_path}/state.db"
    catalog = tmp_path / "catalog.json"
    catalog.write_text(
        json.dumps({"format": "smimages-catalog", "version": 1, "images": [{"name": "a", "role_arn": ROLE}]})
    )
    first = smimages("import", str(catalog), "--db", db)
    assert (first.returncode, first.stdout) == (0, "imported 1 image\n")
    assert f"created a new, empty catalog in {db}" in first.stderr
    again = smimages("import", str(catalog), "--db", db)
    assert error_line(again.stderr) == (
        f"Error: the catalog is not empty ({db}): add --replace to replace what it holds, or import into an empty "
        "database"
    )
    assert smimages("import", str(catalog), "--db", db, "--replace").returncode == 0


def test_export_to_a_file_it_cannot_write(tmp_path):
    db = f"sqlite:///{tmp_path}/state.db"
    assert smimages("migrate", "--db", db).returncode == 0
    result = smimages("export", "--db", db, "-o", str(tmp_path / "missing" / "catalog.json"))
    assert error_line(result.stderr) == (
        f"Error: cannot write {tmp_path}/missing/catalog.json: No such file or directory; choose another -o"
    )


def test_version_and_short_help():
    version = smimages("--version")
    assert (version.returncode, version.stdout) == (0, f"smimages {importlib.metadata.version('smimages')}\n")
    for args in (["-h"], ["serve", "-h"], ["export", "-h"]):
        shown = smimages(*args)
        assert shown.returncode == 0 and shown.stdout.startswith(f"Usage: smimages {' '.join(args[:-1])}".rstrip())


def test_every_flag_has_help_text():
    missing = [
        f"{name} {option.opts[0]}"
        for name, command in main.commands.items()
        for option in command.params
        if isinstance(option, click.Option) and not (option.help or "").strip()
    ]
    assert missing == []


def test_log_level_governs_smimages_own_loggers_only(server_factory, tmp_path):
    server = server_factory("--db", f"sqlite:///{tmp_path}/state.db", "--log-level", "debug").start()
    server.client().list_images()
    out = server.stop(signal.SIGINT)
    assert "DEBUG smimages.request: ListImages 200" in out
    assert [line for line in out.splitlines() if " DEBUG " in line and " DEBUG smimages" not in line] == []
    server = server_factory("--db", f"sqlite:///{tmp_path}/state.db", "--library-log-level", "debug").start()
    out = server.stop(signal.SIGINT)
    assert "DEBUG asyncio: Using selector" in out and "DEBUG smimages" not in out
