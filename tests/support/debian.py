"""Debian packages the test tiers need (docker-registry, chromium), installed with apt-get when missing: as root,
like CI. A failed installation raises with the installer's output, once per test run: these tests never skip."""

import os
import shutil
import subprocess
import threading

_lock = threading.Lock()
_failures: dict[tuple[str, ...], str] = {}  # an installation fails once per test run, not once per test


def ensure_command(command: str, packages: tuple[str, ...]) -> str:
    """The path of `command` (on PATH or in /usr/bin); installs `packages` first when it is missing."""
    with _lock:
        found = _find(command)
        if found:
            return found
        if packages in _failures:
            raise RuntimeError(_failures[packages])
        try:
            _install(packages)
        except Exception as exc:
            message = str(exc) if isinstance(exc, RuntimeError) else f"installing {' '.join(packages)} failed: {exc!r}"
            _failures[packages] = message
            raise RuntimeError(message) from exc
        found = _find(command)
        if not found:
            _failures[packages] = f"{' '.join(packages)} installed, but {command} is not on PATH"
            raise RuntimeError(_failures[packages])
        return found


def _find(command: str) -> str | None:
    path = f"/usr/bin/{command}"
    return shutil.which(command) or (path if os.path.exists(path) else None)


def _install(packages: tuple[str, ...]) -> None:
    """apt-get update, then apt-get install; services the packages would start are not used."""
    names = " ".join(packages)
    if os.geteuid() != 0:
        raise RuntimeError(
            f"{names} not installed and installing needs root: run `apt-get update && apt-get install -y {names}`"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log = []
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=120"]
    for command in ([*apt, "update", "-qq"], [*apt, "install", "-y", "-qq", "--no-install-recommends", *packages]):
        done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900)
        log.append(f"$ {' '.join(command)} -> {done.returncode}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        if done.returncode != 0:
            raise RuntimeError(f"installing {names} failed:\n" + "\n".join(log))
