"""The periodic archive pass: for every tenant, archive due closed cases and delete purged objects.

Runs in the `noticehub scheduler` process next to the outbox relay and the deadline scheduler (every
NOTICEHUB_ARCHIVE_INTERVAL seconds), and on demand as `noticehub archive`. Archiving is a sweep rather
than one durable deadline per case because due-ness depends on the policy in force when the pass
runs (`retention.archive_after_days` may change after a case closed) and a sweep reads a whole batch
of cases with one statement per table. Purging, which must happen at a definite time per bundle,
is a durable deadline (`archive_purge`, see domain/services/archive.py). Several scheduler
processes may run the pass at once: due cases are claimed with FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg
from opentelemetry import trace

from domain.errors import DomainError
from domain.ports import ArchiveStore
from domain.services.archive import DEFAULT_BATCH, archive_due_cases, delete_purged_objects
from infra.db import Database
from infra.loops import wait_for_wake

log = logging.getLogger("noticehub.archiver")
_tracer = trace.get_tracer("noticehub.archiver")


@dataclass
class ArchivePassResult:
    archived: int = 0
    written: int = 0
    existed: int = 0
    objects_deleted: int = 0
    tenants: int = 0
    per_tenant: dict[UUID, int] = field(default_factory=dict)
    failed: list[UUID] = field(default_factory=list)


async def tenant_ids(db: Database) -> list[tuple[UUID, str]]:
    async with db.system_tx() as conn:
        rows = await conn.fetch("SELECT id, slug FROM tenants ORDER BY created_at, id")
    return [(r["id"], r["slug"]) for r in rows]


class Archiver:
    def __init__(self, db: Database, store: ArchiveStore, *, batch_size: int = DEFAULT_BATCH,
                 interval_s: float = 60.0, concurrency: int = 2) -> None:
        self.db = db
        self.store = store
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.concurrency = concurrency

    async def archive_tenant(self, tenant_id: UUID, result: ArchivePassResult) -> None:
        """Batches of one tenant, `concurrency` transactions at a time: while one batch waits on the
        database, another builds bundles. SKIP LOCKED gives each its own cases; only appending to the
        tenant's decision chain (at commit) is serialised."""

        async def worker() -> None:
            while True:
                with _tracer.start_as_current_span("archive batch",
                                                   attributes={"noticehub.tenant_id": str(tenant_id)}):
                    async with self.db.uow(tenant_id) as uow:
                        run = await archive_due_cases(uow, self.store, self.batch_size)
                result.archived += run.count
                result.written += run.written
                result.existed += run.existed
                result.per_tenant[tenant_id] = result.per_tenant.get(tenant_id, 0) + run.count
                if run.count < self.batch_size:
                    return

        await asyncio.gather(*(worker() for _ in range(max(1, self.concurrency))))
        while True:
            async with self.db.uow(tenant_id) as uow:
                deleted = await delete_purged_objects(uow, self.store, self.batch_size)
            result.objects_deleted += deleted
            if deleted < self.batch_size:
                break

    async def run_once(self, tenants: Sequence[UUID] | None = None) -> ArchivePassResult:
        result = ArchivePassResult()
        for tenant_id in tenants if tenants is not None else [t for t, _ in await tenant_ids(self.db)]:
            try:
                await self.archive_tenant(tenant_id, result)
            except DomainError as exc:  # e.g. no published policy yet: nothing to archive under
                log.info("archive pass skipped tenant %s: %s", tenant_id, exc.message)
                continue
            except Exception:  # one tenant's failure (storage, data) must not stop the others
                log.exception("archive pass failed for tenant %s", tenant_id)
                result.failed.append(tenant_id)
                continue
            result.tenants += 1
        if result.archived or result.objects_deleted:
            log.info("archive pass: %d cases archived (%d objects written), %d purged objects deleted",
                     result.archived, result.written, result.objects_deleted)
        return result

    async def run(self, stop: asyncio.Event) -> None:
        wake = asyncio.Event()
        while not stop.is_set():
            try:
                await self.run_once()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("archive pass failed, retrying: %s", exc)
            except Exception:
                log.exception("archive pass failed, retrying")
            await wait_for_wake(wake, stop, self.interval_s)
