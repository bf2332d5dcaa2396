"""App image configs' blocks rewritten as the wire writes JSON (compact, non-ASCII text as it is, orjson's form), as
the store now writes them: list pages carry a block's stored text as it is.

Revision ID: 0006
Revises: 0005
"""

from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BLOCKS = ("kernel_gateway", "jupyter_lab", "code_editor")
_CONFIGS = sa.table("app_image_configs", sa.column("id", sa.Integer), *(sa.column(name, sa.JSON) for name in _BLOCKS))


def _rewritten(text: str) -> str | None:
    """A block's text in orjson's form, or None when it is in that form already (or is not JSON orjson reads)."""
    try:
        compact = orjson.dumps(orjson.loads(text)).decode()
    except orjson.JSONDecodeError:
        return None
    return None if compact == text else compact


def upgrade() -> None:
    conn = op.get_bind()
    stored = sa.select(_CONFIGS.c.id, *(sa.cast(_CONFIGS.c[name], sa.Text) for name in _BLOCKS))
    for config_id, *texts in conn.execute(stored).all():
        changed = {}
        for name, text in zip(_BLOCKS, texts, strict=True):
            new = None if text is None else _rewritten(str(text))
            if new is not None:
                changed[name] = _as_json(conn, new)
        if changed:
            conn.execute(_CONFIGS.update().where(_CONFIGS.c.id == config_id).values(**changed))


def _as_json(conn: sa.Connection, text: str) -> sa.ColumnElement[Any]:
    """JSON text to store: cast on PostgreSQL, whose json column takes no text parameter; SQLite stores it as it is."""
    literal = sa.literal(text, sa.Text)
    return sa.cast(literal, sa.JSON) if conn.dialect.name == "postgresql" else literal


def downgrade() -> None:
    """Nothing to undo: either form is the same JSON."""
