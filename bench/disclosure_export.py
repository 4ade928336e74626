"""Issue 6 figure: the public JSON-lines export of 1,000,000 disclosures through the real route over HTTP
(rows/s and the server's memory), against in-process baselines measured in the same run.

A fresh, migrated database (bench/_stack.py) is seeded in SQL (bench/_disclosures.py: 10 tenants x 1,000,000
published records by default, rows of all tenants interleaved in the heap as in production). The API runs
under uvicorn (one process, uvloop + httptools) on a free 127.0.0.1 port; an httpx streaming client reads
`/p/{tenant}/export.jsonl`, counts bytes and lines and checks the trailing checksum line, while a thread
samples the server's RSS with psutil every 50 ms. Baselines, in the bench process through a pool from
infra.db, in a tenant transaction as the app role: asyncpg `copy_from_query` of the export's SELECT to a
sink that counts bytes (the database's own rate for that query, as a plain query is planned), and a loop
over `DisclosureRepo.export_batches` (the route's reads, decoding only: no encoding, no HTTP). Rounds
interleave the three. The database is dropped at the end.

    .venv/bin/python bench/disclosure_export.py [--tenants 10] [--rows 1000000] [--rounds 3]
    .venv/bin/python bench/disclosure_export.py --profile /tmp/export.txt  # + one export under pyinstrument
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._disclosures import seed_timed
from bench._stack import Stack, free_port, start_uvicorn, stop

SINCE, UNTIL = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)  # the route's open range


class RssSampler(threading.Thread):
    def __init__(self, pid: int, every: float = 0.05) -> None:
        import psutil

        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.every = every
        self.samples: list[tuple[float, int]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.samples.append((time.perf_counter(), self.proc.memory_info().rss))
            time.sleep(self.every)

    def stop(self) -> None:
        self.done.set()
        self.join()


async def http_export(port: int, slug: str, pid: int) -> dict[str, Any]:
    import httpx

    sampler = RssSampler(pid)
    rss_before = sampler.proc.memory_info().rss
    sampler.start()
    digest, size, lines, tail = hashlib.sha256(), 0, 0, b""
    progress: list[tuple[float, int]] = []
    t0 = time.perf_counter()
    first_byte = None
    async with httpx.AsyncClient(timeout=600) as client, \
            client.stream("GET", f"http://127.0.0.1:{port}/p/{slug}/export.jsonl") as response:
        assert response.status_code == 200, response.status_code
        async for chunk in response.aiter_raw():
            if first_byte is None:
                first_byte = time.perf_counter() - t0
            size += len(chunk)
            lines += chunk.count(b"\n")
            # Hash everything but the trailer: keep the unterminated tail and the last full line back.
            data = tail + chunk
            cut = data.rfind(b"\n", 0, len(data) - 1)
            if cut >= 0:
                digest.update(data[:cut + 1])
                tail = data[cut + 1:]
            else:
                tail = data
            progress.append((time.perf_counter(), lines))
    elapsed = time.perf_counter() - t0
    sampler.stop()
    trailer = orjson.loads(tail)["_checksum"]
    rows = lines - 1
    assert trailer["rows"] == rows, (trailer, rows)
    assert trailer["sha256"] == digest.hexdigest(), "checksum line does not match the bytes before it"
    # RSS when 10 %, 50 % and 90 % of the rows had arrived: flat memory means these stay close.
    marks = {}
    for frac in (0.1, 0.5, 0.9):
        at = next(t for t, n in progress if n >= frac * rows)
        marks[frac] = min(sampler.samples, key=lambda s: abs(s[0] - at))[1]
    return {"rows": rows, "bytes": size, "s": elapsed, "ttfb": first_byte or 0.0, "rss_before": rss_before,
            "rss_peak": max(r for _, r in sampler.samples), "rss_marks": marks}


async def baselines(tenant_id: UUID) -> dict[str, dict[str, float]]:
    from infra.db import Database, create_pool
    from infra.disclosure_repositories import EXPORT_COLUMNS, DisclosureRepo
    from infra.settings import get_settings
    from infra.write_batch import WriteBatch

    settings = get_settings()
    db = Database(await create_pool(settings, min_size=1, max_size=2), settings)
    sql = (f"SELECT {', '.join(EXPORT_COLUMNS)} FROM disclosures WHERE status = 'published' AND published_at >= $1"
           " AND published_at < $2 ORDER BY published_at, id")
    out: dict[str, dict[str, float]] = {}
    try:
        size = 0

        async def sink(data: bytes) -> None:
            nonlocal size
            size += len(data)

        async with db.tenant_tx(tenant_id) as conn:  # role noticehub_app, app.tenant_id set
            t0 = time.perf_counter()
            status = await conn.copy_from_query(sql, SINCE, UNTIL, output=sink)
            out["copy"] = {"rows": int(status.split()[-1]), "s": time.perf_counter() - t0, "bytes": size}
        async with db.tenant_tx(tenant_id) as conn:
            n, t0 = 0, time.perf_counter()
            async for rows in DisclosureRepo(conn, tenant_id, WriteBatch()).export_batches(SINCE, UNTIL):
                n += len(rows)
            out["cursor"] = {"rows": n, "s": time.perf_counter() - t0}
    finally:
        await db.pool.close()
    return out


async def export_plan(tenant_id: UUID) -> str:
    """The plans of the export query: as the route DECLAREs it, and as COPY (a plain query) plans it."""
    from infra.db import Database, create_pool
    from infra.disclosure_repositories import EXPORT_COLUMNS
    from infra.settings import get_settings

    settings = get_settings()
    db = Database(await create_pool(settings, min_size=1, max_size=1), settings)
    sql = (f"SELECT {', '.join(EXPORT_COLUMNS)} FROM disclosures WHERE status = 'published' AND published_at >= $1"
           " AND published_at < $2 ORDER BY published_at, id")
    try:
        async with db.tenant_tx(tenant_id) as conn:
            declared = await conn.fetch("EXPLAIN DECLARE c NO SCROLL CURSOR FOR " + sql, SINCE, UNTIL)
            plain = await conn.fetch("EXPLAIN " + sql, SINCE, UNTIL)
    finally:
        await db.pool.close()
    return ("-- DECLARE ... CURSOR FOR <export SELECT> (the route)\n" + "\n".join(r[0] for r in declared)
            + "\n\n-- <export SELECT> as a plain query (COPY baseline)\n" + "\n".join(r[0] for r in plain))


def start_profiled(port: int, report: Path) -> subprocess.Popen[bytes]:
    return start_uvicorn("api.app:app_factory", port, factory=True, wait_s=20,
                         runner=["-m", "pyinstrument", "-r", "text", "-o", str(report)])


def mib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--rows", type=int, default=1_000_000, help="published disclosures per tenant")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2, help="seeding connections")
    parser.add_argument("--profile", type=Path, help="after the rounds, one more export with the server under"
                        " pyinstrument; its text report goes to this file")
    args = parser.parse_args()
    stack = Stack()
    try:
        tenants = seed_timed(stack.database_url, stack.db_name, tenants=args.tenants, rows=args.rows, jobs=args.jobs)
        tenant_id, slug = tenants[len(tenants) // 2]
        print(asyncio.run(export_plan(tenant_id)))
        port = free_port()
        server = start_uvicorn("api.app:app_factory", port, factory=True)
        results: dict[str, list[dict[str, Any]]] = {"http": [], "copy": [], "cursor": []}
        try:
            for r in range(args.rounds):
                first_http = r % 2 == 1  # alternate which side goes first
                if first_http:
                    results["http"].append(asyncio.run(http_export(port, slug, server.pid)))
                base = asyncio.run(baselines(tenant_id))
                results["copy"].append(base["copy"])
                results["cursor"].append(base["cursor"])
                if not first_http:
                    results["http"].append(asyncio.run(http_export(port, slug, server.pid)))
                h = results["http"][-1]
                print(f"  round {r + 1}: http {h['rows'] / h['s']:,.0f} rows/s ({h['s']:.1f} s, {mib(h['bytes'])},"
                      f" RSS {mib(h['rss_before'])} -> peak {mib(h['rss_peak'])};"
                      f" at 10/50/90 % {', '.join(mib(v) for v in h['rss_marks'].values())}),"
                      f" copy {base['copy']['rows'] / base['copy']['s']:,.0f} rows/s,"
                      f" cursor {base['cursor']['rows'] / base['cursor']['s']:,.0f} rows/s")
        finally:
            stop(server)
        if args.profile:
            port = free_port()
            server = start_profiled(port, args.profile)
            try:
                p = asyncio.run(http_export(port, slug, server.pid))
                print(f"profiled export: {p['rows']:,} rows in {p['s']:.1f} s ({p['rows'] / p['s']:,.0f} rows/s);"
                      f" pyinstrument report in {args.profile}")
            finally:
                stop(server, signal.SIGINT, timeout_s=120)  # pyinstrument writes its report on SIGINT
        rate = {k: statistics.median(x["rows"] / x["s"] for x in v) for k, v in results.items()}
        hs = results["http"]
        print(f"\n{args.rounds} interleaved rounds; tenant {slug}: {hs[0]['rows']:,} rows,"
              f" {mib(hs[0]['bytes'])} of JSON lines; checksum line verified each time")
        print("| path | median rows/s | ratio to COPY |\n|---|---|---|")
        labels = {"copy": "baseline: COPY of the same SELECT (in-process sink)",
                  "cursor": "baseline: DisclosureRepo.export_batches loop, decode only (in-process)",
                  "http": "GET /p/{tenant}/export.jsonl over HTTP (uvicorn, httpx streaming)"}
        for k in ("copy", "cursor", "http"):
            print(f"| {labels[k]} | {rate[k]:,.0f} | {rate[k] / rate['copy']:.0%} |")
        print(f"HTTP time to first byte: median {statistics.median(x['ttfb'] for x in hs) * 1000:.0f} ms;"
              f" server RSS before {', '.join(mib(x['rss_before']) for x in hs)};"
              f" peak {', '.join(mib(x['rss_peak']) for x in hs)}")
    finally:
        stack.close()


if __name__ == "__main__":
    main()
