"""Running real clients (the AWS CLI, Terraform, shell examples of the docs) as processes: their environment, their
output, the docs' code blocks, a Terraform working directory with the provider from the local mirror."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from . import ROOT

PROVIDER_MIRROR = Path(os.environ.get("SMIMAGES_TF_MIRROR", "/opt/tf-plugins"))
BIN = Path(sys.executable).parent  # this environment's executables: aws, moto_server
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def client_env(**extra: str) -> dict[str, str]:
    """The environment of a client process: this one's, without AWS settings of the machine's (profiles, keys,
    config files), with this environment's executables first on the PATH and test credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_ACCESS_KEY_ID="123456789012",
        AWS_SECRET_ACCESS_KEY="anything",
        AWS_DEFAULT_REGION="us-east-1",
    )
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str], cwd: Path | None = None, timeout: float = 300, check: bool = True):
    """Runs a client command in a process group of its own, killed whole if it outlives `timeout` (a script's
    background servers with it); returns the completed process with ANSI colours taken out of its output."""
    proc = subprocess.Popen(
        args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{args[0]} {' '.join(args[1:3])} did not finish in {timeout} s:\n{out}\n{err}")
    result = subprocess.CompletedProcess(args, proc.returncode, ANSI.sub("", out), ANSI.sub("", err))
    if check:
        assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout}\n{result.stderr}"
    return result


def doc_block(page: str, start: str) -> str:
    """The fenced code block of a doc page (a path from the project's root) that starts with `start`."""
    text = (ROOT / page).read_text()
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.M | re.S):
        if block.startswith(start):
            return block
    raise AssertionError(f"{page} has no code block starting with {start!r}")


class Terraform:
    """terraform in a working directory of its own, with the hashicorp/aws provider from the local mirror (no
    registry, no checkpoint calls)."""

    def __init__(self, workdir: Path, env: dict[str, str]):
        self.workdir = workdir
        workdir.mkdir(exist_ok=True)
        rc = workdir.parent / f"{workdir.name}.tfrc"
        rc.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{PROVIDER_MIRROR}"\n  }}\n}}\n')
        self.env = {**env, "TF_CLI_CONFIG_FILE": str(rc), "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
        self.env["TF_INPUT"] = "0"

    def __call__(self, *args: str, check: bool = True, timeout: float = 300):
        return run(["terraform", *args], self.env, cwd=self.workdir, timeout=timeout, check=check)
