"""Persistence: one store interface over SQLite and PostgreSQL, with versioned migrations."""
from .engine import SchemaTooNew, Store
from .sql import Conflict, Aborted

__all__ = ["Conflict", "Aborted", "SchemaTooNew", "Store"]
