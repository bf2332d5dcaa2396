"""Lifecycles as tables: the columns an action starts with, and what the clock shows of them later."""

from smimages.domain.lifecycle import (
    GONE,
    IMAGE_TRANSITIONS,
    VERSION_TRANSITIONS,
    answered,
    awaiting,
    awaiting_check,
    begin,
    effective,
    touched,
)


def test_an_action_shows_its_interim_status_until_it_is_due():
    row = begin(IMAGE_TRANSITIONS, "create", now=100.0, delay=30.0)
    assert row == {
        "status": "CREATING",
        "failure_reason": None,
        "modified_at": 100.0,
        "pending_status": "CREATED",
        "pending_reason": None,
        "due_at": 130.0,
    }
    assert effective(dict(row), 129.999)["status"] == "CREATING"
    assert effective(dict(row), 130.0) == {
        "status": "CREATED",
        "failure_reason": None,
        "modified_at": 130.0,
        "pending_status": None,
        "pending_reason": None,
        "due_at": None,
    }


def test_a_failure_ends_in_the_actions_failed_status_with_its_reason():
    for action, failed in (("create", "CREATE_FAILED"), ("update", "UPDATE_FAILED"), ("delete", "DELETE_FAILED")):
        row = effective(begin(IMAGE_TRANSITIONS, action, 0.0, 0.0, failure="boom"), 0.0)
        assert (row["status"], row["failure_reason"]) == (failed, "boom")


def test_a_deleted_resource_is_gone_once_due():
    row = begin(VERSION_TRANSITIONS, "delete", 0.0, 5.0)
    assert row["pending_status"] == GONE and effective(dict(row), 4.0)["status"] == "DELETING"
    assert effective(dict(row), 5.0) is None


def test_an_awaited_outcome_has_no_due_time_until_it_is_answered():
    row = awaiting(VERSION_TRANSITIONS, "create", 10.0)
    assert (row["status"], row["due_at"], effective(dict(row), 1e12)["status"]) == ("CREATING", None, "CREATING")
    assert answered(VERSION_TRANSITIONS, "create") == {"pending_status": "CREATED", "pending_reason": None}
    assert answered(VERSION_TRANSITIONS, "create", "no such image") == {
        "pending_status": "CREATE_FAILED",
        "pending_reason": "no such image",
    }
    assert awaiting_check(10.0, 40.0) == {
        "resolve_due": 10.0,
        "resolve_owner": None,
        "resolve_attempts": 0,
        "min_due_at": 40.0,
    }


def test_touching_a_settled_resource_changes_only_its_modification_time():
    settled = {"status": "CREATED", "failure_reason": None, "modified_at": 1.0}
    assert touched(settled, 9.0) == {
        "status": "CREATED",
        "failure_reason": None,
        "modified_at": 9.0,
        "pending_status": None,
        "pending_reason": None,
        "due_at": None,
    }
