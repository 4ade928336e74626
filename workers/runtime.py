"""Per-process resources for actors, created lazily on the AsyncIO middleware's event loop."""

from __future__ import annotations

import asyncio

from infra.db import Database, create_pool
from infra.settings import get_settings

_db: Database | None = None
_lock: asyncio.Lock | None = None


async def database() -> Database:
    global _db, _lock
    if _db is None:
        if _lock is None:
            _lock = asyncio.Lock()
        async with _lock:
            if _db is None:
                settings = get_settings()
                _db = Database(await create_pool(settings, min_size=1, max_size=4), settings)
    return _db


async def close() -> None:
    global _db
    if _db is not None:
        await _db.pool.close()
        _db = None
