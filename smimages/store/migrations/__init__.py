"""Alembic migration history shared by the SQLite and PostgreSQL backends."""
