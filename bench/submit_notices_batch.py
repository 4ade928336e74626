"""Issue 3 figure: `submitNotices` with 1,000 notices per call (one listing each), end to end over HTTP
(httpx -> uvicorn, one process, loopback), against a COPY of the same rows measured in the same run.

Each round: one timed `submitNotices` call (request built beforehand; timed from send to the parsed answer,
every item checked), then the notice, case and decision rows that call wrote are read back (untimed) and
COPYed (asyncpg copy_records_to_table, as the login role: COPY is refused for RLS roles) into the same
tables under a scratch tenant holding the same parties, right and listings, in one transaction (timed).
Rounds alternate, so both see the same machine load.

    .venv/bin/python bench/submit_notices_batch.py [--rounds 6] [--batch 1000] [--no-key] [--workers N --clients N]

`--workers N --clients N`: N API processes (`noticehub serve --workers N`, WEB_CONCURRENCY) and N calls in
flight per round (each its own 1,000 notices); the rate counts every call's notices over the round's wall
time, and the COPY baseline then copies every call's rows in one transaction.

Target: >= 10,000 notices/s end to end (aim 20,000).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import Stack, free_port, start_uvicorn, stop

MUTATION = """mutation($input: SubmitNoticesInput!) { submitNotices(input: $input) { __typename
  ... on SubmitNoticesSuccess { succeeded failed results { index notice { id } cases { id state }
    error { code message } } }
  ... on Error { code message } } }"""
LISTINGS = 5000
TABLES = {
    "notices": ("tenant_id, id, complainant_id, agent_id, ip_right_id, reason_code, explanation, evidence,"
                " statements, signature, channel, idempotency_key, policy_version, trusted, received_at"),
    "cases": ("tenant_id, id, notice_id, listing_id, merchant_id, state, suspended_from, measures_active, priority,"
              " review_due_at, declaration_id, window_starts_at, window_earliest_end_at, window_ends_at, outcome_at,"
              " created_at, updated_at, revision, notifier_id, unfounded, automated_measures"),
    "decisions": ("tenant_id, seq, id, subject_type, subject_id, case_id, kind, outcome, actor, automated,"
                  " policy_version, rules, reasons, reason_text, trace_id, span_id, decided_at, prev_hash, hash"),
}


async def seed() -> Any:
    from bench._seed import open_db, seed_tenant

    db = await open_db()
    try:
        return await seed_tenant(db, listings=LISTINGS)
    finally:
        await db.pool.close()


async def make_scratch_tenant(conn: asyncpg.Connection, tenant_id: UUID) -> UUID:
    """A second tenant with the same parties, right and listings (same ids), as the COPY target."""
    scratch = uuid.uuid4()

    async def columns(table: str, *skip: str) -> str:
        rows = await conn.fetch("SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0"
                                " AND NOT attisdropped ORDER BY attnum", table)
        return ", ".join(r["attname"] for r in rows if r["attname"] not in skip)

    async with conn.transaction():
        names = await columns("tenants", "id", "slug")
        await conn.execute(f"INSERT INTO tenants (id, slug, {names}) SELECT $2::uuid,"
                           f" 'scratch-' || left($2::uuid::text, 8), {names} FROM tenants WHERE id = $1",
                           tenant_id, scratch)
        for table in ("parties", "ip_rights", "listings"):
            names = await columns(table, "tenant_id")
            await conn.execute(f"INSERT INTO {table} (tenant_id, {names}) SELECT $2, {names} FROM {table}"
                               " WHERE tenant_id = $1", tenant_id, scratch)
    return scratch


async def rows_of(conn: asyncpg.Connection, tenant_id: UUID, notice_ids: list[UUID],
                  scratch: UUID) -> dict[str, list[tuple[Any, ...]]]:
    """The rows one call wrote, re-keyed to the scratch tenant (same content otherwise)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    where = {
        "notices": "id = any($2::uuid[])",
        "cases": "notice_id = any($2::uuid[])",
        "decisions": "case_id IN (SELECT id FROM cases WHERE tenant_id = $1 AND notice_id = any($2::uuid[]))",
    }
    for table, cols in TABLES.items():
        rows = await conn.fetch(f"SELECT {cols} FROM {table} WHERE tenant_id = $1 AND {where[table]}",
                                tenant_id, notice_ids)
        out[table] = [(scratch, *tuple(r)[1:]) for r in rows]
    return out


async def copy_rows(conn: asyncpg.Connection, rows: dict[str, list[tuple[Any, ...]]]) -> float:
    start = time.perf_counter()
    async with conn.transaction():
        for table, cols in TABLES.items():
            await conn.copy_records_to_table(table, records=rows[table],
                                             columns=[c.strip() for c in cols.split(",")])
    return time.perf_counter() - start


def body(s: Any, batch: int, run: str, with_key: bool) -> bytes:
    from bench._seed import notice_variables

    items = [notice_variables(s, f"sku-{n % LISTINGS}", f"{run}-{n}", f"{run}-{n}" if with_key else None)
             for n in range(batch)]
    return orjson.dumps({"query": MUTATION, "variables": {"input": {"notices": items}}})


async def run(args: argparse.Namespace, database_url: str, port: int) -> None:
    s = await seed()
    owner = await asyncpg.connect(database_url)
    headers = {"authorization": f"Bearer {s.key}", "content-type": "application/json"}
    try:
        scratch = await make_scratch_tenant(owner, s.tenant_id)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            rates: list[float] = []
            copy_rates: list[float] = []
            counts: dict[str, int] = {}
            for n in range(args.rounds + 1):  # the first round warms up (not counted)
                payloads = [body(s, args.batch, f"r{n}c{c}-{uuid.uuid4().hex[:8]}", not args.no_key)
                            for c in range(args.clients)]

                async def call(payload: bytes) -> list[UUID]:
                    response = await http.post("/graphql", content=payload, headers=headers)
                    result = orjson.loads(response.content)["data"]["submitNotices"]
                    assert result["__typename"] == "SubmitNoticesSuccess", result
                    if result["succeeded"] != args.batch or result["failed"]:
                        raise RuntimeError(f"items failed: {[r['error'] for r in result['results'] if r['error']][:3]}")
                    assert all(len(r["cases"]) == 1 for r in result["results"])
                    return [UUID(_node_id(r["notice"]["id"])) for r in result["results"]]

                start = time.perf_counter()
                answers = await asyncio.gather(*(call(p) for p in payloads))
                elapsed = time.perf_counter() - start
                notice_ids = [i for ids in answers for i in ids]
                rows = await rows_of(owner, s.tenant_id, notice_ids, scratch)
                counts = {t: len(v) for t, v in rows.items()}
                copy_s = await copy_rows(owner, rows)
                if n == 0:
                    await owner.execute("ANALYZE")  # statistics now that the tables have rows
                    continue
                rates.append(len(notice_ids) / elapsed)
                copy_rates.append(len(notice_ids) / copy_s)
                print(f"round {n}: submitNotices x{args.clients} {elapsed * 1000:7.1f} ms ="
                      f" {rates[-1]:8.0f} notices/s | "
                      f"COPY {copy_s * 1000:6.1f} ms = {copy_rates[-1]:8.0f} notices/s", flush=True)
        g, c = statistics.median(rates), statistics.median(copy_rates)
        keyed = "unique idempotencyKey per item" if not args.no_key else "no idempotencyKey"
        print(f"\n{args.rounds} rounds (+1 warm-up), {args.batch} notices per call, one listing each, {keyed};"
              f" {args.workers} API process(es), {args.clients} call(s) in flight")
        print(f"rows per call: {counts} (COPY baseline: these three tables)")
        print(f"submitNotices over HTTP : {g:8.0f} notices/s  (median; best {max(rates):.0f})  target >= 10,000")
        print(f"COPY of the same rows   : {c:8.0f} notices/s  (median; best {max(copy_rates):.0f})")
        print(f"ratio submitNotices/COPY: {g / c:8.2%}")
    finally:
        await owner.close()


def _node_id(global_id: str) -> str:
    from strawberry import relay

    return relay.GlobalID.from_id(global_id).node_id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--no-key", action="store_true", help="submit without idempotency keys")
    parser.add_argument("--workers", type=int, default=1, help="API processes")
    parser.add_argument("--clients", type=int, default=1, help="calls in flight per round")
    args = parser.parse_args()
    stack = Stack()
    try:
        port = free_port()
        server = start_uvicorn("api.app:app_factory", port, factory=True, workers=args.workers,
                               wait_s=10 + 5 * args.workers)
        try:
            asyncio.run(run(args, stack.database_url, port))
        finally:
            stop(server)
    finally:
        stack.close()


if __name__ == "__main__":
    main()
