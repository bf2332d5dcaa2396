"""The SQL of stored transitions: claiming those that fell due and writing them down (the lifecycle worker)."""

from __future__ import annotations

from sqlalchemy import Select, Table, delete, func, select, union_all, update

from ..domain.lifecycle import GONE
from .schema import image_versions, images
from .sql import SqlTx

# resource kind -> the table whose rows carry its lifecycle columns
LIFECYCLE_TABLES: dict[str, Table] = {"image_versions": image_versions, "images": images}


class LifecycleQueries(SqlTx):
    """Due transitions, claimed in batches and written down."""

    def claim_due(self, kind: str, now: float, limit: int) -> list[tuple[int, bool]]:
        """Locks up to `limit` rows of `kind` whose transition is due, as (id, disappears) pairs.

        On PostgreSQL rows another transaction holds are skipped (FOR UPDATE SKIP LOCKED): a busy row waits
        for a later pass, and concurrent workers in other processes never take the same row."""
        table = LIFECYCLE_TABLES[kind]
        query: Select[int, bool] = (
            select(table.c.id, table.c.pending_status == GONE)
            .where(table.c.due_at <= now)
            .order_by(table.c.due_at, table.c.id)
            .limit(limit)
        )
        if self.locking:
            query = query.with_for_update(skip_locked=True)
        return [(row_id, bool(disappears)) for row_id, disappears in self.conn.execute(query)]

    def materialize(self, kind: str, claimed: list[tuple[int, bool]]) -> None:
        """Writes down the due transitions of claimed rows: gone rows are deleted (with what hangs off them),
        the others take their pending status. Idempotent, and a cache of what reads already compute."""
        table = LIFECYCLE_TABLES[kind]
        gone = [row_id for row_id, disappears in claimed if disappears]
        settled = [row_id for row_id, disappears in claimed if not disappears]
        if gone:
            self.conn.execute(delete(table).where(table.c.id.in_(gone), table.c.due_at.is_not(None)))
        if settled:
            self.conn.execute(
                update(table)
                .where(table.c.id.in_(settled), table.c.due_at.is_not(None))
                .values(
                    status=table.c.pending_status,
                    failure_reason=table.c.pending_reason,
                    modified_at=table.c.due_at,
                    pending_status=None,
                    pending_reason=None,
                    due_at=None,
                )
            )

    def next_due(self) -> float | None:
        """The earliest time a stored transition falls due, if any is pending."""
        dues = union_all(*(select(func.min(table.c.due_at).label("due")) for table in LIFECYCLE_TABLES.values()))
        due: float | None = self.conn.execute(select(func.min(dues.subquery().c.due))).scalar()
        return due
