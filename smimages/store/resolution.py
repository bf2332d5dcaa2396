"""The SQL of registry checks of new versions: claiming one under a lease, and writing the outcome only while the
lease is still the claimant's.

A version awaiting its check is CREATING with no pending transition and no due time (so every read shows
CREATING) and has `resolve_due` set: the time from which a worker may claim it (domain.lifecycle.awaiting_check).
Claiming sets `resolve_owner` and moves `resolve_due` to the lease's expiry, in a short transaction (FOR UPDATE SKIP
LOCKED on PostgreSQL); a claimant that dies leaves the row claimable again once the lease expires. The outcome
becomes the version's pending transition, due at the later of now and `min_due_at` (creation time + delay)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select, update

from ..domain.lifecycle import GONE
from .interface import Claimed
from .schema import image_versions, images
from .sql import Row, SqlTx

v = image_versions
# versions still waiting for their outcome (no pending transition of their own) whose image is not going away
_AWAITING = (
    v.c.resolve_due.is_not(None),
    v.c.pending_status.is_(None),
    v.c.due_at.is_(None),
    v.c.image_id.not_in(select(images.c.id).where(images.c.pending_status == GONE)),
)


class ResolutionQueries(SqlTx):
    """Registry checks claimed under a lease."""

    def claim_resolutions(self, owner: str, now: float, lease: float, limit: int = 1) -> list[Claimed]:
        """Takes up to `limit` versions whose check is due (never claimed, or their lease expired) for `owner` until
        `now + lease`. On PostgreSQL rows another transaction holds are skipped, not waited for."""
        query: Any = (
            select(v.c.id, v.c.base_image, v.c.resolve_attempts)
            .where(v.c.resolve_due <= now, *_AWAITING)
            .order_by(v.c.resolve_due, v.c.id)
            .limit(limit)
        )
        if self.locking:
            query = query.with_for_update(skip_locked=True)
        rows = self.conn.execute(query).all()
        if rows:
            self.conn.execute(
                update(v)
                .where(v.c.id.in_([row.id for row in rows]))
                .values(
                    resolve_owner=owner,
                    resolve_due=now + lease,
                    resolve_attempts=func.coalesce(v.c.resolve_attempts, 0) + 1,
                )
            )
        return [Claimed(row.id, row.base_image, (row.resolve_attempts or 0) + 1) for row in rows]

    def finish_resolution(
        self, version_id: int, owner: str, now: float, outcome: Row, container_image: str | None = None
    ) -> bool:
        """Writes a check's outcome (the pending_status / pending_reason columns of lifecycle.answered) if `owner`
        still holds the version's lease and the version still awaits it; due at the later of now and min_due_at.
        False when nothing was written: the version is gone, being deleted, or another worker took it over."""
        statement = (
            update(v)
            .where(v.c.id == version_id, v.c.resolve_owner == owner, *_AWAITING)
            .values(
                **outcome,
                container_image=container_image,
                due_at=case((v.c.min_due_at > now, v.c.min_due_at), else_=now),
                resolve_due=None,
                resolve_owner=None,
            )
        )
        return self.conn.execute(statement).rowcount == 1

    def next_resolution_due(self) -> float | None:
        """When the next check may be claimed (an expired lease included), if any version awaits one."""
        due: float | None = self.conn.execute(select(func.min(v.c.resolve_due)).where(*_AWAITING)).scalar()
        return due
