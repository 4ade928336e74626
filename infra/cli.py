"""The `noticehub` command: serve, worker, scheduler, migrate, dev, tenant and apikey administration."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Coroutine, MutableMapping
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console

from infra.db import Database, create_pool
from infra.process import tune_gc
from infra.settings import Settings, get_settings

app = typer.Typer(help="Noticehub: IP notice-and-action service.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenant administration (operator).", no_args_is_help=True)
apikey_app = typer.Typer(help="API key administration (operator).", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(apikey_app, name="apikey")
console = Console(stderr=True)


def _resolved_settings(*, embedded: bool = True) -> Settings:
    """Settings with embedded PostgreSQL/Redis started for whatever is not configured."""
    settings = get_settings()
    if embedded and (not settings.database_url or not (settings.redis_url or settings.amqp_url)):
        from infra.embedded import ensure_services

        ensure_services(settings.database_url, settings.redis_url, settings.amqp_url, settings.data_dir)
        get_settings.cache_clear()
        settings = get_settings()
    return settings


def _operator_key(settings: Settings) -> str:
    """The operator key from settings; in development one is generated once and kept in the data dir."""
    if settings.operator_key:
        return settings.operator_key
    path = settings.data_dir / "operator_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("nho_" + secrets.token_urlsafe(32))
        path.chmod(0o600)
    key = path.read_text().strip()
    os.environ["NOTICEHUB_OPERATOR_KEY"] = key
    get_settings.cache_clear()
    return key


@app.command()
def migrate() -> None:
    """Apply database migrations (safe to run concurrently)."""
    from infra.migrate import migrate as run_migrations

    settings = _resolved_settings()
    assert settings.database_url
    applied = run_migrations(settings.database_url)
    console.print(f"migrations applied: {', '.join(applied) if applied else 'none (up to date)'}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    workers: Annotated[int | None, typer.Option(help="API processes (default WEB_CONCURRENCY).")] = None,
) -> None:
    """Run the GraphQL API with uvicorn."""
    settings = _resolved_settings()
    if settings.is_development:
        _operator_key(settings)
    os.execvp(sys.executable, _api_command(settings, host, port, workers))  # noqa: S606 - fixed argv


def _api_command(settings: Settings, host: str | None, port: int | None, workers: int | None) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "api.app:app_factory", "--factory",
        "--host", host or settings.host, "--port", str(port or settings.port),
        "--workers", str(workers or settings.web_concurrency),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--timeout-graceful-shutdown", "20",
    ]


def _worker_command(processes: int, threads: int) -> list[str]:
    return [sys.executable, "-m", "dramatiq", "workers.actors", "--processes", str(processes),
            "--threads", str(threads)]


def _worker_environment(env: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Dramatiq's consumers back off up to `dramatiq_worker_timeout` ms when a queue is idle (1 s by
    default): the first event after a quiet spell waited up to a second (p99 861 ms at 2 events/s,
    bench/outbox_relay_latency.py). 100 ms costs a few idle Redis polls per second."""
    env.setdefault("dramatiq_worker_timeout", "100")
    return env


@app.command()
def worker(
    processes: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    threads: Annotated[int, typer.Option(help="Threads per process.")] = 4,
) -> None:
    """Run Dramatiq workers for the event queue."""
    _resolved_settings()
    _worker_environment(os.environ)
    os.execvp(sys.executable, _worker_command(processes, threads))  # noqa: S606 - fixed argv


@app.command()
def scheduler() -> None:
    """Run the outbox relay, the durable-deadline scheduler and the periodic archive pass."""
    settings = _resolved_settings()
    _event_loop_run(_run_scheduler(settings))


def _event_loop_run(coro: Coroutine[Any, Any, Any]) -> Any:
    """uvloop (installed with uvicorn[standard]): asyncpg reads large result sets at about twice the speed."""
    import uvloop

    tune_gc()
    return uvloop.run(coro)


async def _run_scheduler(settings: Settings) -> None:
    from domain.services.deadlines import DEADLINE_HANDLERS
    from infra.archive_store import store_from_settings
    from infra.archiver import Archiver
    from infra.broker import build_broker
    from infra.relay import OutboxRelay
    from infra.scheduler import Scheduler
    from infra.telemetry import configure_tracing, shutdown_tracing

    configure_tracing("noticehub-scheduler")
    from infra.logs import configure_logging
    from infra.metrics import configure_metrics

    configure_logging("noticehub-scheduler")
    configure_metrics("noticehub-scheduler", serve=True)  # NOTICEHUB_METRICS_PORT
    db = Database(await create_pool(settings, min_size=2, max_size=4), settings)
    broker = build_broker(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    relay = OutboxRelay(db, broker, poll_interval_s=settings.relay_poll_interval_s)
    sched = Scheduler(db, DEADLINE_HANDLERS, poll_interval_s=settings.scheduler_poll_interval_s)
    archiver = Archiver(db, store_from_settings(settings), batch_size=settings.archive_batch_size,
                        interval_s=settings.archive_interval_s)
    tune_gc()
    try:
        await asyncio.gather(relay.run(stop), sched.run(stop), archiver.run(stop))
    finally:
        await db.pool.close()
        broker.close()
        shutdown_tracing()


@app.command()
def dev(
    port: Annotated[int | None, typer.Option(help="API port.")] = None,
) -> None:
    """Everything in one process tree: embedded services if unconfigured, migrations, API, worker, scheduler."""
    started = time.monotonic()
    settings = _resolved_settings()
    from infra.migrate import migrate as run_migrations

    assert settings.database_url
    operator_key = _operator_key(settings)
    settings = get_settings()
    env = dict(os.environ)
    # The API starts while migrations run (its imports take longer than they do); the worker and the
    # scheduler start once they are done, so on a small machine their imports do not compete with the
    # API's for the cores (cold start to /readyz: docs/performance.md).
    children = {"api": subprocess.Popen(_api_command(settings, None, port, 1), env=env)}  # noqa: S603
    try:
        run_migrations(settings.database_url or "")
        children["worker"] = subprocess.Popen(  # noqa: S603
            _worker_command(1, 4), env=dict(_worker_environment(dict(env))))
        children["scheduler"] = subprocess.Popen([sys.executable, "-m", "infra.cli", "scheduler"], env=env)
    except Exception:
        _stop_children(children)
        raise
    console.print(
        f"[bold]noticehub dev[/] http://{settings.host}:{port or settings.port}/graphql "
        f"(operator key in {Path(settings.data_dir) / 'operator_key'}; prefix {operator_key[:8]}…) "
        f"started in {time.monotonic() - started:.1f}s"
    )
    _supervise(children)


def _supervise(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """Wait for a signal or a child exiting; then send each child exactly one SIGTERM (a second one hangs dramatiq)."""
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    while not stopping and all(c.poll() is None for c in children.values()):
        time.sleep(0.2)
    _stop_children(children)


def _stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for name, child in children.items():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
        else:
            console.print(f"{name} exited with {child.returncode}")
    deadline = time.monotonic() + 30
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()


@app.command()
def verify(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (slug); default: every tenant.")] = None,
    bundles: Annotated[bool, typer.Option(help="Also check every kept archive bundle's hash.")] = True,
    record: Annotated[bool, typer.Option(help="Record each bundle's result (verified_at, verified_ok).")] = True,
    page_size: Annotated[int, typer.Option(help="Decisions per page (keyset on seq).")] = 2000,
) -> None:
    """Recompute each tenant's decision hash chain and archive bundle hashes; exit 1 on any break."""
    from infra import audit_cli

    settings = _resolved_settings()

    async def run() -> int:
        return await audit_cli.verify(settings, console, tenant=tenant, bundles=bundles, record=record,
                                      page_size=page_size)

    raise typer.Exit(_run_cli_code(run()))


@app.command()
def archive(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (slug); default: every tenant.")] = None,
    batch_size: Annotated[int, typer.Option(help="Cases per transaction.")] = 1000,
) -> None:
    """Archive due closed cases now and delete purged bundles' objects (the scheduler does this periodically)."""
    from infra import audit_cli

    settings = _resolved_settings()

    async def run() -> int:
        return await audit_cli.archive(settings, console, tenant=tenant, batch_size=batch_size)

    raise typer.Exit(_run_cli_code(run()))


def _run_cli_code(coro: Coroutine[Any, Any, int]) -> int:
    from domain.errors import DomainError

    try:
        return int(_event_loop_run(coro))
    except DomainError as exc:
        console.print(f"[red]{exc.code.value}[/]: {exc.message}")
        return 2


@tenant_app.command("create")
def tenant_create(
    slug: Annotated[str, typer.Option(help="URL-safe identifier.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    timezone: Annotated[str, typer.Option(help="IANA timezone.")] = "Asia/Shanghai",
    holiday_country: Annotated[str, typer.Option(help="Holiday calendar country.")] = "CN",
    sandbox: Annotated[bool, typer.Option(help="Create a sandbox tenant with a test clock.")] = False,
) -> None:
    """Create a tenant and print its first admin API key (shown once)."""
    from domain.services.tenancy import NewTenant, create_tenant
    from domain.tenancy import Principal, TenantMode

    data = NewTenant(slug, name, timezone, holiday_country, TenantMode.SANDBOX if sandbox else TenantMode.LIVE)

    async def run() -> None:
        async with _database() as db:
            tenant, issued = await create_tenant(db, Principal(None, None, frozenset(), is_operator=True), data)
        console.print(f"tenant {tenant.slug} ({tenant.id}) created; admin key (shown once):")
        print(issued.secret)

    _run_cli(run())


@apikey_app.command("create")
def apikey_create(
    tenant: Annotated[str, typer.Option(help="Tenant slug.")],
    name: Annotated[str, typer.Option(help="What the key is for.")],
    role: Annotated[list[str], typer.Option(help="integration, reviewer, admin or auditor; repeatable.")],
) -> None:
    """Issue an API key for a tenant and print it (shown once)."""
    from domain.errors import InvalidInput
    from domain.services.tenancy import create_api_key
    from domain.tenancy import Principal, Role

    try:
        roles = tuple(Role(r) for r in role)
    except ValueError as exc:
        raise InvalidInput(f"Unknown role; use one of {[r.value for r in Role]}.", "role") from exc

    async def run() -> None:
        async with _database() as db:
            tenant_id = await _tenant_id(db, tenant)
            admin = Principal(tenant_id, None, frozenset({Role.ADMIN}))
            async with db.uow(tenant_id) as uow:
                issued = await create_api_key(uow, admin, name, roles)
        console.print(f"key {issued.key.id} ({issued.key.prefix}…) created; secret (shown once):")
        print(issued.secret)

    _run_cli(run())


@apikey_app.command("revoke")
def apikey_revoke(
    tenant: Annotated[str, typer.Option(help="Tenant slug.")],
    key_id: Annotated[str, typer.Argument(help="The key's UUID.")],
) -> None:
    """Revoke an API key; it stops working at once."""
    from domain.services.tenancy import revoke_api_key
    from domain.tenancy import Principal, Role

    async def run() -> None:
        async with _database() as db:
            tenant_id = await _tenant_id(db, tenant)
            async with db.uow(tenant_id) as uow:
                key = await revoke_api_key(uow, Principal(tenant_id, None, frozenset({Role.ADMIN})), UUID(key_id))
        console.print(f"key {key.id} revoked at {key.revoked_at}")

    _run_cli(run())


@contextlib.asynccontextmanager
async def _database() -> AsyncIterator[Database]:
    settings = _resolved_settings()
    db = Database(await create_pool(settings, min_size=1, max_size=2), settings)
    try:
        yield db
    finally:
        await db.pool.close()


async def _tenant_id(db: Database, slug: str) -> UUID:
    from domain.errors import NotFound
    from infra.repositories import tenant_id_by_slug

    async with db.system_tx() as conn:
        tenant_id = await tenant_id_by_slug(conn, slug)
    if tenant_id is None:
        raise NotFound(f"Tenant '{slug}'", "tenant")
    return tenant_id


def _run_cli(coro: Coroutine[Any, Any, None]) -> None:
    from domain.errors import DomainError

    try:
        asyncio.run(coro)
    except DomainError as exc:
        console.print(f"[red]{exc.code.value}[/]: {exc.message}")
        raise typer.Exit(2) from exc


if __name__ == "__main__":
    app()
