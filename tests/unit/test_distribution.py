"""What a release carries: the wheel and the sdist, built (offline, with the test extra's setuptools) from a copy of
the tree, hold the LICENSE, the project URLs, the changelog and every doc the README and the docs link to."""

import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile

import pytest

from support import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
NAME, VERSION = PROJECT["name"], PROJECT["version"]
DOCS = [
    "README.md",
    "CHANGELOG.md",
    "LICENSE",
    *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "docs").rglob("*")) if p.is_file()),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[zipfile.ZipFile, tarfile.TarFile]:
    tree = tmp_path_factory.mktemp("tree")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in listed:
        if (ROOT / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            (tree / name).write_bytes((ROOT / name).read_bytes())
    build = "from setuptools import build_meta as b; b.build_wheel('dist'); b.build_sdist('dist')"
    result = subprocess.run([sys.executable, "-c", build], cwd=tree, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    dist = tree / "dist"
    return zipfile.ZipFile(dist / f"{NAME}-{VERSION}-py3-none-any.whl"), tarfile.open(dist / f"{NAME}-{VERSION}.tar.gz")


def test_the_wheel_carries_the_license_urls_docs_and_changelog(built):
    wheel, _ = built
    names = set(wheel.namelist())
    info = f"{NAME}-{VERSION}.dist-info"
    assert wheel.read(f"{info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
    metadata = wheel.read(f"{info}/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata
    urls = dict(re.findall(r"^Project-URL: ([^,]+), (\S+)$", metadata, re.M))
    assert set(urls) == {"Homepage", "Documentation", "Changelog", "Issues"}
    shipped = f"{NAME}-{VERSION}.data/data/share/doc/{NAME}"
    assert [doc for doc in DOCS if f"{shipped}/{doc}" not in names] == []
    assert "smimages = smimages.__main__:main" in wheel.read(f"{info}/entry_points.txt").decode()
    assert any(name.startswith("smimages/store/migrations/versions/0001") for name in names)


def test_the_sdist_carries_the_same(built):
    _, sdist = built
    names = set(sdist.getnames())
    assert [doc for doc in DOCS if f"{NAME}-{VERSION}/{doc}" not in names] == []


def test_every_link_of_the_docs_points_at_a_shipped_file():
    pages = [ROOT / "README.md", *(ROOT / doc for doc in DOCS if doc.endswith(".md"))]
    broken = [
        f"{page.relative_to(ROOT)}: {target}"
        for page in pages
        for target in re.findall(r"\]\(([^)#\s]+)", page.read_text())
        if "://" not in target and str((page.parent / target).resolve().relative_to(ROOT.resolve())) not in DOCS
    ]
    assert broken == []


def test_the_changelog_starts_with_this_release():
    first = re.search(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert first is not None and first[1] == VERSION
