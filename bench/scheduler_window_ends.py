"""Issue 3 figure: 100,000 due window-ends drained by one scheduler process (restore decisions, measures
lifted, outbox rows written) in under 60 s, against a plain UPDATE of the same case rows in the same run.

Seeding (untimed, SQL as the login role): a cn-ecl tenant made through the service layer, then per case one
listing (restricted), one notice, one accepted and delivered declaration, the case in `waiting` with its
window over and measures active, an applied `remove` measure, and a pending `window_end` deadline due an
hour ago: what `confirmDelivery` leaves behind once the window has passed. Then ANALYZE.

Timed: `Scheduler(db, DEADLINE_HANDLERS).drain()` until nothing is due, with the scheduler's passes in flight
(this process, the pool and tracer set-up `noticehub scheduler` uses). Baseline, before and after the drain: one
`UPDATE cases SET state = ...` over the same rows, rolled back. Afterwards it checks every case is closed
and has its restore decision and a `measure.lifted` outbox row, and the tenant's hash chain holds.

    .venv/bin/python bench/scheduler_window_ends.py [--cases 100000] [--batch-size 1000] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from uuid import UUID

import asyncpg
import orjson
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import Stack

TARGET_S = 60.0
EXPLANATION = '{"explanation": ["15 calendar days after delivery to the complainant (ECL 43)"]}'

SEED = """
CREATE TEMP TABLE seedmap ON COMMIT DROP AS
  SELECT i, gen_random_uuid() AS listing_id, gen_random_uuid() AS notice_id, gen_random_uuid() AS declaration_id,
         gen_random_uuid() AS case_id, gen_random_uuid() AS measure_id, gen_random_uuid() AS deadline_id
  FROM generate_series(1, {cases}) AS i;
"""
INSERTS = [
    """INSERT INTO listings (tenant_id, id, external_id, url, merchant_id, title, restriction_state, created_at,
         updated_at)
       SELECT {tenant}, listing_id, 'w-' || i, 'https://m.example/w/' || i, {merchant}, 'Item ' || i, 'remove',
         now() - interval '40 days', now() - interval '20 days' FROM seedmap""",
    """INSERT INTO notices (tenant_id, id, complainant_id, ip_right_id, reason_code, explanation, evidence, statements,
         channel, idempotency_key, policy_version, trusted, received_at)
       SELECT {tenant}, notice_id, {holder}, {right}, 'counterfeit', 'Counterfeit of our registered mark.',
         '[{"kind": "registration_certificate", "uri": "https://e.example/cert.pdf"}]',
         '{"accuracy": true, "good_faith": true}', 'api', 'w-' || i, 1, false, now() - interval '30 days'
       FROM seedmap""",
    """INSERT INTO declarations (tenant_id, id, merchant_id, grounds, explanation, status, policy_version, received_at,
         reviewed_at, forwarded_at, delivered_at)
       SELECT {tenant}, declaration_id, {merchant}, 'not_infringing', 'Genuine goods.', 'accepted', 1,
         now() - interval '22 days', now() - interval '21 days', now() - interval '21 days',
         now() - interval '20 days' FROM seedmap""",
    """INSERT INTO cases (tenant_id, id, notice_id, listing_id, merchant_id, state, measures_active, priority,
         declaration_id, window_starts_at, window_ends_at, created_at, updated_at, revision, notifier_id)
       SELECT {tenant}, case_id, notice_id, listing_id, {merchant}, 'waiting', true, 0, declaration_id,
         now() - interval '20 days', now() - interval '1 hour', now() - interval '30 days',
         now() - interval '20 days', 6, {holder} FROM seedmap""",
    """INSERT INTO measures (tenant_id, id, case_id, listing_id, type, status, automated, requested_at, applied_at)
       SELECT {tenant}, measure_id, case_id, listing_id, 'remove', 'applied', false, now() - interval '29 days',
         now() - interval '29 days' FROM seedmap""",
    """INSERT INTO deadlines (tenant_id, id, kind, subject_id, due_at, payload, status, created_at)
       SELECT {tenant}, deadline_id, 'window_end', case_id, now() - interval '1 hour' + i * interval '1 microsecond',
         '""" + EXPLANATION + """', 'pending', now() - interval '20 days' FROM seedmap""",
]
BASELINE = ("UPDATE cases SET state = $2, measures_active = false, outcome_at = now(), updated_at = now(),"
            " revision = revision + 1 WHERE tenant_id = $1")


async def seed(owner: asyncpg.Connection, cases: int) -> UUID:
    from bench._seed import analyze, open_db, seed_tenant

    db = await open_db()
    try:
        s = await seed_tenant(db, listings=0)
        ids = {"tenant": s.tenant_id, "merchant": s.merchant_id, "holder": s.holder_id, "right": s.right_id}
        literals = {k: f"'{v}'::uuid" for k, v in ids.items()}
        start = time.perf_counter()
        async with owner.transaction():
            await owner.execute(SEED.replace("{cases}", str(int(cases))))
            for sql in INSERTS:
                for name, literal in literals.items():
                    sql = sql.replace("{" + name + "}", literal)
                await owner.execute(sql)
        await analyze(db)
        print(f"seeded {cases:,} waiting cases with due window_end deadlines in {time.perf_counter() - start:.1f} s")
        return s.tenant_id
    finally:
        await db.pool.close()


async def baseline(owner: asyncpg.Connection, tenant_id: UUID, state: str) -> tuple[float, int]:
    tr = owner.transaction()
    await tr.start()
    try:
        start = time.perf_counter()
        status = await owner.execute(BASELINE, tenant_id, state)
        return time.perf_counter() - start, int(status.split()[-1])
    finally:
        await tr.rollback()


async def drain(batch_size: int, concurrency: int) -> tuple[float, int, int]:
    from domain.services.deadlines import DEADLINE_HANDLERS
    from infra.db import Database, create_pool
    from infra.process import tune_gc
    from infra.scheduler import Scheduler
    from infra.settings import get_settings
    from infra.telemetry import configure_tracing

    configure_tracing("noticehub-scheduler")
    settings = get_settings()
    db = Database(await create_pool(settings), settings)
    tune_gc()  # as `noticehub scheduler` does
    try:
        scheduler = Scheduler(db, DEADLINE_HANDLERS, batch_size=batch_size, concurrency=concurrency)
        start = time.perf_counter()
        fired = await scheduler.drain()
        return time.perf_counter() - start, fired, concurrency
    finally:
        await db.pool.close()


async def verify(owner: asyncpg.Connection, tenant_id: UUID, cases: int) -> None:
    from domain.decisions import GENESIS_HASH, Decision, first_break
    from infra.case_repositories import decision_from_row

    checks = {
        "cases closed": "SELECT count(*) FROM cases WHERE tenant_id = $1 AND state = 'closed'",
        "cases with a restore decision": "SELECT count(DISTINCT case_id) FROM decisions WHERE tenant_id = $1"
                                         " AND kind = 'case.window_expired' AND outcome = 'restored'",
        "measures lifted": "SELECT count(*) FROM measures WHERE tenant_id = $1 AND status = 'lifted'",
        "cases with a measure.lifted outbox row": "SELECT count(DISTINCT payload->>'case_id') FROM outbox"
                                                  " WHERE tenant_id = $1 AND topic = 'measure.lifted'",
        "listings unrestricted": "SELECT count(*) FROM listings WHERE tenant_id = $1 AND restriction_state = 'none'",
        "deadlines fired": "SELECT count(*) FROM deadlines WHERE tenant_id = $1 AND kind = 'window_end'"
                           " AND status = 'fired'",
    }
    failed = []
    for name, sql in checks.items():
        n = await owner.fetchval(sql, tenant_id)
        print(f"  {name:42}: {n:,}")
        if n != cases:
            failed.append(name)
    await owner.set_type_codec("jsonb", encoder=str, decoder=orjson.loads, schema="pg_catalog")
    prev, last, broken = GENESIS_HASH, 0, None
    async with owner.transaction():
        chunk: list[Decision] = []
        async for r in owner.cursor("SELECT * FROM decisions WHERE tenant_id = $1 ORDER BY seq", tenant_id,
                                    prefetch=5000):
            chunk.append(decision_from_row(r))
            if len(chunk) == 5000:
                broken = broken or first_break(chunk, prev)
                prev, last, chunk = chunk[-1].hash, chunk[-1].seq, []
        if chunk:
            broken = broken or first_break(chunk, prev)
            last = chunk[-1].seq
    print(f"  {'hash chain over ' + format(last, ',') + ' decisions':42}: {'holds' if broken is None else 'BROKEN'}")
    if failed or broken is not None:
        raise SystemExit(f"verification failed: {failed or 'hash chain'}")


async def run(args: argparse.Namespace, database_url: str) -> None:
    owner = await asyncpg.connect(database_url)
    try:
        cases = args.cases
        tenant_id = await seed(owner, cases)
        before, n1 = await baseline(owner, tenant_id, "restored")
        assert n1 == cases
        elapsed, fired, passes = await drain(args.batch_size, args.concurrency)
        after, n2 = await baseline(owner, tenant_id, "closed")
        assert n2 == cases
        base = (before + after) / 2
        print(f"\nscheduler (batch_size {args.batch_size}, {passes} passes in flight): {fired:,} window-ends fired"
              f" in {elapsed:.1f} s = {fired / elapsed:,.0f} restored cases/s"
              f"  (target: {cases:,} in < {TARGET_S:.0f} s)")
        print(f"baseline plain UPDATE of the {cases:,} case rows: {before:.2f} s before, {after:.2f} s after"
              f" = {cases / base:,.0f} rows/s")
        print(f"ratio scheduler / plain UPDATE: {(cases / elapsed) / (cases / base):.2%}"
              f"  ({elapsed / base:.1f}x the time)")
        print("verification:")
        await verify(owner, tenant_id, cases)
    finally:
        await owner.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=2, help="passes in flight (Scheduler default: 2)")
    args = parser.parse_args()
    stack = Stack()
    try:
        uvloop.run(run(args, stack.database_url))  # as `noticehub scheduler` runs (infra/cli.py)
    finally:
        stack.close()


if __name__ == "__main__":
    main()
