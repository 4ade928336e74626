"""Issue 2 figure: a trivial authenticated GraphQL query over HTTP vs a bare Starlette endpoint doing the
same API-key lookup, both on uvicorn (one process), measured in the same run with wrk, rounds interleaved.

    .venv/bin/python bench/http_query.py [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import Stack, free_port, start_uvicorn, stop, wrk

QUERY = "{ viewer { isOperator roles } }"


async def issue_key() -> str:
    from domain.services.tenancy import NewTenant, create_api_key, create_tenant
    from domain.tenancy import Principal, Role, TenantMode
    from infra.db import Database, create_pool
    from infra.settings import get_settings

    settings = get_settings()
    db = Database(await create_pool(settings, min_size=1, max_size=2), settings)
    try:
        tenant, admin = await create_tenant(db, Principal(None, None, frozenset(), is_operator=True),
                                            NewTenant("bench", "Bench", "Asia/Shanghai", "CN", TenantMode.LIVE))
        async with db.uow(tenant.id) as uow:
            issued = await create_api_key(uow, Principal(tenant.id, admin.key.id, frozenset({Role.ADMIN})),
                                          "bench", (Role.INTEGRATION,))
        return issued.secret
    finally:
        await db.pool.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stack = Stack()
    try:
        key = asyncio.run(issue_key())
        script = Path(tempfile.mkdtemp()) / "post.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            f"wrk.body = {json.dumps(json.dumps({'query': QUERY}))}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Authorization"] = "Bearer {key}"\n'
        )
        gql_port, bare_port = free_port(), free_port()
        gql = start_uvicorn("api.app:app_factory", gql_port, factory=True)
        bare = start_uvicorn("bench.bare_auth_app:app", bare_port)
        try:
            for port in (gql_port, bare_port):  # warm up caches and connections
                wrk(f"http://127.0.0.1:{port}/graphql", script, seconds=1)
            gql_rps, bare_rps = [], []
            for _ in range(args.rounds):
                bare_rps.append(wrk(f"http://127.0.0.1:{bare_port}/graphql", script, seconds=args.seconds))
                gql_rps.append(wrk(f"http://127.0.0.1:{gql_port}/graphql", script, seconds=args.seconds))
        finally:
            stop(gql)
            stop(bare)
        g, b = statistics.median(gql_rps), statistics.median(bare_rps)
        print(f"bare Starlette + key lookup : {b:8.0f} req/s  (rounds: {', '.join(f'{x:.0f}' for x in bare_rps)})")
        print(f"GraphQL {QUERY!r}: {g:8.0f} req/s  (rounds: {', '.join(f'{x:.0f}' for x in gql_rps)})")
        pairs = [gr / br for gr, br in zip(gql_rps, bare_rps, strict=True)]
        print(f"ratio of medians            : {g / b:8.2%}  (target >= 50%, aim 70%)")
        print(f"median of per-round ratios  : {statistics.median(pairs):8.2%}  "
              f"(rounds: {', '.join(f'{x:.0%}' for x in pairs)})")
    finally:
        stack.close()


if __name__ == "__main__":
    main()
