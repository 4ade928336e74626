"""Issue 4 figure: outbox relay, p99 under 500 ms from commit to the actor starting, at 200 events/s.

    .venv/bin/python bench/outbox_relay_latency.py [--rate 200] [--seconds 30] [--baseline-seconds 30]
        [--rounds 1] [--arrivals steady|poisson] [--processes 1] [--threads 4] [--capacity 3000] [--dump FILE]

All real, on a fresh migrated database (bench/_stack.py) and a broker namespace of its own:
- relay: `python -m infra.cli scheduler`, the process `noticehub scheduler` / `noticehub dev` runs (outbox
  relay woken by LISTEN/NOTIFY, deadline scheduler, archiver);
- worker: `python -m dramatiq workers.actors bench._outbox_probe --processes 1 --threads 4`, the command of
  `noticehub worker` (infra/cli.py `_worker_command`) plus the probe module, which dramatiq imports in the
  worker process: it registers a handler for the benchmark's topic with `workers.handlers.register` and
  appends a middleware that timestamps `before_process_message` (see bench/_outbox_probe.py);
- producer (this process, uvloop): each event is its own transaction through `Database.uow` on a tenant made
  by `domain.services.tenancy.create_tenant`, `uow.outbox.add(topic, payload)`; the commit time is
  `time.time()` right after the `async with` block (COMMIT returned), keyed by the outbox id, which is the
  Dramatiq message id and the actor's `event_id`. Events are scheduled open-loop at `--rate` (evenly spaced,
  or Poisson with `--arrivals poisson`), up to 8 transactions in flight.

Measured, per event, on the one machine's wall clock:
- commit → actor start: until the worker thread calls `dispatch_event` (the probe middleware, last
  before-hook): relay wake-up, claim, enqueue, broker, worker pick-up;
- commit → handler: until `dispatch_event` reaches the handlers (after it took a pooled connection, entered
  the tenant and claimed the message in `processed_messages`);
- the relay's side from the outbox row: `dispatched_at` is `now()` of the relay's claiming transaction.
Baseline in the same run (before each outbox phase): the same messages (`infra.broker.events_message`, the
relay's builder) enqueued directly by this process with `broker.enqueue` at the same rate, enqueue returned
→ actor start: the broker and worker share of the latency, with no outbox, NOTIFY or relay.

Also printed per phase: the depth of the broker's `events` list in Redis (sampled every 5 ms: messages enqueued
and not yet fetched by the worker), CPU per event of each process involved (psutil) and the load average; at
the end, a breakdown of the outbox path from the outbox rows' timestamps and the probe's, and the worker's drain
rate for `--capacity` messages enqueued at once (its headroom over `--rate`). `--dump FILE` keeps every
timestamp as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import orjson
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import ROOT, Stack, stop

TARGET_P99_MS = 500.0
PROBE_MODULE = "bench._outbox_probe"
IN_FLIGHT = 8


@dataclass
class Phase:
    name: str
    sent: dict[str, float] = field(default_factory=dict)  # event id -> commit (or enqueue) returned, epoch s
    first_start: float = 0.0  # epoch s of the first scheduled send
    last_sent: float = 0.0


class ProbeLog:
    """Reads the worker probe's file incrementally: per event id, the first actor start, handler and actor
    return times, and the message's build time; later actor starts of the same id count as duplicates."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.actor: dict[str, float] = {}
        self.handler: dict[str, float] = {}
        self.done: dict[str, float] = {}
        self.built: dict[str, float] = {}  # the message's own timestamp (ms resolution): when it was built
        self.duplicates = 0

    def poll(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # whole lines only
        self.offset += end
        for line in data[:end].decode().splitlines():
            kind, event_id, ts, *built = line.split()
            table = {"actor": self.actor, "handler": self.handler, "done": self.done}[kind]
            if event_id in table:
                self.duplicates += kind == "actor"
            else:
                table[event_id] = float(ts)
                if built:
                    self.built[event_id] = float(built[0])

    def wait_for(self, ids: list[str], timeout_s: float, procs: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
        ends = time.monotonic() + timeout_s
        while time.monotonic() < ends:
            self.poll()
            if all(i in self.actor and i in self.handler for i in ids):
                return
            check_alive(procs)
            time.sleep(0.05)


class QueueDepth:
    """Samples the length of the broker's `events` list in Redis every 5 ms from a thread (Redis broker only):
    messages enqueued and not yet fetched by the worker's consumer."""

    def __init__(self, redis_url: str | None, namespace: str) -> None:
        self.samples: list[tuple[float, int]] = []
        self.key = f"{namespace}:events"
        self.redis_url = redis_url
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True) if redis_url else None
        if self.thread:
            self.thread.start()

    def _run(self) -> None:
        import redis

        client = redis.Redis.from_url(self.redis_url or "")
        while self.running:
            self.samples.append((time.time(), int(client.llen(self.key))))
            time.sleep(0.005)

    def stop(self) -> None:
        self.running = False
        if self.thread:
            self.thread.join(2)

    def describe(self, start: float, end: float) -> str:
        depths = sorted(d for t, d in self.samples if start <= t <= end)
        if not depths:
            return "not sampled (no Redis broker)"
        waiting = sum(1 for d in depths if d > 0) / len(depths)
        return (f"{len(depths):,} samples: non-empty {waiting:.1%} of the time, depth p50 {pct(depths, 50)}"
                f" p99 {pct(depths, 99)} max {depths[-1]}")


class Cpu:
    """CPU seconds (user + system) of the processes involved, by role, from psutil: the worker (dramatiq's
    parent and worker processes), the relay (`scheduler`), this producer, the PostgreSQL backends of the
    benchmark's database, and redis-server (shared with anything else using it)."""

    def __init__(self, db_name: str, procs: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
        self.db_name = db_name
        self.procs = procs

    def snapshot(self) -> dict[str, dict[int, float]]:
        import psutil

        roles: dict[str, list[psutil.Process]] = {"producer": [psutil.Process()], "postgres": [], "redis": []}
        for name, proc in self.procs:
            with contextlib.suppress(psutil.Error):
                parent = psutil.Process(proc.pid)
                roles[name] = [parent, *parent.children(recursive=True)]
        for p in psutil.process_iter(["name", "cmdline"]):
            cmd = " ".join(p.info["cmdline"] or [])
            if p.info["name"] == "postgres" and f" {self.db_name} " in cmd:
                roles["postgres"].append(p)
            elif (p.info["name"] or "").startswith("redis-server"):
                roles["redis"].append(p)
        out: dict[str, dict[int, float]] = {}
        for role, ps in roles.items():
            out[role] = {}
            for p in ps:
                with contextlib.suppress(psutil.Error):
                    t = p.cpu_times()
                    out[role][p.pid] = t.user + t.system
        return out

    @staticmethod
    def describe(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]], events: int,
                 seconds: float) -> str:
        used = {role: sum(cpu - before.get(role, {}).get(pid, 0.0) for pid, cpu in pids.items())
                for role, pids in after.items()}
        total = sum(used.values())
        parts = ", ".join(f"{role} {cpu / events * 1000:.2f}" for role, cpu in used.items())
        return (f"CPU ms per event: {parts}; total {total / events * 1000:.2f} ms"
                f" = {total / seconds / (os.cpu_count() or 1):.0%} of {os.cpu_count()} cores")


def check_alive(procs: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    for name, proc in procs:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}")


def offsets(n: int, rate: float, arrivals: str, rng: random.Random) -> list[float]:
    """Send times (s from the phase start): evenly spaced, or a Poisson process of the same mean rate."""
    if arrivals == "steady":
        return [i / rate for i in range(n)]
    t, out = 0.0, []
    for _ in range(n):
        out.append(t)
        t += rng.expovariate(rate)
    return out


async def create_bench_tenant() -> UUID:
    from bench._seed import new_tenant
    from infra.db import Database, create_pool
    from infra.settings import get_settings

    settings = get_settings()
    db = Database(await create_pool(settings, min_size=1, max_size=2), settings)
    try:
        tenant, _ = await new_tenant(db)
        return tenant.id
    finally:
        await db.pool.close()


async def produce_outbox(tenant_id: UUID, n: int, rate: float, arrivals: str, rng: random.Random) -> Phase:
    """Open loop: event i starts at its scheduled time (up to IN_FLIGHT transactions at once)."""
    from bench._outbox_probe import TOPIC
    from infra.db import Database, create_pool
    from infra.settings import get_settings

    settings = get_settings()
    db = Database(await create_pool(settings, min_size=IN_FLIGHT, max_size=IN_FLIGHT), settings)
    phase = Phase("outbox")
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(i: int) -> None:
        async with gate:
            async with db.uow(tenant_id) as uow:
                event_id = uow.outbox.add(TOPIC, {"seq": i})
            phase.sent[str(event_id)] = time.time()  # COMMIT has returned

    try:
        tasks = []
        start = time.monotonic() + 0.05
        phase.first_start = time.time() + 0.05
        for i, offset in enumerate(offsets(n, rate, arrivals, rng)):
            delay = start + offset - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        phase.last_sent = max(phase.sent.values())
        return phase
    finally:
        await db.pool.close()


def produce_direct(broker: Any, tenant_id: UUID, n: int, rate: float, arrivals: str, rng: random.Random) -> Phase:
    """The baseline: the relay's message for the same topic, enqueued by this process with no outbox."""
    from bench._outbox_probe import TOPIC
    from domain.ids import new_id
    from infra.broker import events_message

    phase = Phase("direct")
    start = time.monotonic() + 0.05
    phase.first_start = time.time() + 0.05
    for i, offset in enumerate(offsets(n, rate, arrivals, rng)):
        delay = start + offset - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        event_id = str(new_id())
        broker.enqueue(events_message(event_id, TOPIC, str(tenant_id), {"seq": i}, {}))
        phase.sent[event_id] = time.time()
    phase.last_sent = max(phase.sent.values())
    return phase


def latencies_ms(sent: dict[str, float], seen: dict[str, float]) -> list[float]:
    """Per event, in ms; an event never seen counts as infinitely late (so it shows in the tail)."""
    return sorted((seen[i] - t) * 1000 if i in seen else math.inf for i, t in sent.items())


def pct(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return math.nan
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


def summary(values: list[float]) -> str:
    return (f"p50 {pct(values, 50):7.1f}  p95 {pct(values, 95):7.1f}  p99 {pct(values, 99):7.1f}"
            f"  max {values[-1] if values else math.nan:7.1f} ms")


def merge(phases: list[Phase]) -> dict[str, float]:
    out: dict[str, float] = {}
    for p in phases:
        out.update(p.sent)
    return out


def report_phase(p: Phase, probe: ProbeLog, label: str, depth: QueueDepth, cpu: str) -> None:
    n = len(p.sent)
    received = sum(1 for i in p.sent if i in probe.actor)
    span = p.last_sent - p.first_start
    print(f"  {label}: sent {n:,} in {span:.2f} s = {n / span:,.1f}/s achieved; actor started for {received:,}"
          f" ({n - received} missing)")
    print(f"    → actor start   {summary(latencies_ms(p.sent, probe.actor))}")
    print(f"    → handler       {summary(latencies_ms(p.sent, probe.handler))}")
    print(f"    Redis `events` list: {depth.describe(p.first_start, p.last_sent)}")
    print(f"    {cpu}")
    print(f"    load average after the phase: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)


def gaps_ms(sent: dict[str, float], a: dict[str, float], b: dict[str, float]) -> list[float]:
    """b - a in ms for the events that have both."""
    return sorted((b[i] - a[i]) * 1000 for i in sent if i in a and i in b)


async def relay_breakdown(dsn: str, sent: dict[str, float], probe: ProbeLog) -> None:
    """Where the time goes: the outbox rows' timestamps (PostgreSQL's clock, the same machine) and the probe's."""
    from bench._outbox_probe import TOPIC

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT id::text AS id, extract(epoch FROM created_at)::float8 AS created,"
                                " extract(epoch FROM dispatched_at)::float8 AS dispatched FROM outbox"
                                " WHERE topic = $1", TOPIC)
    finally:
        await conn.close()
    rows = [r for r in rows if r["id"] in sent]
    created = {r["id"]: r["created"] for r in rows}
    claimed = {r["id"]: r["dispatched"] for r in rows if r["dispatched"] is not None}
    relay_txs = set(claimed.values())
    print(f"  breakdown over {len(rows):,} outbox rows, {len(relay_txs):,} relay transactions"
          f" ({len(rows) / max(1, len(relay_txs)):.2f} rows each):")
    print(f"    producer tx start → commit returned        {summary(gaps_ms(sent, created, sent))}")
    print(f"    commit → relay's claiming tx start (now())  {summary(gaps_ms(sent, sent, claimed))}")
    print(f"    relay's tx start → message built (ms res.)  {summary(gaps_ms(sent, claimed, probe.built))}")
    print(f"    message built → actor start                 {summary(gaps_ms(sent, probe.built, probe.actor))}")
    print(f"    actor start → handler                       {summary(gaps_ms(sent, probe.actor, probe.handler))}")
    print(f"    actor start → actor returned (committed)    {summary(gaps_ms(sent, probe.actor, probe.done))}")


def start(name: str, cmd: list[str], env: dict[str, str], logs: Path) -> tuple[str, subprocess.Popen[bytes]]:
    out = (logs / f"{name}.log").open("wb")
    return name, subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop_all(procs: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    for _, proc in procs:
        stop(proc, timeout_s=20)  # exactly one SIGTERM each


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=200.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each outbox phase")
    parser.add_argument("--baseline-seconds", type=float, default=30.0, help="length of each direct-enqueue phase")
    parser.add_argument("--rounds", type=int, default=1, help="baseline + outbox phase pairs")
    parser.add_argument("--arrivals", choices=["steady", "poisson"], default="steady")
    parser.add_argument("--processes", type=int, default=1, help="worker processes (noticehub worker's default: 1)")
    parser.add_argument("--threads", type=int, default=4, help="worker threads (noticehub worker's default: 4)")
    parser.add_argument("--capacity", type=int, default=3000,
                        help="after the rounds: enqueue this many messages at once and time the worker's drain")
    parser.add_argument("--dump", type=Path, help="write every timestamp (JSON) to this file for analysis")
    parser.add_argument("--drain-timeout", type=float, default=30.0, help="wait for stragglers after a phase (s)")
    args = parser.parse_args()

    stack = Stack()
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    broker: Any = None
    depth: QueueDepth | None = None
    logs = stack.tmp / "logs"
    try:
        logs.mkdir()
        probe = ProbeLog(stack.tmp / "probe.log")
        os.environ.update(NOTICEHUB_BROKER_NAMESPACE=f"nhbench-{uuid.uuid4().hex[:8]}",
                          NOTICEHUB_DATA_DIR=str(stack.tmp / "data"), NOTICEHUB_LOG_LEVEL="WARNING")
        os.environ.pop("NOTICEHUB_METRICS_PORT", None)  # no scrape endpoints (ports) for the children
        env = dict(os.environ)
        from infra.cli import _worker_command, _worker_environment
        from infra.settings import get_settings

        get_settings.cache_clear()
        worker_cmd = _worker_command(args.processes, args.threads)
        worker_cmd.insert(worker_cmd.index("workers.actors") + 1, PROBE_MODULE)
        depth = QueueDepth(None if env.get("AMQP_URL") else env.get("REDIS_URL"), env["NOTICEHUB_BROKER_NAMESPACE"])
        rng = random.Random(4)
        tenant_id = uvloop.run(create_bench_tenant())
        worker_env = dict(_worker_environment(dict(env, NOTICEHUB_BENCH_PROBE_FILE=str(probe.path))))
        procs.append(start("worker", worker_cmd, worker_env, logs))  # the environment `noticehub worker` sets
        procs.append(start("scheduler", [sys.executable, "-m", "infra.cli", "scheduler"], env, logs))
        from infra.broker import build_broker

        cpu = Cpu(stack.db_name, procs)
        broker = build_broker(get_settings())
        print(f"worker: {' '.join(worker_cmd[1:])}\nrelay:  python -m infra.cli scheduler"
              f"\nwarming up (worker and relay boot, pools, first messages) ...", flush=True)
        for _ in range(2):
            warm = produce_direct(broker, tenant_id, 50, 50.0, "steady", rng)
            probe.wait_for(list(warm.sent), 60, procs)
            warm = uvloop.run(produce_outbox(tenant_id, 50, 50.0, "steady", rng))
            probe.wait_for(list(warm.sent), 60, procs)
        if not all(i in probe.actor for i in warm.sent):
            raise RuntimeError("warm-up events did not reach the actor")

        directs: list[Phase] = []
        outboxes: list[Phase] = []
        for r in range(args.rounds):
            print(f"round {r + 1}: {args.rate:g} events/s ({args.arrivals}), direct {args.baseline_seconds:g} s,"
                  f" outbox {args.seconds:g} s", flush=True)
            c0, t0 = cpu.snapshot(), time.monotonic()
            d = produce_direct(broker, tenant_id, round(args.rate * args.baseline_seconds), args.rate,
                               args.arrivals, rng)
            probe.wait_for(list(d.sent), args.drain_timeout, procs)
            used = Cpu.describe(c0, cpu.snapshot(), len(d.sent), time.monotonic() - t0)
            report_phase(d, probe, "direct enqueue (baseline)", depth, used)
            c0, t0 = cpu.snapshot(), time.monotonic()
            o = uvloop.run(produce_outbox(tenant_id, round(args.rate * args.seconds), args.rate, args.arrivals, rng))
            probe.wait_for(list(o.sent), args.drain_timeout, procs)
            used = Cpu.describe(c0, cpu.snapshot(), len(o.sent), time.monotonic() - t0)
            report_phase(o, probe, "outbox → relay", depth, used)
            directs.append(d)
            outboxes.append(o)
        check_alive(procs)
        for name, _ in procs:
            noisy = [line for line in (logs / f"{name}.log").read_text(errors="replace").splitlines()
                     if any(w in line for w in ("Traceback", "ERROR", "WARNING", "CRITICAL"))]
            if noisy:
                print(f"{name} logged {len(noisy)} warning/error lines, e.g.: " + " | ".join(noisy[:3]))

        sent_o, sent_d = merge(outboxes), merge(directs)
        lat_o, lat_h = latencies_ms(sent_o, probe.actor), latencies_ms(sent_o, probe.handler)
        lat_d = latencies_ms(sent_d, probe.actor)
        rate_o = sum(len(p.sent) for p in outboxes) / sum(p.last_sent - p.first_start for p in outboxes)
        print(f"\nall rounds ({len(sent_o):,} outbox events, {len(sent_d):,} direct; duplicate deliveries seen:"
              f" {probe.duplicates}):")
        print(f"  outbox commit → actor start    {summary(lat_o)}   (achieved {rate_o:,.1f}/s)")
        print(f"  outbox commit → handler        {summary(lat_h)}")
        print(f"  direct enqueue → actor start   {summary(lat_d)}")
        print(f"  direct actor start → returned  {summary(gaps_ms(sent_d, probe.actor, probe.done))}")
        uvloop.run(relay_breakdown(stack.database_url, sent_o, probe))
        if args.capacity:
            burst = produce_direct(broker, tenant_id, args.capacity, 1e9, "steady", rng)
            probe.wait_for(list(burst.sent), max(args.drain_timeout, args.capacity / 50), procs)
            starts = sorted(probe.actor[i] for i in burst.sent if i in probe.actor)
            drain = (len(starts) - 1) / (starts[-1] - starts[0])
            print(f"  worker drain capacity: {len(starts):,} messages enqueued at once, actors started at"
                  f" {drain:,.0f}/s ({drain / args.rate:.2f}x the tested rate)")
        if args.dump:
            args.dump.write_bytes(orjson.dumps({
                "outbox": [p.sent for p in outboxes], "direct": [p.sent for p in directs], "actor": probe.actor,
                "handler": probe.handler, "done": probe.done, "built": probe.built, "depth": depth.samples}))
        print(f"  outbox over direct: p50 {pct(lat_o, 50) - pct(lat_d, 50):+.1f} ms"
              f" ({pct(lat_o, 50) / pct(lat_d, 50):.1f}x), p99 {pct(lat_o, 99) - pct(lat_d, 99):+.1f} ms"
              f" ({pct(lat_o, 99) / pct(lat_d, 99):.1f}x)")
        ok = "✅" if pct(lat_o, 99) < TARGET_P99_MS else "❌"
        print(f"\n| {datetime.now(UTC).date()} | {args.rate:g}/s {args.arrivals} ({rate_o:,.0f} achieved) |"
              f" {len(sent_o):,} | {pct(lat_o, 50):.1f} / {pct(lat_o, 95):.1f} / **{pct(lat_o, 99):.1f}** /"
              f" {lat_o[-1]:.1f} | {pct(lat_h, 99):.1f} | {pct(lat_d, 50):.1f} / {pct(lat_d, 99):.1f} |"
              f" < {TARGET_P99_MS:.0f} ms {ok} |")
    except BaseException:
        for name, _ in procs:
            text = (logs / f"{name}.log").read_text(errors="replace")
            print(f"--- {name} log (tail) ---\n{text[-3000:]}", file=sys.stderr)
        raise
    finally:
        if depth is not None:
            depth.stop()
        if broker is not None:
            broker.close()
        stop_all(procs)
        stack.close()


if __name__ == "__main__":
    main()
