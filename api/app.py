"""The Starlette application: /graphql (authenticated), /healthz, /readyz."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL

from api.auth import authenticate
from api.context import Context
from api.public import PublicRateLimit
from api.public import routes as public_routes
from api.schema import executor, schema
from api.tracing import TracingMiddleware
from api.transparency_http import transparency_csv
from domain.errors import DomainError, ErrorCode
from infra import broker as broker_mod
from infra.db import Database, create_pool
from infra.logs import configure_logging
from infra.metrics import configure_metrics, metrics_payload
from infra.process import tune_gc
from infra.settings import Settings, get_settings
from infra.telemetry import configure_tracing

log = logging.getLogger("noticehub.api")


def graphql_error_response(code: ErrorCode, message: str, status: int) -> Response:
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code.value}}]}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


class NoticehubGraphQL(GraphQL[Context, None]):
    def __init__(self, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.is_development else None,
            allow_queries_via_get=False,
            multipart_uploads_enabled=False,
        )
        self.settings = settings

    async def get_context(self, request: Any, response: Any) -> Context:
        raise HTTPException(405, "Send GraphQL operations as POST with an API key.")

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


class GraphQLEndpoint:
    """POST /graphql: authenticate before anything is parsed, then execute with orjson in and out.

    Strawberry's generic HTTP view (kept for GET: GraphiQL in development) costs more per request
    than executing the operation; this path does only what a JSON POST needs.
    """

    def __init__(self, view: NoticehubGraphQL, settings: Settings) -> None:
        self.view = view
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method == "GET":  # the IDE page in development; operations only via POST
            await self.view(scope, receive, send)
            return
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        try:
            principal = await authenticate(
                request.app.state.db.pool, request.headers.get("authorization"), self.settings.operator_key
            )
        except DomainError as exc:
            return graphql_error_response(exc.code, exc.message, 401)
        try:
            body = orjson.loads(await request.body())
            query = body["query"]
            variables = body.get("variables") or None
            operation_name = body.get("operationName") or None
            if not isinstance(query, str) or not isinstance(variables, dict | None) or not isinstance(
                operation_name, str | None
            ):
                raise TypeError
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            return graphql_error_response(
                ErrorCode.INVALID_INPUT,
                'Send a JSON object: {"query": string, "variables"?: object, "operationName"?: string}.',
                400,
            )
        context = Context(request=request, response=None, principal=principal, db=request.app.state.db,
                          settings=self.settings)
        payload = await executor.run(query, context, variables, operation_name)
        return Response(orjson.dumps(payload), media_type="application/json")


class BodySizeLimit:
    """Rejects bodies over the limit before they are buffered (declared or streamed length)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit():
            # The HTTP server reads exactly the declared length, so a declared body is checked once.
            if int(declared) > self.max_bytes:
                await self._reject(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if not too_large:  # the app's own answer to an aborted read (a 500) is replaced by the 413
                await send(message)

        with contextlib.suppress(_BodyTooLarge):
            await self.app(scope, limited_receive, guarded_send)
        if too_large:
            await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = graphql_error_response(
            ErrorCode.LIMIT_EXCEEDED, f"Request body exceeds {self.max_bytes} bytes.", 413
        )
        await response(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus scrape of this API process (unauthenticated: bind or firewall it; see docs/operations.md)."""
    body, content_type = metrics_payload()
    return Response(body, media_type=content_type)


async def readyz(request: Request) -> Response:
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(request.app.state.db.pool.fetchval("SELECT 1"), 2)
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports, never raises
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        await asyncio.wait_for(asyncio.to_thread(broker_mod.ping, request.app.state.settings), 3)
        checks["broker"] = "ok"
    except Exception as exc:
        checks["broker"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)


def create_app(settings: Settings | None = None, database: Database | None = None) -> ASGIApp:
    settings = settings or get_settings()
    configure_tracing("noticehub-api")
    configure_logging("noticehub-api")
    configure_metrics("noticehub-api")  # scraped at GET /metrics on the API port

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.settings = settings
        owned = database is None
        app.state.db = database or Database(await create_pool(settings), settings)
        tune_gc()
        try:
            yield
        finally:
            if owned:
                await app.state.db.pool.close()

    view = NoticehubGraphQL(settings)
    starlette = Starlette(
        routes=[
            Route("/graphql", GraphQLEndpoint(view, settings), methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/reports/transparency.csv", transparency_csv, methods=["GET"]),
            Route("/metrics", metrics_endpoint),
            *public_routes,
        ],
        lifespan=lifespan,
    )
    limited = PublicRateLimit(BodySizeLimit(starlette, settings.max_body_bytes), settings.public_rate_per_minute)
    return TracingMiddleware(limited, frozenset({"/healthz", "/readyz", "/metrics"}))


def app_factory() -> ASGIApp:
    """Entry point for uvicorn --factory."""
    return create_app()
