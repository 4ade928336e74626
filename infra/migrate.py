"""Apply the SQL migrations in infra/migrations with yoyo, serialised by a PostgreSQL advisory lock."""

from __future__ import annotations

from pathlib import Path

import psycopg
from yoyo import get_backend, read_migrations

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIGRATION_LOCK_KEY = 0x6E6F7469636568  # "noticeh": one lock for every process that migrates


def _yoyo_url(database_url: str) -> str:
    scheme, rest = database_url.split("://", 1)
    if scheme in {"postgres", "postgresql"}:
        scheme = "postgresql+psycopg"
    return f"{scheme}://{rest}"


def _psycopg_url(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


def migrate(database_url: str) -> list[str]:
    """Apply pending migrations; returns the ids applied (empty when up to date)."""
    with psycopg.connect(_psycopg_url(database_url), autocommit=True) as lock_conn:
        lock_conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK_KEY,))
        try:
            backend = get_backend(_yoyo_url(database_url))
            migrations = read_migrations(str(MIGRATIONS_DIR))
            with backend.lock():
                pending = backend.to_apply(migrations)
                backend.apply_migrations(pending)
            return [m.id for m in pending]
        finally:
            lock_conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK_KEY,))
