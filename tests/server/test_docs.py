"""Every example of README.md and docs/ runs as written, twice in a row, as a reader would run it after the quick
start (README.md, "Development", states these rules).

A page's fenced ```sh / ```python / ```hcl blocks run in order, in one bash session: shell blocks as they are,
Python blocks with the `python` on PATH. A block marked `<!-- file: NAME -->` on the line before it is written to NAME
in the session's folder at that point instead (a later block uses it), and one marked `<!-- not run: REASON -->` is
left out; a Terraform block must be a file, and any other block that is neither runnable nor marked fails the test.
The session starts in an empty folder holding `.venv` (a link to the one running this test), with an empty HOME,
`.venv/bin` first on PATH and no AWS or smimages settings, and a fresh `smimages serve` (the quick start's server)
on 127.0.0.1:4590; it runs twice against that same server, so examples must clean up after themselves or be
repeatable. Each page gets a network namespace of its own, where the documented ports are always free and nothing
outside is reachable; Terraform installs its AWS provider from the local mirror /opt/tf-plugins."""

import os
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from support import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SHELL, PYTHON, TERRAFORM = {"sh", "bash", "shell"}, {"python", "py"}, {"hcl", "terraform", "tf"}
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
_MARKER = re.compile(r"<!--\s*(?:file:\s*(?P<file>[\w.-]+)|not run:(?P<why>.*?))\s*-->\s*\Z", re.S)
QUICK_START_PORT = 4590
TF_MIRROR = Path("/opt/tf-plugins")


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    body: str
    file: str | None  # <!-- file: NAME -->
    not_run: str | None  # <!-- not run: REASON -->

    @property
    def where(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page.name
        return f"{page}:{self.line}"

    @property
    def example(self) -> bool:
        return self.lang in SHELL | PYTHON | TERRAFORM

    def problem(self) -> str | None:
        """Why this block can be neither run nor skipped, if it cannot."""
        if self.not_run is not None and not self.not_run.strip():
            return f"{self.where}: `<!-- not run: -->` needs a reason"
        if self.lang in TERRAFORM and self.file is None and self.not_run is None:
            return (
                f"{self.where}: a Terraform block must be a file (`<!-- file: main.tf -->`) that a shell block applies"
            )
        return None


def blocks(page: Path) -> list[Block]:
    text = page.read_text()
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip()
        marker = _MARKER.search(before[before.rfind("\n") + 1 :] if "\n" in before else before)
        indent = len(match["indent"])
        body = "\n".join(line[indent:] for line in match["body"].rstrip("\n").split("\n"))
        found.append(
            Block(
                page,
                text.count("\n", 0, match.start()) + 1,
                match["lang"].lower(),
                body,
                marker["file"] if marker else None,
                marker["why"] if marker and marker["file"] is None else None,
            )
        )
    return found


def check_env_file(block: Block) -> None:
    """An environment file must read the same to systemd's EnvironmentFile= and `docker run --env-file`: NAME=value
    lines and comment lines, no quotes, no comment after a value (docker would make it part of the value)."""
    for number, line in enumerate(block.body.splitlines(), block.line + 1):
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=[^\s\"'#]*", line), f"{block.page.name}:{number}: {line!r}"


def runnable(page: Path) -> list[Block]:
    return [block for block in blocks(page) if block.example and block.file is None and block.not_run is None]


def test_every_example_is_run_or_marked():
    problems = [problem for page in PAGES for block in blocks(page) if (problem := block.problem())]
    assert problems == []
    for page in PAGES:
        for block in blocks(page):
            if block.file and block.file.endswith(".env"):
                check_env_file(block)


def test_the_runner_reads_blocks_and_markers(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "```sh\necho run\n```\n\n<!-- not run: needs a docker registry -->\n```sh\ndocker push\n```\n\n"
        "<!-- file: main.tf -->\n```hcl\nresource {}\n```\n\n- a list item:\n\n  ```python\n  print(1)\n  ```\n"
        "\n```hcl\nunmarked {}\n```\n\n<!-- not run: -->\n```sh\nx\n```\n\n```json\n{}\n```\n"
    )
    found = [(b.lang, b.body, b.file, b.not_run) for b in blocks(page)]
    assert found == [
        ("sh", "echo run", None, None),
        ("sh", "docker push", None, " needs a docker registry"),
        ("hcl", "resource {}", "main.tf", None),
        ("python", "print(1)", None, None),
        ("hcl", "unmarked {}", None, None),
        ("sh", "x", None, ""),
        ("json", "{}", None, None),
    ]
    assert [b.problem() is not None for b in blocks(page)] == [False, False, False, False, True, True, False]


def session(page: Path, folder: Path) -> str:
    """The bash script one pass over a page runs: its examples in order, each announced by a `### page:line` line."""
    lines = [
        "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT",  # a server an example started in the background ends here
        "set -eo pipefail",
        f'cd "{folder / "work"}"',
    ]
    for block in blocks(page):
        if not block.example or block.not_run is not None:
            if block.file:
                source = folder / "examples" / f"{block.line}-{block.file}"
                source.write_text(block.body + "\n")
                lines += [f"echo '### {block.where}: {block.file}'", f'cp "{source}" {block.file}']
            continue
        lines.append(f"echo '### {block.where}'")
        if block.file:
            source = folder / "examples" / f"{block.line}-{block.file}"
            source.write_text(block.body + "\n")
            lines.append(f'cp "{source}" {block.file}')
        elif block.lang in PYTHON:
            source = folder / "examples" / f"{page.stem}-{block.line}.py"
            source.write_text(block.body + "\n")
            lines.append(f'python "{source}"')
        else:
            lines.append(block.body)
    return "\n".join(lines) + "\n"


DRIVER = """
set -u
if [ -n "$NETNS" ]; then ip link set lo up; fi
smimages serve > "$OUT/server.log" 2>&1 &
server=$!
for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && break; sleep 0.1; done
for pass in 1 2; do
    bash "$OUT/session.sh" > "$OUT/pass$pass.log" 2>&1
    status=$?
    echo "$status" > "$OUT/pass$pass.status"
    [ "$status" = 0 ] || break
done
kill -INT "$server"
wait "$server"
"""


@cache
def network_namespace() -> tuple[str, ...]:
    """The command prefix that runs a page in a network namespace of its own, or () where none can be made."""
    prefix = ("unshare", "--net", *(() if os.geteuid() == 0 else ("--map-root-user",)))
    try:
        made = subprocess.run([*prefix, "ip", "link", "set", "lo", "up"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return prefix if made.returncode == 0 else ()


def environment(folder: Path) -> dict[str, str]:
    """A reader's shell after the quick start: .venv's commands first on PATH, an empty HOME, no AWS or smimages
    settings; Terraform offline with the provider mirror."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SMIMAGES_", "TF_", "VIRTUAL_ENV"))}
    (folder / "terraformrc").write_text(
        f'provider_installation {{\n  filesystem_mirror {{ path = "{TF_MIRROR}" }}\n}}\n'
    )
    return {
        **kept,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "HOME": str(folder / "home"),
        "TF_CLI_CONFIG_FILE": str(folder / "terraformrc"),
        "CHECKPOINT_DISABLE": "1",
        "OUT": str(folder),
        "NETNS": "1" if network_namespace() else "",
    }


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize("page", [p for p in PAGES if runnable(p)], ids=lambda p: str(p.relative_to(ROOT)))
def test_the_examples_run_twice(page, tmp_path):
    if any(block.lang in TERRAFORM for block in blocks(page)):
        assert shutil.which("terraform") and TF_MIRROR.is_dir(), "this page's examples need terraform and its mirror"
    prefix = network_namespace()
    if not prefix and not port_free(QUICK_START_PORT):
        pytest.fail(f"no network namespace can be made here, and port {QUICK_START_PORT} is taken")
    for name in ("work", "home", "examples"):
        (tmp_path / name).mkdir()
    (tmp_path / "work" / ".venv").symlink_to(Path(sys.executable).parent.parent)
    (tmp_path / "session.sh").write_text(session(page, tmp_path))
    driver = DRIVER.replace("{port}", str(QUICK_START_PORT))
    subprocess.run(
        [*prefix, "bash", "-c", driver], env=environment(tmp_path), cwd=tmp_path, timeout=900, capture_output=True
    )
    for run in (1, 2):
        status = (tmp_path / f"pass{run}.status").read_text().strip()
        log = (tmp_path / f"pass{run}.log").read_text()
        failed = log.rsplit("### ", 1)[-1].split("\n", 1)[0] if "### " in log else "(before the first block)"
        assert status == "0", (
            f"pass {run} failed (exit {status}) in the block at {failed}:\n{log[-6000:]}\n"
            f"--- the quick start's server:\n{(tmp_path / 'server.log').read_text()[-2000:]}"
        )
