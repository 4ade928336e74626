"""Webhook delivery throughput of one worker process against a local receiver, next to raw httpx.

    .venv/bin/python bench/webhooks.py --deliveries 6000 --rounds 2

Per round, interleaved:
- raw httpx / raw aiohttp: this process POSTs signed bodies of the same size, 64 in flight (the
  sender's concurrency), to the same receiver with one client: what plain HTTP from Python does on
  this machine. The sender uses aiohttp, so raw aiohttp is its ceiling; httpx is the brief's baseline.
- webhooks: N pending deliveries (3 events per case, so the per-case ordering rule applies) for
  one endpoint; one `dramatiq workers.actors --processes 1 --threads 4 --queues webhooks` process
  is triggered and the clock runs until every row is `delivered` (claim with lease, sign, SSRF
  check, POST, record attempt, in batches of 100).
The receiver is uvicorn (one process, httptools) answering 200 to everything. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import ROOT, Stack, free_port, start_uvicorn, stop


async def receiver_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The local receiver: read the body, answer 200."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


async def setup_tenant(url: str) -> tuple[uuid.UUID, uuid.UUID, str]:
    from bench._seed import new_tenant
    from domain.services import notifications
    from domain.tenancy import Principal, Role
    from infra.db import Database, create_pool
    from infra.settings import get_settings
    from infra.target_guard import TargetGuard

    get_settings.cache_clear()
    settings = get_settings()
    db = Database(await create_pool(settings, min_size=1, max_size=2), settings)
    try:
        tenant, _ = await new_tenant(db)
        admin = Principal(tenant.id, None, frozenset({Role.ADMIN}))
        async with db.uow(tenant.id) as uow:
            endpoint, secret = await notifications.create_endpoint(
                uow, admin, TargetGuard(allow_local=True), url, ["*"])
        return tenant.id, endpoint.id, secret
    finally:
        await db.pool.close()


async def create_deliveries(tenant_id: uuid.UUID, endpoint_id: uuid.UUID, n: int) -> None:
    from domain.ids import new_id
    from domain.services.notifications import NewDelivery
    from domain.webhooks import DEFAULT_SCHEDULE, envelope
    from infra.db import Database, create_pool
    from infra.settings import get_settings

    settings = get_settings()
    db = Database(await create_pool(settings, min_size=1, max_size=2), settings)
    try:
        now = datetime.now(UTC)
        rows = []
        for i in range(n):
            event, case = new_id(), f"00000000-0000-7000-8000-{i // 3:012d}"
            rows.append(NewDelivery(
                id=new_id(), endpoint_id=endpoint_id, event_id=event, topic="case.state_changed", ordering_key=case,
                payload=envelope(event, "case.state_changed", now, case, {
                    "case_id": case, "notice_id": str(uuid.uuid4()), "listing_id": str(uuid.uuid4()),
                    "from": "under_review", "to": "measures_requested", "event": "accept"}),
                max_attempts=DEFAULT_SCHEDULE.max_attempts, created_at=now))
        for start in range(0, n, 2000):
            async with db.uow(tenant_id) as uow:
                await uow.webhooks.insert_deliveries(rows[start:start + 2000])
    finally:
        await db.pool.close()


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "dramatiq", "workers.actors", "--processes", "1", "--threads", "4",
           "--queues", "webhooks"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def trigger(tenant_id: uuid.UUID, runs: int) -> None:
    import dramatiq

    from infra.broker import build_broker
    from infra.settings import get_settings
    from workers.notification_handlers import DELIVER_WEBHOOKS, WEBHOOKS_QUEUE

    broker = build_broker(get_settings())
    for _ in range(runs):  # one run per worker thread; they claim disjoint batches
        broker.enqueue(dramatiq.Message(queue_name=WEBHOOKS_QUEUE, actor_name=DELIVER_WEBHOOKS, args=(),
                                        kwargs={"tenant_id": str(tenant_id)}, options={}))
    broker.close()


async def wait_delivered(dsn: str, tenant_id: uuid.UUID, n: int, timeout_s: float) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        ends = time.monotonic() + timeout_s
        while time.monotonic() < ends:
            done = await conn.fetchval("SELECT count(*) FROM webhook_deliveries WHERE tenant_id = $1"
                                       " AND status = 'delivered'", tenant_id)
            if done >= n:
                return time.monotonic()
            failed = await conn.fetchval("SELECT count(*) FROM webhook_deliveries WHERE tenant_id = $1"
                                         " AND status IN ('failed', 'dead')", tenant_id)
            if failed:
                raise RuntimeError(f"{failed} deliveries failed")
            await asyncio.sleep(0.02)
        raise RuntimeError(f"only {done}/{n} delivered in {timeout_s}s")
    finally:
        await conn.close()


_BODY = orjson.dumps({"id": str(uuid.uuid4()), "type": "case.state_changed", "timestamp": "2026-01-01T00:00:00+00:00",
                      "ordering_key": "x" * 36, "data": {"case_id": "x" * 36, "notice_id": "y" * 36,
                                                         "listing_id": "z" * 36, "from": "under_review",
                                                         "to": "measures_requested", "event": "accept"}})


async def _timed(n: int, concurrency: int, post: Any) -> float:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with semaphore:
            await post(i)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return n / (time.perf_counter() - t0)


async def raw_httpx(url: str, n: int, secret: str, concurrency: int = 64) -> float:
    """The same POSTs minus Noticehub (signed, same body size), with httpx, `concurrency` in flight."""
    from infra.webhook_sender import sign_headers

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency), timeout=10) as client:
        async def post(i: int) -> None:
            headers = sign_headers(str(i), _BODY.decode(), (secret,), datetime.now(UTC))
            (await client.post(url, content=_BODY, headers=headers)).raise_for_status()
        return await _timed(n, concurrency, post)


async def raw_aiohttp(url: str, n: int, secret: str, concurrency: int = 64) -> float:
    """The same with aiohttp, the client the sender uses: the ceiling for the sender's own overhead."""
    import aiohttp

    from infra.webhook_sender import sign_headers

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        async def post(i: int) -> None:
            headers = sign_headers(str(i), _BODY.decode(), (secret,), datetime.now(UTC))
            async with session.post(url, data=_BODY, headers=headers) as r:
                r.raise_for_status()
                await r.read()
        return await _timed(n, concurrency, post)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=6000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    stack = Stack()
    port = free_port()
    receiver = start_uvicorn("bench.webhooks:receiver_app", port)
    url = f"http://127.0.0.1:{port}/hooks"
    env = dict(os.environ, NOTICEHUB_WEBHOOKS_ALLOW_LOCAL="1", OTEL_TRACES_EXPORTER="none",
               NOTICEHUB_BROKER_NAMESPACE=f"nhbench-{uuid.uuid4().hex[:8]}", NOTICEHUB_LOG_LEVEL="WARNING")
    os.environ.update(env)
    worker = start_worker(env)
    results: list[tuple[float, float, float]] = []
    try:
        time.sleep(3)  # worker boot (imports, broker connection)
        if worker.poll() is not None:
            raise RuntimeError(worker.stderr.read().decode() if worker.stderr else "worker died")
        for r in range(args.rounds):
            tenant_id, endpoint_id, secret = asyncio.run(setup_tenant(url))
            raw = asyncio.run(raw_httpx(url, min(args.deliveries, 2000), secret))
            raw_ah = asyncio.run(raw_aiohttp(url, args.deliveries, secret))
            asyncio.run(create_deliveries(tenant_id, endpoint_id, args.deliveries))
            t0 = time.monotonic()
            trigger(tenant_id, 4)
            t1 = asyncio.run(wait_delivered(stack.database_url, tenant_id, args.deliveries, 300))
            rate = args.deliveries / (t1 - t0)
            results.append((rate, raw, raw_ah))
            print(f"round {r + 1}: webhooks {rate:,.0f}/s | raw httpx {raw:,.0f}/s (ratio {rate / raw:.0%})"
                  f" | raw aiohttp {raw_ah:,.0f}/s (ratio {rate / raw_ah:.0%})", flush=True)
    finally:
        stop(worker, timeout_s=15)
        stop(receiver)
        stack.close()
    best = max(results)
    print(f"\n| {datetime.now(UTC).date()} | {args.deliveries} | **{best[0]:,.0f}** | {best[1]:,.0f} "
          f"({best[0] / best[1]:.0%}) | {best[2]:,.0f} ({best[0] / best[2]:.0%}) | ≥ 500/s |")


if __name__ == "__main__":
    main()
