"""docs/testing.md's examples run as written: its `<!-- file: NAME -->` blocks are written out and run with pytest
and with unittest, in fresh processes, as a user would run them."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

DOC = ROOT / "docs" / "testing.md"
_BLOCK = re.compile(r"<!-- file: (?P<name>[\w.]+) -->\n```\w*\n(?P<body>.*?)\n```", re.S)


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("examples")
    blocks = {match["name"]: match["body"] for match in _BLOCK.finditer(DOC.read_text())}
    assert set(blocks) == {"catalog.json", "test_images_pytest.py", "test_images_unittest.py"}
    for name, body in blocks.items():
        (folder / name).write_text(body + "\n")
    return folder


def run(folder: Path, *args: str) -> subprocess.CompletedProcess:
    # a user's environment: no AWS settings at all (the mock supplies credentials; nothing probes the network)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return subprocess.run([sys.executable, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=300)


def test_pytest_examples(examples):
    result = run(examples, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_images_pytest.py")
    assert result.returncode == 0 and "5 passed" in result.stdout, result.stdout + result.stderr


def test_unittest_examples(examples):
    result = run(examples, "-m", "unittest", "-v", "test_images_unittest")
    assert result.returncode == 0 and "Ran 5 tests" in result.stderr, result.stdout + result.stderr
