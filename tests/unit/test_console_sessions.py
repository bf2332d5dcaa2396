"""Console sessions: random tokens that expire on their own clock, sign-in against the credentials file's keys
(a new token each time), scopes a session may see, and a bounded number of sessions."""

import pytest

from smimages.auth import AccessKey
from smimages.console import sessions
from smimages.console.sessions import REFUSED, Sessions, SignInRefused

KEYS = {
    "AKIDA": AccessKey("AKIDA", "secret-a", "111111111111"),
    "AKIDB": AccessKey("AKIDB", "secret-b", "222222222222", frozenset({"eu-west-1", "eu-central-1"})),
}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_session_lives_until_it_expires():
    clock = Clock()
    store = Sessions(None, lifetime=60, clock=clock)
    session = store.start()
    assert store.find(session.token) is session and session.signed_in  # auth off: nothing to sign in to
    assert len(session.token) >= 43 and session.token != session.csrf
    clock.now += 59.9
    assert store.find(session.token) is session
    clock.now += 0.1
    assert store.find(session.token) is None
    assert store.find(None) is None and store.find("") is None and store.find("made-up") is None


def test_sign_in_takes_a_key_and_its_secret_and_gives_a_new_token():
    store = Sessions(KEYS)
    anonymous = store.start()
    assert not anonymous.signed_in and not anonymous.allows("111111111111", "us-east-1")
    for key_id, secret in (("AKIDA", "secret-b"), ("AKIDC", "secret-a"), ("AKIDA", ""), ("", "")):
        with pytest.raises(SignInRefused, match=REFUSED):
            store.sign_in(anonymous, key_id, secret)
    assert store.find(anonymous.token) is anonymous  # a refused sign-in leaves the session as it was
    signed_in = store.sign_in(anonymous, "AKIDA", "secret-a")
    assert signed_in.key == KEYS["AKIDA"] and signed_in.signed_in
    assert signed_in.token != anonymous.token and signed_in.csrf != anonymous.csrf
    assert store.find(anonymous.token) is None  # a token known before sign-in is worth nothing after it


def test_a_session_sees_only_its_keys_account_and_regions():
    store = Sessions(KEYS)
    a = store.sign_in(store.start(), "AKIDA", "secret-a")
    b = store.sign_in(store.start(), "AKIDB", "secret-b")
    assert a.allows("111111111111", "us-east-1") and a.allows("111111111111", "ap-south-1")
    assert not a.allows("222222222222", "eu-west-1")
    assert b.allows("222222222222", "eu-west-1") and b.allows("222222222222", "eu-central-1")
    assert not b.allows("222222222222", "us-east-1") and not b.allows("111111111111", "eu-west-1")
    assert Sessions(None).start().allows("999999999999", "any-region")


def test_the_cookie_is_http_only_same_site_strict_and_expires_with_the_session():
    clock = Clock()
    store = Sessions(None, lifetime=3600, clock=clock)
    session = store.start()
    clock.now += 600
    assert store.cookie(session, "/_smimages/console/", secure=False) == (
        f"smimages_console={session.token}; Path=/_smimages/console/; Max-Age=3000; HttpOnly; SameSite=Strict"
    )
    assert store.cookie(session, "/p/", secure=True).endswith("; SameSite=Strict; Secure")
    assert (
        store.cookie(None, "/p/", secure=False) == "smimages_console=; Path=/p/; Max-Age=0; HttpOnly; SameSite=Strict"
    )


def test_the_oldest_sessions_are_forgotten_beyond_the_limit(monkeypatch):
    monkeypatch.setattr(sessions, "MAX_SESSIONS", 3)
    store = Sessions(None)
    first, second, third = store.start(), store.start(), store.start()
    fourth = store.start()
    assert store.find(first.token) is None
    assert all(store.find(s.token) is s for s in (second, third, fourth))
