"""The SQL of tags: one table per taggable kind, the same queries over each."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, delete, insert, select, update

from .schema import app_image_config_tags, image_tags
from .sql import Row, SqlTx

# taggable kind (as in its ARN) -> (its tag table, the column naming the tagged row)
TAG_TABLES: dict[str, tuple[Table, str]] = {
    "image": (image_tags, "image_id"),
    "app-image-config": (app_image_config_tags, "config_id"),
}


class TagQueries(SqlTx):
    """Tags of any taggable resource, by kind and row id, in insertion order."""

    def tags(self, kind: str, resource_id: int, after: int | None = None, limit: int | None = None) -> list[Row]:
        table, owner = TAG_TABLES[kind]
        query: Any = select(table.c.id, table.c.key, table.c.value).where(table.c[owner] == resource_id)
        if after is not None:
            query = query.where(table.c.id > after)
        query = query.order_by(table.c.id)
        if limit is not None:
            query = query.limit(limit + 1)
        return list(self._rows(query))

    def put_tags(self, kind: str, resource_id: int, tags: dict[str, str], existing: list[Row]) -> None:
        """Adds tags to a resource that has `existing` (its tags() rows), overwriting the values of known keys."""
        table, owner = TAG_TABLES[kind]
        rows = {row["key"]: row for row in existing}
        for key, value in tags.items():
            if key in rows and rows[key]["value"] != value:
                self.conn.execute(update(table).where(table.c.id == rows[key]["id"]).values(value=value))
        new = [{owner: resource_id, "key": key, "value": value} for key, value in tags.items() if key not in rows]
        if new:
            self.conn.execute(insert(table).values(new))

    def delete_tags(self, kind: str, resource_id: int, keys: list[str]) -> None:
        table, owner = TAG_TABLES[kind]
        self.conn.execute(delete(table).where(table.c[owner] == resource_id, table.c.key.in_(keys)))
