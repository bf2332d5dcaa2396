"""The checks the tree is held to in CI: ruff's lint and format, mypy --strict on the package, the import layers."""

import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

BIN = Path(sys.executable).parent  # the tools installed beside the test run's Python (the test extra)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["ruff", "check", "."], id="ruff-check"),
        pytest.param(["ruff", "format", "--check", "."], id="ruff-format"),
        pytest.param(["mypy", "smimages"], id="mypy-strict"),  # strict = true in pyproject.toml
        pytest.param(["lint-imports"], id="import-layers"),  # the contracts in pyproject.toml
    ],
)
def test_the_tree_passes(command):
    result = subprocess.run([str(BIN / command[0]), *command[1:]], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
