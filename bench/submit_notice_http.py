"""Issue 3 figure: `submitNotice` (one listing) over HTTP vs a bare Starlette + asyncpg endpoint that inserts
the same notice, case and decision rows in one transaction (bench/bare_submit_app.py), both on uvicorn (one
process), measured in the same run with wrk on loopback, rounds interleaved.

Every request submits a distinct notice: the wrk Lua script gives each one a unique idempotencyKey and
reasonCode and cycles over the pre-seeded listings (a fresh key prefix per wrk run).

    .venv/bin/python bench/submit_notice_http.py [--seconds 5] [--rounds 3] [--connections 16] [--no-key]

Target: GraphQL >= 40 % of bare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._seed import analyze_url
from bench._stack import Stack, free_port, require_wrk, start_uvicorn, stop

MUTATION = """mutation($input: SubmitNoticeInput!) { submitNotice(input: $input) { __typename
  ... on SubmitNoticeSuccess { notice { id } cases { id state } } ... on Error { code message } } }"""
LISTINGS = 2000
KEY_MARK, SKU_MARK = "@@KEY@@", "@@SKU@@"


async def seed() -> tuple[str, dict[str, object]]:
    from bench._seed import notice_variables, open_db, seed_tenant

    db = await open_db()
    try:
        s = await seed_tenant(db, listings=LISTINGS)
    finally:
        await db.pool.close()
    return s.key, notice_variables(s, SKU_MARK, KEY_MARK, KEY_MARK)


def lua_script(directory: Path, key: str, variables: dict[str, object], *, with_key: bool) -> Path:
    """A fresh script per wrk run: a distinct prefix, so notices never repeat across runs."""
    item = dict(variables)
    if not with_key:
        item.pop("idempotencyKey")
    body = json.dumps({"query": MUTATION, "variables": {"input": item}}, separators=(",", ":"))
    prefix = uuid.uuid4().hex[:12]
    script = directory / f"submit-{prefix}.lua"
    script.write_text(
        f'wrk.method = "POST"\n'
        f'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {key}"\n'
        f"local template = [==[{body}]==]\n"
        f'local prefix = "{prefix}-"\n'
        "local n = 0\n"
        "request = function()\n"
        "  n = n + 1\n"
        f'  local body = template:gsub("{KEY_MARK}", prefix .. n):gsub("{SKU_MARK}", "sku-" .. (n % {LISTINGS}))\n'
        "  return wrk.format(nil, nil, nil, body)\n"
        "end\n"
        "local bad = 0\n"
        "response = function(status, headers, body)\n"
        '  if status ~= 200 or not string.find(body, "SubmitNoticeSuccess", 1, true) then\n'
        "    bad = bad + 1\n"
        '    if bad <= 3 then io.stderr:write("bad response: " .. status .. " " .. body .. "\\n") end\n'
        "  end\n"
        "end\n"
    )
    return script


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """User + system CPU of every PostgreSQL server process on this machine (backends, WAL writer, ...)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        if name.startswith("postgres") or name.startswith("postmaster"):
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run_wrk(url: str, script: Path, *, seconds: int, connections: int) -> float:
    """Requests/s from wrk (bounded, loopback); any non-success answer fails the run."""
    out = subprocess.run([require_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
                         capture_output=True, text=True, check=True, timeout=seconds + 60)
    if "bad response" in out.stderr or "Non-2xx" in out.stdout or "Socket errors" in out.stdout:
        raise RuntimeError(f"wrk saw errors:\n{out.stdout}\n{out.stderr[:2000]}")
    for line in out.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--no-key", action="store_true", help="submit without an idempotencyKey")
    args = parser.parse_args()
    stack = Stack()
    try:
        key, variables = asyncio.run(seed())
        scripts = Path(tempfile.mkdtemp())

        cpu_ms: dict[int, list[float]] = {}
        pg_ms: dict[int, list[float]] = {}

        def run(port: int, seconds: int, pid: int) -> float:
            script = lua_script(scripts, key, variables, with_key=not args.no_key)
            before, pg_before = cpu_seconds(pid), postgres_cpu_seconds()
            rps = run_wrk(f"http://127.0.0.1:{port}/graphql", script, seconds=seconds, connections=args.connections)
            cpu_ms.setdefault(port, []).append((cpu_seconds(pid) - before) * 1000 / (rps * seconds))
            pg_ms.setdefault(port, []).append((postgres_cpu_seconds() - pg_before) * 1000 / (rps * seconds))
            return rps

        gql_port, bare_port = free_port(), free_port()
        gql = start_uvicorn("api.app:app_factory", gql_port, factory=True)
        bare = start_uvicorn("bench.bare_submit_app:app", bare_port)
        try:
            for port, proc in ((gql_port, gql), (bare_port, bare)):  # warm up caches and connections
                run(port, 2, proc.pid)
            asyncio.run(analyze_url(stack.database_url))  # statistics now that the tables have rows
            gql_rps, bare_rps = [], []
            for _ in range(args.rounds):
                bare_rps.append(run(bare_port, args.seconds, bare.pid))
                gql_rps.append(run(gql_port, args.seconds, gql.pid))
        finally:
            stop(gql)
            stop(bare)
        count = asyncio.run(_count_notices(stack.database_url))
        g, b = statistics.median(gql_rps), statistics.median(bare_rps)
        keyed = "without idempotencyKey" if args.no_key else "unique idempotencyKey per request"
        print(f"wrk -t1 -c{args.connections} -d{args.seconds}s, {args.rounds} interleaved rounds, {keyed}")
        print(f"bare Starlette + asyncpg   : {b:8.0f} req/s  (rounds: {', '.join(f'{x:.0f}' for x in bare_rps)})")
        print(f"GraphQL submitNotice       : {g:8.0f} req/s  (rounds: {', '.join(f'{x:.0f}' for x in gql_rps)})")
        print(f"ratio GraphQL / bare       : {g / b:8.2%}  (target >= 40%)")
        print(f"server CPU per request     : bare {statistics.median(cpu_ms[bare_port][1:]):.2f} ms,"
              f" GraphQL {statistics.median(cpu_ms[gql_port][1:]):.2f} ms (uvicorn process, user+system)")
        print(f"PostgreSQL CPU/request     : bare {statistics.median(pg_ms[bare_port][1:]):.2f} ms,"
              f" GraphQL {statistics.median(pg_ms[gql_port][1:]):.2f} ms (all postgres processes)")
        for name, port in (("bare", bare_port), ("GraphQL", gql_port)):
            print(f"  {name:8s} per round: uvicorn " + " ".join(f"{x:.2f}" for x in cpu_ms[port][1:])
                  + " | postgres " + " ".join(f"{x:.2f}" for x in pg_ms[port][1:]) + " ms/request")
        print(f"notices stored             : {count:8d}  (distinct notices, all through both endpoints)")
    finally:
        stack.close()


async def _count_notices(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        total, distinct = await conn.fetchrow("SELECT count(*), count(DISTINCT reason_code) FROM notices")
        assert total == distinct, (total, distinct)
        return int(total)
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
