"""The whole catalog as rows: read in one snapshot for export, written in one transaction for import."""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from .interface import CatalogEntry, ConfigEntry
from .schema import (
    app_image_config_tags,
    app_image_configs,
    image_tags,
    image_versions,
    images,
    metadata,
    version_aliases,
)
from .sql import Row, SqlTx

# table -> the order its rows are exported in (creation order, so an import keeps every ordering)
_EXPORT_ORDER = {
    images: images.c.id,
    image_versions: image_versions.c.id,
    version_aliases: version_aliases.c.alias,
    image_tags: image_tags.c.id,
    app_image_configs: app_image_configs.c.id,
    app_image_config_tags: app_image_config_tags.c.id,
}


class CatalogRows(SqlTx):
    """Every table's rows, and a catalog written into an empty one."""

    def catalog_rows(self) -> dict[str, list[Row]]:
        """Every row of every table, by table name, in export order."""
        return {table.name: list(self._rows(select(table).order_by(order))) for table, order in _EXPORT_ORDER.items()}

    def is_empty(self) -> bool:
        return all(
            self.conn.execute(select(table.c.id).limit(1)).first() is None for table in (images, app_image_configs)
        )

    def clear(self) -> None:
        """Deletes every row of every table."""
        for table in reversed(metadata.sorted_tables):
            self.conn.execute(delete(table))

    def insert_catalog(self, entries: list[CatalogEntry], configs: list[ConfigEntry]) -> None:
        """Writes catalog entries, new ids assigned; a uniqueness rule broken raises Conflict."""
        for config in configs:
            statement = insert(app_image_configs).values(**config.config).returning(app_image_configs.c.id)
            config_id: int = self.conn.execute(statement).scalar_one()
            for tag in config.tags:
                self.conn.execute(insert(app_image_config_tags).values(config_id=config_id, **tag))
        for entry in entries:
            image_id: int = self.conn.execute(insert(images).values(**entry.image).returning(images.c.id)).scalar_one()
            for tag in entry.tags:
                self.conn.execute(insert(image_tags).values(image_id=image_id, **tag))
            for version, aliases in entry.versions:
                statement = insert(image_versions).values(image_id=image_id, **version).returning(image_versions.c.id)
                version_id: int = self.conn.execute(statement).scalar_one()
                for alias in aliases:
                    self.conn.execute(
                        insert(version_aliases).values(image_id=image_id, version_id=version_id, alias=alias)
                    )
