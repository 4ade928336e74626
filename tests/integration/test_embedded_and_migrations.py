"""Embedded defaults keep their data across restarts; concurrent migrations are serialised."""

from __future__ import annotations

import asyncio
import tempfile
import threading
from pathlib import Path

import asyncpg

from tests.conftest import _free_port, scratch_database


async def test_embedded_postgres_and_redis_keep_data_across_restart() -> None:
    from infra.embedded import start_postgres, start_redis

    data = Path(tempfile.mkdtemp(prefix="nh-restart-"))
    url, pg = start_postgres(data)
    conn = await asyncpg.connect(url)
    await conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')")
    await conn.close()
    pg.cleanup()  # stop mode: the server stops, the data dir stays
    url, pg = start_postgres(data, delete_on_exit=True)
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT v FROM kept") == "still here"
    finally:
        await conn.close()
        pg.cleanup()

    port = _free_port()
    _, redis = start_redis(data / "redis", port=port)
    redis.set("kept", "yes")
    redis.shutdown(save=True)
    _, redis = start_redis(data / "redis", port=port)
    try:
        assert redis.get("kept") == b"yes"
    finally:
        redis.shutdown(nosave=True)


async def test_concurrent_migrations_apply_once() -> None:
    from infra.migrate import migrate

    async with scratch_database("nh_conc") as url:
        results: list[list[str]] = []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                results.append(migrate(url))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        await asyncio.to_thread(lambda: [t.join(60) for t in threads])
        assert errors == []
        applied = [r for r in results if r]
        assert len(applied) == 1, results  # exactly one process applied; the others found nothing to do
