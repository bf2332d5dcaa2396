"""Lifecycles as tables: which statuses an action may start from, the status it shows, and where it ends."""

from collections.abc import Mapping
from typing import Any

GONE = "GONE"  # a pending target meaning the resource disappears when the transition is due

# action -> (status while in progress, status once due)
IMAGE_TRANSITIONS = {
    "create": ("CREATING", "CREATED"),
    "update": ("UPDATING", "CREATED"),
    "delete": ("DELETING", GONE),
}
VERSION_TRANSITIONS = {
    "create": ("CREATING", "CREATED"),
    "delete": ("DELETING", GONE),
}
# action -> statuses it may start from
IMAGE_ALLOWED = {
    "update": {"CREATED", "UPDATE_FAILED"},
    "delete": {"CREATED", "CREATE_FAILED", "UPDATE_FAILED", "DELETE_FAILED"},
    "create_version": {"CREATED"},
}
VERSION_ALLOWED = {
    "update": {"CREATED", "CREATE_FAILED", "DELETE_FAILED"},
    "delete": {"CREATED", "CREATE_FAILED", "DELETE_FAILED"},
}
IN_PROGRESS_VERB = {"CREATING": "created", "UPDATING": "updated", "DELETING": "deleted"}
# action -> the status it ends in when it fails (FailureReason is shown only in these)
FAILED = {"create": "CREATE_FAILED", "update": "UPDATE_FAILED", "delete": "DELETE_FAILED"}


def begin(
    transitions: Mapping[str, tuple[str, str]], action: str, now: float, delay: float, failure: str | None = None
) -> dict[str, Any]:
    """The lifecycle columns of a resource that starts `action` at `now`, finishing `delay` seconds later:
    successfully, or (given a `failure` reason) in the action's *_FAILED status with that FailureReason."""
    return {**awaiting(transitions, action, now), **answered(transitions, action, failure), "due_at": now + delay}


def awaiting(transitions: Mapping[str, tuple[str, str]], action: str, now: float) -> dict[str, Any]:
    """The lifecycle columns of a resource that starts `action` at `now` and ends only when an outcome from outside
    (the registry check) is written down with `answered`: in progress, with no pending transition and no due time,
    so every read shows it in progress until then."""
    interim, _ = transitions[action]
    return {
        "status": interim,
        "failure_reason": None,
        "modified_at": now,
        "pending_status": None,
        "pending_reason": None,
        "due_at": None,
    }


def answered(transitions: Mapping[str, tuple[str, str]], action: str, failure: str | None = None) -> dict[str, Any]:
    """The pending transition an awaited outcome sets: success, or (given a `failure` reason) the action's *_FAILED
    status with that FailureReason. Its due time is the later of now and start + delay, so the clock still decides
    when it shows (the store computes it: smimages/store/resolution.py)."""
    _, final = transitions[action]
    return {"pending_status": final if failure is None else FAILED[action], "pending_reason": failure}


def awaiting_check(now: float, earliest: float) -> dict[str, Any]:
    """The columns of a new version whose BaseImage waits for its registry check: claimable by a worker from `now`,
    its outcome shown no earlier than `earliest` (smimages/store/resolution.py)."""
    return {"resolve_due": now, "resolve_owner": None, "resolve_attempts": 0, "min_due_at": earliest}


def effective(row: dict[str, Any], now: float) -> dict[str, Any] | None:
    """The resource as the clock at `now` shows it: a due transition applied, or None once gone. The row is updated
    in place (callers pass the dict they just built from a database row)."""
    due = row["due_at"]
    if due is not None and due <= now:
        if row["pending_status"] == GONE:
            return None
        row.update(
            status=row["pending_status"],
            failure_reason=row["pending_reason"],
            modified_at=due,
            pending_status=None,
            pending_reason=None,
            due_at=None,
        )
    return row


def touched(row: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The lifecycle columns of a settled resource whose attributes change at `now` without a status change."""
    return {
        "status": row["status"],
        "failure_reason": row["failure_reason"],
        "modified_at": now,
        "pending_status": None,
        "pending_reason": None,
        "due_at": None,
    }
