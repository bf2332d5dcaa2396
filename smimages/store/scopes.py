"""The SQL of the one read no AWS operation answers: which (account, region) scopes hold resources (the console's)."""

from __future__ import annotations

from sqlalchemy import func, select

from .schema import app_image_configs, images
from .sql import Row, SqlTx, visible

_IMAGES = (
    select(images.c.account, images.c.region, func.count())
    .where(visible(images))
    .group_by(images.c.account, images.c.region)
)
_CONFIGS = select(app_image_configs.c.account, app_image_configs.c.region, func.count()).group_by(
    app_image_configs.c.account, app_image_configs.c.region
)


class ScopeQueries(SqlTx):
    """Counts of resources per (account, region), across the whole catalog."""

    def scopes(self, now: float) -> list[Row]:
        counted: dict[tuple[str, str], Row] = {}
        for statement, member in ((_IMAGES, "images"), (_CONFIGS, "app_image_configs")):
            for row in self.conn.execute(statement, {"now": now}):
                key = (str(row[0]), str(row[1]))
                scope = counted.setdefault(
                    key, {"account": key[0], "region": key[1], "images": 0, "app_image_configs": 0}
                )
                scope[member] = row[2]
        return [counted[key] for key in sorted(counted)]
