"""The SQL of registry resolution work: marking a new version as awaiting its check, claiming it under a lease,
and writing the outcome only while the lease is still the claimant's. Functions over a store Transaction.

A version awaiting its check is CREATING with no pending transition and no due time (so every read shows
CREATING) and has `resolve_due` set: the time from which a worker may claim it. Claiming sets `resolve_owner` and
moves `resolve_due` to the lease's expiry, in a short transaction (FOR UPDATE SKIP LOCKED on PostgreSQL); a
claimant that dies leaves the row claimable again once the lease expires. The outcome becomes the version's
pending transition, due at the later of now and `min_due_at` (creation time + transition delay)."""
from dataclasses import dataclass

from sqlalchemy import case, func, select, update

from ..domain.lifecycle import GONE
from .schema import image_versions, images
from .sql import Transaction

v = image_versions


@dataclass(frozen=True)
class Claimed:
    """A version whose check a worker holds: what it needs to resolve it and to write the outcome back."""

    id: int
    base_image: str
    attempts: int  # claims so far, this one included


def pending(now: float, earliest: float) -> dict:
    """The columns of a new version whose BaseImage waits for its check: claimable from `now`, its outcome shown
    no earlier than `earliest`."""
    return {"resolve_due": now, "resolve_owner": None, "resolve_attempts": 0, "min_due_at": earliest}


# versions still waiting for their outcome (no pending transition of their own) whose image is not going away
_AWAITING = (v.c.resolve_due.is_not(None), v.c.pending_status.is_(None), v.c.due_at.is_(None),
             v.c.image_id.not_in(select(images.c.id).where(images.c.pending_status == GONE)))


def claim(tx: Transaction, owner: str, now: float, lease: float, limit: int = 1) -> list[Claimed]:
    """Takes up to `limit` versions whose check is due (never claimed, or their lease expired) for `owner` until
    `now + lease`. On PostgreSQL rows another transaction holds are skipped, not waited for."""
    query = (select(v.c.id, v.c.base_image, v.c.resolve_attempts)
             .where(v.c.resolve_due <= now, *_AWAITING).order_by(v.c.resolve_due, v.c.id).limit(limit))
    if tx.locking:
        query = query.with_for_update(skip_locked=True)
    rows = tx.conn.execute(query).all()
    if rows:
        tx.conn.execute(update(v).where(v.c.id.in_([row.id for row in rows])).values(
            resolve_owner=owner, resolve_due=now + lease,
            resolve_attempts=func.coalesce(v.c.resolve_attempts, 0) + 1))
    return [Claimed(row.id, row.base_image, (row.resolve_attempts or 0) + 1) for row in rows]


def finish(tx: Transaction, version_id: int, owner: str, now: float, outcome: dict,
           container_image: str | None = None) -> bool:
    """Writes a check's outcome (the pending_status / pending_reason columns of lifecycle.answered) if `owner`
    still holds the version's lease and the version still awaits it; due at the later of now and min_due_at.
    False when nothing was written: the version is gone, being deleted, or another worker took it over."""
    statement = (update(v).where(v.c.id == version_id, v.c.resolve_owner == owner, *_AWAITING).values(
        **outcome, container_image=container_image,
        due_at=case((v.c.min_due_at > now, v.c.min_due_at), else_=now),
        resolve_due=None, resolve_owner=None))
    return tx.conn.execute(statement).rowcount == 1


def next_due(tx: Transaction) -> float | None:
    """When the next check may be claimed (an expired lease included), if any version awaits one."""
    return tx.conn.execute(select(func.min(v.c.resolve_due)).where(*_AWAITING)).scalar()
