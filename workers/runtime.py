"""Per-process resources for actors, created lazily on the AsyncIO middleware's event loop.

The pool belongs to the loop that created it; a worker restarted in the same process (tests) gets a
new loop, so the pool is recreated for it.
"""

from __future__ import annotations

import asyncio

from infra.db import Database, create_pool
from infra.settings import get_settings

_db: Database | None = None
_loop: asyncio.AbstractEventLoop | None = None
_lock: asyncio.Lock | None = None


async def database() -> Database:
    global _db, _loop, _lock
    loop = asyncio.get_running_loop()
    if _db is not None and _loop is loop:
        return _db
    if _lock is None or _loop is not loop:
        _lock, _loop, _db = asyncio.Lock(), loop, None
    async with _lock:  # several actor threads share this loop: create the pool once
        if _db is None:
            settings = get_settings()
            _db = Database(await create_pool(settings, min_size=1), settings)  # max: NOTICEHUB_DB_POOL_MAX, > threads
    return _db
