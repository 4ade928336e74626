"""Issue 5 figure: `notifierStats` for a notifier with 100,000 notices answers in under 50 ms server-side.

Seeding (untimed): a sandbox cn-ecl tenant; 100,000 notices from one rights holder submitted through the
service layer (`submit_notices`, batches of 1,000, one listing each), the tenant's test clock advanced after
each batch so the notices spread over ~180 days, as a real notifier's record would (one notifier_days row
per day). Then ANALYZE.

Timed, in this process: `api.schema.executor.run` (how the API runs operations) of the `notifierStats`
query with a real `Context` (API-key principal, the API's Database and pool; no HTTP), for the policy's
default window and for 365 days (all notices), p50/p95 over --runs each. Baseline, interleaved run by run:
a trivial `SELECT 1` round trip through the same pool.

    .venv/bin/python bench/notifier_stats.py [--notices 100000] [--runs 500] [--days 180]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import Stack

TARGET_MS = 50.0
QUERY = """query($id: ID!, $days: Int) { notifierStats(partyId: $id, windowDays: $days) {
  windowDays notices cases accepted rejected manifestlyUnfounded successfulDeclarations withdrawn
  acceptanceRate unfoundedRatio successfulDeclarationRate trusted trustedSince } }"""
LISTINGS = 1000


async def seed(db: Any, notices: int, days: int) -> Any:
    from bench._seed import analyze, seed_tenant
    from domain.notices import Evidence, NoticeInput, Statements
    from domain.services.notices import submit_notices
    from domain.services.tenancy import advance_test_clock
    from domain.tenancy import TenantMode

    s = await seed_tenant(db, listings=LISTINGS, mode=TenantMode.SANDBOX)
    evidence = (Evidence("registration_certificate", "https://e.example/cert.pdf"),
                Evidence("test_purchase", None, "a" * 64))
    batches = (notices + 999) // 1000
    step = days * 86400 / batches
    start = time.perf_counter()
    for b in range(batches):
        run = uuid.uuid4().hex[:8]
        items = [NoticeInput(complainant_id=s.holder_id, ip_right_id=s.right_id, reason_code="counterfeit",
                             listing_external_ids=(f"sku-{n % LISTINGS}",),
                             explanation="Counterfeit of our registered mark.", evidence=evidence,
                             statements=Statements(good_faith=True, accuracy=True), idempotency_key=f"{run}-{n}")
                 for n in range(min(1000, notices - b * 1000))]
        async with db.uow(s.tenant_id) as uow:
            results = await submit_notices(uow, s.principal, items)
        failed = [r.error for r in results if r.error is not None]
        if failed:
            raise RuntimeError(f"seeding failed: {failed[:3]}")
        async with db.uow(s.tenant_id) as uow:
            await advance_test_clock(uow, s.principal, step)
        if (b + 1) % 10 == 0:
            await analyze(db)  # as autovacuum would: plans for the growing tables stay index lookups
            print(f"  seeded {(b + 1) * 1000:,} notices ({time.perf_counter() - start:.0f} s)", flush=True)
    await analyze(db)
    return s


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(args: argparse.Namespace) -> None:
    from starlette.requests import Request

    from api.context import Context
    from api.schema import executor
    from api.types import global_id
    from infra.db import Database, create_pool
    from infra.settings import get_settings
    from infra.telemetry import configure_tracing

    configure_tracing("noticehub-api")  # the API's process set-up: tracer provider, instrumented asyncpg
    settings = get_settings()
    db = Database(await create_pool(settings), settings)
    try:
        s = await seed(db, args.notices, args.days)
        party = global_id("Party", s.holder_id)
        request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": []})

        async def stats(days: int | None) -> tuple[float, dict[str, Any]]:
            context = Context(request=request, response=None, principal=s.principal, db=db, settings=settings)
            start = time.perf_counter()
            result = await executor.run(QUERY, context, {"id": party, "days": days})
            elapsed = (time.perf_counter() - start) * 1000
            assert "errors" not in result, result["errors"]
            return elapsed, result["data"]["notifierStats"]

        async def select_one() -> float:
            start = time.perf_counter()
            await db.pool.fetchval("SELECT 1")
            return (time.perf_counter() - start) * 1000

        for days in (None, 365):  # warm-up: caches, prepared statements, pool connections
            for _ in range(20):
                await stats(days)
                await select_one()
        print(f"\n{args.runs} runs each, interleaved with the baseline; the executor in-process (no HTTP)")
        baseline: list[float] = []
        for days in (None, 365):
            times: list[float] = []
            answer: dict[str, Any] = {}
            for _ in range(args.runs):
                elapsed, answer = await stats(days)
                times.append(elapsed)
                baseline.append(await select_one())
            label = f"windowDays={days or 'default'} ({answer['windowDays']} d)"
            print(f"notifierStats {label:28}: p50 {pct(times, .5):6.2f} ms  p95 {pct(times, .95):6.2f} ms"
                  f"  max {max(times):6.1f} ms  -> notices={answer['notices']:,} cases={answer['cases']:,}"
                  f"  (target < {TARGET_MS:.0f} ms)")
            if days == 365 and answer["notices"] != args.notices:
                raise SystemExit(f"expected {args.notices} notices in the record, got {answer['notices']}")
        print(f"baseline SELECT 1 (same pool)             : p50 {pct(baseline, .5):6.2f} ms  p95"
              f" {pct(baseline, .95):6.2f} ms  (mean {statistics.mean(baseline):.2f} ms)")
        async with db.tenant_tx(s.tenant_id) as conn:
            rows = await conn.fetchval("SELECT count(*) FROM notifier_days WHERE party_id = $1", s.holder_id)
            stored = await conn.fetchval("SELECT count(*) FROM notices WHERE complainant_id = $1", s.holder_id)
        print(f"stored: {stored:,} notices from the notifier; its record spans {rows} notifier_days rows")
    finally:
        await db.pool.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notices", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--days", type=int, default=180, help="spread the notices over this many days")
    args = parser.parse_args()
    stack = Stack()
    try:
        uvloop.run(run(args))  # the API's event loop (uvicorn --loop uvloop)
    finally:
        stack.close()


if __name__ == "__main__":
    main()
