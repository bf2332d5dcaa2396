"""The one loopback rule, with and without looking names up."""

import socket

import pytest

from smimages.net import free_port, is_loopback


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST", "a.localhost"])
def test_loopback_hosts(host):
    assert is_loopback(host) and is_loopback(host, resolve=True)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.1", "::", "example.com"])
def test_other_hosts(host):
    assert not is_loopback(host)


def test_a_name_is_looked_up_only_when_asked(monkeypatch):
    answers = {"loop.example": ["127.0.0.1", "::1"], "mixed.example": ["127.0.0.1", "10.0.0.1"]}

    def getaddrinfo(host, *_):
        if host not in answers:
            raise socket.gaierror(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0)) for address in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert not is_loopback("loop.example") and is_loopback("loop.example", resolve=True)
    assert not is_loopback("mixed.example", resolve=True) and not is_loopback("nowhere.example", resolve=True)


def test_free_port_is_a_port_number():
    assert 0 < free_port() < 65536
