"""Issue 6 figure: the public list query with 1,000,000 published disclosures for the tenant (10 tenants,
10,000,000 rows in all), server-side, p50/p95 against a baseline measured in the same run.

A fresh, migrated database (bench/_stack.py) is seeded in SQL (bench/_disclosures.py). Each case calls
`api.public.list_records` in-process with a `Database` from infra.db — the tenant lookup, the policy check and
the RLS transaction of production — over the same pool. Rounds are interleaved (every case once per round, in
a shuffled order) so load from other work on the machine spreads over all cases alike. The baseline is a
primary-key lookup of one disclosure in a tenant transaction through the same pool (`DisclosureRepo.get`).
EXPLAIN (ANALYZE, BUFFERS) of the repository's query runs as the app role with the tenant set. The database
is dropped at the end.

    .venv/bin/python bench/disclosure_list.py [--tenants 10] [--rows 1000000] [--runs 300] [--plans FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._disclosures import CITIES, SUFFIXES, WORDS, seed_timed
from bench._stack import Stack

DEEP = 900_000


def merchant(m: int) -> str:
    """The merchant name bench/_disclosures.py gives merchant number m (0 most frequent, 5999 rarest)."""
    return CITIES[m % 20] + WORDS[(m // 20) % 50] + SUFFIXES[m // 1000]


class _ExplainConn:
    """Stands in for the connection under DisclosureRepo: runs its query under EXPLAIN (ANALYZE, BUFFERS)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.plan = ""

    async def execute(self, sql: str, *args: Any) -> str:
        return str(await self.conn.execute(sql, *args))  # e.g. SET LOCAL: applies to the explained query too

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        rows = await self.conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *args)
        self.plan = "\n".join(r[0] for r in rows)
        return []


def pct(xs: list[float], q: int) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] if len(xs) > 1 else xs[0]


async def run(tenants: list[tuple[UUID, str]], runs: int, rows: int, *, slow_ms: float, slow_runs: int) -> str:
    from api.public import _after, _cursor, _tenant, list_records
    from infra.db import Database, create_pool
    from infra.disclosure_repositories import DisclosureRepo
    from infra.settings import get_settings
    from infra.write_batch import WriteBatch

    settings = get_settings()
    db = Database(await create_pool(settings, min_size=2, max_size=4), settings)
    tenant_id, slug = tenants[len(tenants) // 2]
    try:
        async with db.pool.acquire() as conn:  # owner login: set-up reads only
            deep_row = await conn.fetchrow(
                "SELECT published_at, id FROM disclosures WHERE tenant_id = $1 AND status = 'published'"
                " ORDER BY published_at DESC, id DESC OFFSET $2 LIMIT 1", tenant_id, min(DEEP, rows - 30))
            deep_kind = await conn.fetchrow(
                "SELECT published_at, id FROM disclosures WHERE tenant_id = $1 AND status = 'published'"
                " AND kind = 'declaration' ORDER BY published_at DESC, id DESC OFFSET $2 LIMIT 1",
                tenant_id, min(DEEP, rows - 30) * 15 // 100)
            ids = [r["id"] for r in await conn.fetch(
                "SELECT id FROM disclosures TABLESAMPLE SYSTEM (1) WHERE tenant_id = $1 LIMIT 1000", tenant_id)]
            if not ids:
                ids = [r["id"] for r in await conn.fetch(
                    "SELECT id FROM disclosures WHERE tenant_id = $1 LIMIT 1000", tenant_id)]
            rare = merchant(5999)
            counts = {name: await conn.fetchval(
                "SELECT count(*) FROM disclosures WHERE tenant_id = $1 AND status = 'published' AND"
                " (listing_title ILIKE '%' || $2 || '%' OR merchant_name ILIKE '%' || $2 || '%')", tenant_id, name)
                for name in ("旗舰店", "Dyson", rare, "Nonexistent shop")}
        deep_cursor, deep_kind_cursor = _cursor(deep_row), _cursor(deep_kind)
        now = datetime.now(UTC)
        month = ((now - timedelta(days=400)).date(), (now - timedelta(days=371)).date())  # inclusive days

        async def baseline() -> Any:
            async with db.uow(tenant_id) as uow:
                return await uow.disclosures.get(random.choice(ids))

        def page(**kw: Any) -> Callable[[], Awaitable[Any]]:
            args: dict[str, Any] = {"first": 25, "after": None, "kind": None, "right_type": None,
                                    "published": (None, None), "fields": ("from", "to"), "name": None, **kw}
            return lambda: list_records(db, slug, **args)

        cases: dict[str, Callable[[], Awaitable[Any]]] = {
            "baseline: PK lookup in a tenant tx": baseline,
            "tenant lookup + policy check only": lambda: _tenant(db, slug),
            "first page": page(),
            f"deep page ({min(DEEP, rows - 30):,} rows in, keyset)": page(after=deep_cursor),
            "kind=declaration, first page": page(kind="declaration"),
            "kind=declaration, deep page": page(kind="declaration", after=deep_kind_cursor),
            "right type=design (10 %)": page(right_type="design"),
            "right type=trade_secret (2 %)": page(right_type="trade_secret"),
            "date range (30 days, a year ago)": page(published=month),
            f"name '旗舰店' ({counts['旗舰店']:,} rows)": page(name="旗舰店"),
            f"name 'Dyson' ({counts['Dyson']:,} rows)": page(name="Dyson"),
            f"name rare merchant ({counts[rare]:,} rows)": page(name=rare),
            f"name no match ({counts['Nonexistent shop']:,} rows)": page(name="Nonexistent shop"),
        }
        slow: set[str] = set()
        for name, fn in cases.items():  # warm up: caches, prepared statements, the parsed policy
            t0 = time.perf_counter()
            for _ in range(3):
                await fn()
            if (time.perf_counter() - t0) / 3 * 1000 > slow_ms:
                slow.add(name)  # seconds per call: timed in the first `slow_runs` rounds only
        times: dict[str, list[float]] = {k: [] for k in cases}
        order = list(cases)
        t_all = time.perf_counter()
        for r in range(runs):
            random.shuffle(order)
            for name in order:
                if name in slow and r >= slow_runs:
                    continue
                t0 = time.perf_counter()
                await cases[name]()
                times[name].append((time.perf_counter() - t0) * 1000)
        base = statistics.median(times["baseline: PK lookup in a tenant tx"])
        print(f"\n{runs} interleaved rounds in {time.perf_counter() - t_all:.0f} s; tenant {slug}"
              f" ({rows:,} published rows of {rows * len(tenants):,})\n")
        print("| case | runs | p50 ms | p95 ms | max ms | p50 / baseline p50 |\n|---|---|---|---|---|---|")
        for name, xs in times.items():
            print(f"| {name} | {len(xs)} | {statistics.median(xs):.2f} | {pct(xs, 95):.2f} | {max(xs):.1f} |"
                  f" {statistics.median(xs) / base:.1f}x |")

        explained: list[tuple[str, str]] = []
        probes: list[tuple[str, dict[str, Any]]] = [
            ("first page", {}), ("deep page", {"after": _after(deep_cursor)}),
            ("kind=declaration deep page", {"kind": "declaration", "after": _after(deep_kind_cursor)}),
            ("name '旗舰店'", {"name": "旗舰店"}), ("name rare merchant", {"name": rare}),
            ("name no match", {"name": "Nonexistent shop"})]
        for title, kw in probes:
            async with db.tenant_tx(tenant_id) as conn:  # set_config('role', app role), set_config('app.tenant_id')
                probe = _ExplainConn(conn)
                args = {"after": None, "kind": None, "right_type": None, "since": None, "until": None, "name": None,
                        **kw}
                await DisclosureRepo(probe, tenant_id, WriteBatch()).public_page(
                    args["after"], 26, args["kind"], args["right_type"], args["since"], args["until"], args["name"])
                explained.append((title, probe.plan))
        text = "\n\n".join(f"-- {title}\n{plan}" for title, plan in explained)
        print("\n" + text)
        return text
    finally:
        await db.pool.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--rows", type=int, default=1_000_000, help="published disclosures per tenant")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2, help="seeding connections")
    parser.add_argument("--plans", type=Path, help="also write the EXPLAIN output here")
    parser.add_argument("--slow-ms", type=float, default=250.0,
                        help="cases slower than this in the warm-up are timed in --slow-runs rounds only")
    parser.add_argument("--slow-runs", type=int, default=10)
    args = parser.parse_args()
    stack = Stack()
    try:
        import api.public  # noqa: F401  (the code under test is loaded before the long seed, not after)

        tenants = seed_timed(stack.database_url, stack.db_name, tenants=args.tenants, rows=args.rows, jobs=args.jobs)
        plans = asyncio.run(run(tenants, args.runs, args.rows, slow_ms=args.slow_ms, slow_runs=args.slow_runs))
        if args.plans:
            args.plans.write_text(plans + "\n")
    finally:
        stack.close()


if __name__ == "__main__":
    main()
