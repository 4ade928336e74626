"""The asyncpg pool, tenant-scoped transactions and the unit of work.

Every tenant transaction switches to the application role and sets the tenant in one statement,
so row-level security applies even when the login role is a superuser (dev, CI). The unit of work
buffers outbox messages and other write-only rows and sends them in one statement just before COMMIT
(decision 0012); a trigger on `outbox` wakes the relay. Text the database cannot store (NUL) that reaches
a unit of work is the caller's input error, and a deadlock a Conflict to retry, not unexpected errors
(`_typed_database_errors`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg
import orjson
from opentelemetry import context as otel_context
from opentelemetry import propagate

from domain.calendar import WorkingDayCalendar
from domain.clock import Clock, OffsetClock, SystemClock
from domain.errors import NUL_IN_TEXT, Conflict, InvalidInput
from domain.ids import new_id
from infra import case_repositories as case_repos
from infra import repositories as repos
from infra.archive_repositories import ArchiveRepo, AuditRepo
from infra.calendars import calendar_for
from infra.decision_log import DecisionLog
from infra.disclosure_repositories import DisclosureRepo
from infra.notification_repositories import EmailRepo, WebhookRepo
from infra.settings import Settings
from infra.transparency_repositories import StatementRepo, TransparencyRepo
from infra.trust_repositories import TrustRepo
from infra.write_batch import WriteBatch

OUTBOX_CHANNEL = "noticehub_outbox"  # notified by the outbox trigger (migration 0009)
DEADLINE_CHANNEL = "noticehub_deadlines"


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
        )


class _Connection(asyncpg.Connection):  # type: ignore[misc]
    """Skips the pool's reset query (RESET ALL, UNLISTEN *, ...) on every release.

    All session state we set is transaction-local (set_config(..., true)), open transactions are
    still rolled back on release, and listeners are removed explicitly; the reset query was an
    extra round trip per request.
    """

    def get_reset_query(self) -> str:
        return ""


async def create_pool(settings: Settings, *, min_size: int | None = None, max_size: int | None = None) -> asyncpg.Pool:
    assert settings.database_url, "DATABASE_URL must be resolved before the pool is created"
    pool = await asyncpg.create_pool(
        settings.database_url,
        min_size=settings.db_pool_min if min_size is None else min_size,
        max_size=settings.db_pool_max if max_size is None else max_size,
        command_timeout=settings.db_command_timeout_s,
        init=_init_connection,
        connection_class=_Connection,
    )
    assert pool is not None
    return pool


@contextlib.asynccontextmanager
async def _typed_database_errors() -> AsyncIterator[None]:
    """Database refusals a caller can act on, as typed errors rather than "Unexpected error.":
    - NUL in text (CharacterNotInRepertoireError) or jsonb (UntranslatableCharacterError): input is checked
      before it gets here (api.text_input); this is the backstop for any path that was not;
    - a deadlock or serialization failure: two transactions took the same rows in different orders (e.g. a
      request and a deadline firing on one case); one was rolled back whole, and trying again succeeds."""
    try:
        yield
    except (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError) as exc:
        raise InvalidInput(NUL_IN_TEXT) from exc
    except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError) as exc:
        raise Conflict("Another change to the same records happened at the same time; nothing was saved. "
                       "Try again.") from exc


class OutboxBuffer:
    """Collects messages during the use case; flushed inside the same transaction at commit."""

    def __init__(self, tenant_id: UUID) -> None:
        self.tenant_id = tenant_id
        self.rows: list[tuple[UUID, UUID, str, str | None, Mapping[str, Any], dict[str, str]]] = []
        self._context: otel_context.Context | None = None
        self._carrier: dict[str, str] = {}

    def add(self, topic: str, payload: Mapping[str, Any], ordering_key: str | None = None) -> UUID:
        # Messages added under the same trace context share one injected carrier (bulk use cases
        # add thousands; injecting each was a tenth of a scheduler pass).
        current = otel_context.get_current()
        if current is not self._context:
            self._context, self._carrier = current, {}
            propagate.inject(self._carrier, context=current)
        message_id = new_id()
        self.rows.append((self.tenant_id, message_id, topic, ordering_key, payload, self._carrier))
        return message_id

    def stage(self, writes: WriteBatch) -> None:
        """Stage the rows into the transaction's final write (a trigger wakes the relay at COMMIT)."""
        if not self.rows:
            return
        rows, self.rows = self.rows, []
        writes.add(
            "INSERT INTO outbox (tenant_id, id, topic, ordering_key, payload, trace_context)"
            " SELECT $1, u.id, u.topic, u.ordering_key, u.payload::jsonb, u.trace_context::jsonb"
            " FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[])"
            " AS u(id, topic, ordering_key, payload, trace_context)",
            self.tenant_id, [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows],
            [orjson.dumps(r[4]).decode() for r in rows], [orjson.dumps(r[5]).decode() for r in rows],
        )


class TenantState(NamedTuple):
    clock_offset: timedelta
    policy_version: int | None  # published version, as of entering the transaction


class PgUnitOfWork:
    def __init__(self, conn: asyncpg.Connection, tenant_id: UUID, clock: Clock,
                 policy_version: int | None = None) -> None:
        self.conn = conn
        self.tenant_id = tenant_id
        self.clock = clock
        self.writes = WriteBatch()
        self.outbox = OutboxBuffer(tenant_id)
        self.tenants = repos.TenantRepo(conn, tenant_id)
        self.api_keys = repos.ApiKeyRepo(conn, tenant_id)
        self.parties = repos.PartyRepo(conn, tenant_id)
        self.ip_rights = repos.IpRightRepo(conn, tenant_id)
        self.listings = repos.ListingRepo(conn, tenant_id)
        self.idempotency = repos.IdempotencyRepo(conn, tenant_id, self.writes)
        self.processed = repos.ProcessedMessageRepo(conn, tenant_id)
        self.policies = repos.PolicyRepo(conn, tenant_id, policy_version)
        self.decisions = DecisionLog(tenant_id, clock)
        self.notices = case_repos.NoticeRepo(conn, tenant_id)
        self.cases = case_repos.CaseRepo(conn, tenant_id)
        self.measures = case_repos.MeasureRepo(conn, tenant_id)
        self.declarations = case_repos.DeclarationRepo(conn, tenant_id)
        self.proofs = case_repos.ProofRepo(conn, tenant_id)
        self.deadlines = case_repos.DeadlineRepo(conn, tenant_id, self.writes)
        self.decision_reads = case_repos.DecisionReadRepo(conn, tenant_id)
        self.webhooks = WebhookRepo(conn, tenant_id)
        self.emails = EmailRepo(conn, tenant_id)
        self.audit = AuditRepo(conn, tenant_id)
        self.archive = ArchiveRepo(conn, tenant_id)
        self.trust = TrustRepo(conn, tenant_id, self.writes)
        self.intake = repos.IntakeRepo(conn, tenant_id, self.trust)
        self.statements = StatementRepo(conn, tenant_id)
        self.reports = TransparencyRepo(conn, tenant_id)
        self.disclosures = DisclosureRepo(conn, tenant_id, self.writes)

    def calendar(self, country_code: str) -> WorkingDayCalendar:
        return calendar_for(country_code)

    async def flush(self) -> None:
        """Last in the transaction: outbox rows, then the hot rows (the notifiers' daily counters, the decision
        chain head), so their locks are held only for the few statements before COMMIT."""
        self.outbox.stage(self.writes)
        self.trust.stage_counts()
        await self.decisions.flush(self.conn, self.writes)


class PgOperatorUnitOfWork:
    def __init__(self, conn: asyncpg.Connection, db: Database) -> None:
        self.conn = conn
        self._db = db
        self.clock = db.base_clock
        self.tenants = repos.TenantRepo(conn, None)
        self.entered: PgUnitOfWork | None = None

    def calendar(self, country_code: str) -> WorkingDayCalendar:
        return calendar_for(country_code)

    async def enter_tenant(self, tenant_id: UUID) -> PgUnitOfWork:
        state = await self._db._enter_tenant(self.conn, tenant_id)
        self.entered = PgUnitOfWork(self.conn, tenant_id, self._db.clock_for(state.clock_offset),
                                    state.policy_version)
        return self.entered


class Database:
    """Owns the pool; hands out tenant, operator and system transactions. The only place SQL sessions start."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings, clock: Clock | None = None) -> None:
        self.pool = pool
        self.app_role = settings.app_role
        self.system_role = settings.system_role
        self.base_clock: Clock = clock or SystemClock()

    @contextlib.asynccontextmanager
    async def tenant_tx(self, tenant_id: UUID) -> AsyncIterator[asyncpg.Connection]:
        async with self.pool.acquire() as conn, conn.transaction():
            await self._enter_tenant(conn, tenant_id)
            yield conn

    async def _enter_tenant(self, conn: asyncpg.Connection, tenant_id: UUID) -> TenantState:
        """Switch role and tenant, and read the tenant's test-clock offset and policy version in force, in one
        round trip."""
        row = await conn.fetchrow(
            "SELECT t.clock_offset, t.policy_version"
            " FROM (SELECT set_config('role', $1, true), set_config('app.tenant_id', $2, true)) AS s"
            " LEFT JOIN tenants t ON t.id = $2::uuid",
            self.app_role,
            str(tenant_id),
        )
        offset = row["clock_offset"]
        return TenantState(offset if isinstance(offset, timedelta) else timedelta(0), row["policy_version"])

    def clock_for(self, offset: timedelta) -> Clock:
        return OffsetClock(self.base_clock, offset) if offset else self.base_clock

    @contextlib.asynccontextmanager
    async def system_tx(self) -> AsyncIterator[asyncpg.Connection]:
        """Cross-tenant work (relay, scheduler): only the tables the system role has policies on."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT set_config('role', $1, true)", self.system_role)
            yield conn

    @contextlib.asynccontextmanager
    async def uow(self, tenant_id: UUID) -> AsyncIterator[PgUnitOfWork]:
        async with _typed_database_errors(), self.pool.acquire() as conn, conn.transaction():
            state = await self._enter_tenant(conn, tenant_id)
            uow = PgUnitOfWork(conn, tenant_id, self.clock_for(state.clock_offset), state.policy_version)
            yield uow
            await uow.flush()

    async def notify_deadlines(self) -> None:
        """Wake schedulers early, e.g. after a sandbox test clock moved."""
        await self.pool.execute(f"NOTIFY {DEADLINE_CHANNEL}")

    def __call__(self, tenant_id: UUID) -> contextlib.AbstractAsyncContextManager[PgUnitOfWork]:
        return self.uow(tenant_id)

    @contextlib.asynccontextmanager
    async def operator(self) -> AsyncIterator[PgOperatorUnitOfWork]:
        async with _typed_database_errors(), self.system_tx() as conn:
            op = PgOperatorUnitOfWork(conn, self)
            yield op
            if op.entered is not None:
                await op.entered.flush()

