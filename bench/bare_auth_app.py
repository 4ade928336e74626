"""Baseline for bench/http_query.py: bare Starlette + the same API-key lookup, JSON out, no GraphQL."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import authenticate
from domain.errors import DomainError
from infra.db import create_pool
from infra.settings import get_settings
from infra.telemetry import configure_tracing


async def endpoint(request: Request) -> Response:
    await request.body()
    try:
        principal = await authenticate(request.app.state.pool, request.headers.get("authorization"), None)
    except DomainError as exc:
        return Response(orjson.dumps({"errors": [{"message": exc.message}]}), 401, media_type="application/json")
    body = {"data": {"viewer": {"isOperator": principal.is_operator, "roles": sorted(r.name for r in principal.roles)}}}
    return Response(orjson.dumps(body), media_type="application/json")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    # Same process set-up as the API (tracer provider, instrumented asyncpg): the same key lookup.
    configure_tracing("bench-bare")
    app.state.pool = await create_pool(get_settings())
    yield
    await app.state.pool.close()


app = Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])], lifespan=lifespan)
