"""Addresses: whether a host is loopback (one rule for every caller), and a free loopback port."""

from __future__ import annotations

import ipaddress
import socket


def is_loopback(host: str, resolve: bool = False) -> bool:
    """Whether `host` stands only for loopback addresses: `localhost`, `*.localhost`, 127.0.0.0/8 or ::1. With
    `resolve`, any other name is looked up and every address it has must be loopback; without, other names never
    are (a lookup's answer can change after the check)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if not resolve:
        return False
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (for tests and benchmarks that start servers)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port
