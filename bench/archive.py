"""Issue 4 figure: archiving closed cases into the local object store (cases/s), against a baseline of
writing the same bundle bytes with plain file writes in the same run.

Each round archives its own tenant of `--cases` closed cases (one notice, listing, measure and five
chained decisions each; seeded in SQL and through the decision log) with `infra.archiver.Archiver`
(the scheduler's archive pass: read the batch, build canonical JSON bundles, SHA-256, write-if-absent
through obstore, insert bundle rows, record a `case.archive` decision per case, schedule purge
deadlines), then writes the very bytes it produced to a fresh directory with `open(path, "xb")`.
It also times `verify_audit_trail` over the tenant (chain + every bundle re-read and re-hashed).

    .venv/bin/python bench/archive.py [--cases 10000] [--rounds 2] [--batch 1000] [--concurrency 2]
        [--processes 1] [--loop uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import Stack


async def seed(db: object, tenant_id: UUID, n: int) -> None:
    from domain.decisions import AUTOMATED, DecisionDraft, Reason, RuleRecord
    from domain.ids import new_id

    holder, merchant, right = new_id(), new_id(), new_id()
    async with db.tenant_tx(tenant_id) as conn:  # type: ignore[attr-defined]
        await conn.execute(
            "INSERT INTO parties (tenant_id, id, kind, external_ref, display_name) VALUES"
            " ($1, $2, 'rights_holder', 'brand', 'Brand Holdings'), ($1, $3, 'merchant', 'shop', 'Shop')",
            tenant_id, holder, merchant)
        await conn.execute(
            "INSERT INTO ip_rights (tenant_id, id, holder_id, type, registration_number, jurisdiction)"
            " VALUES ($1, $2, $3, 'trademark', 'TM-1', 'CN')", tenant_id, right, holder)
        listing_ids = [new_id() for _ in range(n)]
        notice_ids = [new_id() for _ in range(n)]
        case_ids = [new_id() for _ in range(n)]
        await conn.execute(
            "INSERT INTO listings (tenant_id, id, external_id, url, merchant_id, title)"
            " SELECT $1, u.id, 'sku-' || u.i, 'https://m.example/' || u.i, $2, 'Item ' || u.i"
            " FROM unnest($3::uuid[]) WITH ORDINALITY AS u(id, i)", tenant_id, merchant, listing_ids)
        await conn.execute(
            "INSERT INTO notices (tenant_id, id, complainant_id, ip_right_id, reason_code, explanation, evidence,"
            "  statements, policy_version, received_at)"
            " SELECT $1, u.id, $2, $3, 'counterfeit', 'Counterfeit of our registered mark, listing ' || u.i,"
            "  jsonb_build_array(jsonb_build_object('kind', 'registration_certificate', 'uri',"
            "   'https://e.example/cert.pdf', 'sha256', md5(u.i::text) || md5(u.i::text)),"
            "   jsonb_build_object('kind', 'test_purchase', 'uri', 'https://e.example/p' || u.i || '.jpg')),"
            "  '{\"accuracy\": true, \"good_faith\": true}', 1, now() - interval '60 days'"
            " FROM unnest($4::uuid[]) WITH ORDINALITY AS u(id, i)", tenant_id, holder, right, notice_ids)
        await conn.execute(
            "INSERT INTO cases (tenant_id, id, notice_id, listing_id, merchant_id, state, measures_active,"
            "  outcome_at, created_at, updated_at)"
            " SELECT $1, u.id, u.notice_id, u.listing_id, $2, 'closed', false, now() - interval '40 days',"
            "  now() - interval '60 days', now() - interval '40 days'"
            " FROM unnest($3::uuid[], $4::uuid[], $5::uuid[]) AS u(id, notice_id, listing_id)",
            tenant_id, merchant, case_ids, notice_ids, listing_ids)
        await conn.execute(
            "INSERT INTO measures (tenant_id, id, case_id, listing_id, type, territorial_scope, status,"
            "  requested_at, applied_at, lifted_at)"
            " SELECT $1, gen_random_uuid(), u.case_id, u.listing_id, 'remove', '{CN}', 'lifted',"
            "  now() - interval '59 days', now() - interval '58 days', now() - interval '40 days'"
            " FROM unnest($2::uuid[], $3::uuid[]) AS u(case_id, listing_id)", tenant_id, case_ids, listing_ids)
    steps = [("case.receive", "under_review", True), ("case.accept", "measures_requested", False),
             ("case.confirm_measures", "measures_applied", False), ("case.settle", "settled", False),
             ("case.close", "closed", True)]
    for start in range(0, len(case_ids), 2000):
        async with db.uow(tenant_id) as uow:  # type: ignore[attr-defined]
            for cid in case_ids[start:start + 2000]:
                for kind, outcome, automated in steps:
                    uow.decisions.record(DecisionDraft(
                        subject_type="case", subject_id=cid, case_id=cid, kind=kind, outcome=outcome,
                        actor=f"{AUTOMATED}:notices.intake" if automated else "apikey:bench", automated=automated,
                        policy_version=1,
                        rules=(RuleRecord("notices.required_evidence.trademark", True,
                                          {"required": ["registration_certificate"], "given": 2}),),
                        reasons=(Reason(outcome, f"{kind} for the benchmark"),), reason_text=f"{kind}.",
                    ))


async def backend_pids(db: object) -> list[int]:
    """The client backends of this database (the benchmark's own pool and any archive processes)."""
    async with db.pool.acquire() as conn:  # type: ignore[attr-defined]
        return [r["pid"] for r in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'")]


async def sample_backend_cpu(db: object, done: asyncio.Event) -> float:
    """CPU of every backend seen while `done` is unset (backends of other processes come and go)."""
    seen: dict[int, float] = {}
    start = {pid: backend_cpu([pid]) for pid in await backend_pids(db)}
    while not done.is_set():
        for pid in await backend_pids(db):
            seen[pid] = backend_cpu([pid])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 0.1)
    return sum(cpu - start.get(pid, 0.0) for pid, cpu in seen.items())


def _archive_process(tenant_id: str, store_url: str, batch: int, concurrency: int, out: Any, go: Any) -> None:
    """One archive process (spawned): its own pool, the same pass as `noticehub archive`."""
    import uvloop

    async def main() -> int:
        from infra.archive_store import ObjectArchiveStore
        from infra.archiver import Archiver
        from infra.db import Database, create_pool
        from infra.process import tune_gc
        from infra.settings import get_settings

        settings = get_settings()
        db = Database(await create_pool(settings, min_size=concurrency + 1, max_size=concurrency + 1), settings)
        tune_gc()  # as `noticehub scheduler` and `noticehub archive` do
        out.put("ready")
        await asyncio.to_thread(go.wait)
        try:
            result = await Archiver(db, ObjectArchiveStore(store_url), batch_size=batch,
                                    concurrency=concurrency).run_once([UUID(tenant_id)])
            return result.archived
        finally:
            await db.pool.close()

    out.put(uvloop.run(main()))


def backend_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) of the PostgreSQL backends serving this pool (same machine)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def plain_writes(root: Path, payloads: list[tuple[Path, bytes]]) -> float:
    """The baseline: the same bytes, plain blocking file writes (exclusive create, same key layout)."""
    t = time.perf_counter()
    for rel, data in payloads:
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as f:
            f.write(data)
    return time.perf_counter() - t


async def one_round(db: object, n: int, batch: int, root: Path, concurrency: int, processes: int
                    ) -> dict[str, float]:
    from domain.services.audit import verify_audit_trail
    from domain.services.tenancy import NewTenant, create_tenant
    from domain.tenancy import Principal, TenantMode
    from infra.archive_store import ObjectArchiveStore
    from infra.archiver import Archiver

    slug = f"bench-{int(time.time() * 1000) % 10**9}"
    tenant, _ = await create_tenant(db, Principal(None, None, frozenset(), is_operator=True),  # type: ignore[arg-type]
                                    NewTenant(slug, "Bench", "Asia/Shanghai", "CN", TenantMode.LIVE))
    t = time.perf_counter()
    await seed(db, tenant.id, n)
    async with db.pool.acquire() as conn:  # type: ignore[attr-defined]
        # planner statistics, as a live database has them
        await conn.execute("ANALYZE cases, notices, listings, measures, decisions, parties", timeout=300)
    seeded = time.perf_counter() - t

    store_dir = root / f"{slug}-store"
    store = ObjectArchiveStore(f"file://{store_dir}")
    if processes > 1:
        # Several archive processes on one tenant (as several scheduler processes would run): SKIP LOCKED
        # gives each its own cases. CPU: the children's, and every backend of this database.
        ctx = multiprocessing.get_context("spawn")
        counts, go = ctx.Queue(), ctx.Event()
        procs = [ctx.Process(target=_archive_process, args=(str(tenant.id), f"file://{store_dir}", batch,
                                                            concurrency, counts, go)) for _ in range(processes)]
        for proc in procs:
            proc.start()
        for _ in procs:  # imported and connected: the clock starts when all are ready
            assert await asyncio.to_thread(counts.get) == "ready"
        done = asyncio.Event()
        sampler = asyncio.create_task(sample_backend_cpu(db, done))
        children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        go.set()
        archived = 0
        for _ in procs:
            archived += await asyncio.to_thread(counts.get)  # the children time their own pass
        archive_s = time.perf_counter() - t
        for proc in procs:
            proc.join()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = children.ru_utime + children.ru_stime - children0.ru_utime - children0.ru_stime
        done.set()
        db_cpu_s = await sampler
        assert archived == n, archived
    else:
        archiver = Archiver(db, store, batch_size=batch, concurrency=concurrency)  # type: ignore[arg-type]
        backends = await backend_pids(db)
        cpu0, db_cpu0 = time.process_time(), backend_cpu(backends)
        t = time.perf_counter()
        result = await archiver.run_once([tenant.id])
        archive_s = time.perf_counter() - t
        cpu_s, db_cpu_s = time.process_time() - cpu0, backend_cpu(backends) - db_cpu0
        assert result.archived == n, result
        assert result.written == n, result

    # Baseline: the same bytes, plain file writes (exclusive create, same key layout).
    files = sorted(p for p in store_dir.rglob("*.json"))
    payloads = [(p.relative_to(store_dir), p.read_bytes()) for p in files]
    plain_dir = root / f"{slug}-plain"
    plain_s = plain_writes(plain_dir, payloads)

    t = time.perf_counter()
    report = await verify_audit_trail(partial(db.uow, tenant.id), store, page_size=5000)  # type: ignore[attr-defined]
    verify_s = time.perf_counter() - t
    assert report.ok, report
    assert report.bundles_checked == n, report
    shutil.rmtree(store_dir, ignore_errors=True)
    shutil.rmtree(plain_dir, ignore_errors=True)
    size = sum(len(d) for _, d in payloads) / n
    return {"seed_s": seeded, "archive_cps": n / archive_s, "plain_cps": n / plain_s, "bytes": size,
            "verify_s": verify_s, "decisions": report.head_seq, "py_ms": cpu_s * 1000 / n * 1000,
            "db_ms": db_cpu_s * 1000 / n * 1000}


async def run(n: int, rounds: int, batch: int, concurrency: int, processes: int) -> None:
    from infra.db import Database, create_pool
    from infra.process import tune_gc
    from infra.settings import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    db = Database(await create_pool(settings, min_size=2, max_size=2 + concurrency), settings)
    tune_gc()  # as `noticehub scheduler` and `noticehub archive` do
    root = Path(tempfile.mkdtemp(prefix="nh-archive-bench-"))
    try:
        results = []
        for i in range(rounds):
            r = await one_round(db, n, batch, root, concurrency, processes)
            results.append(r)
            print(f"round {i + 1}: seeded {n} closed cases in {r['seed_s']:.1f}s; archive {r['archive_cps']:.0f}"
                  f" cases/s; plain writes {r['plain_cps']:.0f} bundles/s; mean bundle {r['bytes']:.0f} B;"
                  f" verify {r['decisions']:.0f} decisions + {n} bundles in {r['verify_s']:.2f}s;"
                  f" CPU per 1,000 cases: python {r['py_ms']:.0f} ms, postgres {r['db_ms']:.0f} ms")
        a = statistics.median(r["archive_cps"] for r in results)
        p = statistics.median(r["plain_cps"] for r in results)
        v = statistics.median(r["verify_s"] for r in results)
        print(f"archive pass (median)     : {a:8.0f} cases/s   (target >= 2,000)")
        print(f"plain file writes (median): {p:8.0f} bundles/s (same bytes, same run)")
        print(f"ratio archive / plain     : {a / p:8.2%}")
        print(f"verify (median)           : {v:8.2f} s for {n} bundles and their chain")
    finally:
        await db.pool.close()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=2, help="archive transactions at a time")
    parser.add_argument("--processes", type=int, default=1, help="archive processes on the tenant at once")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop",
                        help="event loop (`noticehub scheduler` and `noticehub archive` run on uvloop)")
    args = parser.parse_args()
    stack = Stack()
    try:
        if args.loop == "uvloop":
            import uvloop

            uvloop.run(run(args.cases, args.rounds, args.batch, args.concurrency, args.processes))
        else:
            asyncio.run(run(args.cases, args.rounds, args.batch, args.concurrency, args.processes))
    finally:
        stack.close()


if __name__ == "__main__":
    main()
