"""`noticehub verify` and `noticehub archive`: the operator's audit-trail check and manual archive pass.

Tenants are listed through the system role; each tenant is then verified (or archived) through its
own tenant transactions, so row-level security applies as for any request.
"""

from __future__ import annotations

from functools import partial
from uuid import UUID

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from domain.errors import NotFound
from domain.services.audit import AuditReport, verify_audit_trail
from infra.archive_store import store_from_settings
from infra.archiver import Archiver, tenant_ids
from infra.db import Database, create_pool
from infra.settings import Settings


async def _tenants(db: Database, slug: str | None) -> list[tuple[UUID, str]]:
    tenants = await tenant_ids(db)
    if slug is not None:
        tenants = [t for t in tenants if t[1] == slug]
        if not tenants:
            raise NotFound(f"Tenant '{slug}'", "tenant")
    return tenants


async def _chain_sizes(db: Database, tenants: list[tuple[UUID, str]], bundles: bool) -> dict[UUID, tuple[int, int]]:
    sizes: dict[UUID, tuple[int, int]] = {}
    for tenant_id, _ in tenants:
        async with db.uow(tenant_id) as uow:
            head, _hash = await uow.audit.chain_head()
            live = await uow.archive.count_live() if bundles else 0
        sizes[tenant_id] = (head, live)
    return sizes


def _break_text(r: AuditReport) -> str:
    parts = []
    if r.chain_break is not None:
        b = r.chain_break
        parts.append(f"chain: {b.reason.value} at seq {b.seq}"
                     + (f" (decision {b.decision_id})" if b.decision_id else "") + f": {b.describe()}")
    if r.bundle_break is not None:
        bb = r.bundle_break
        parts.append(f"bundle {bb.bundle_id} (case {bb.case_id}) {bb.problem.value}: {bb.detail}"
                     + (f" [{r.bundles_failed} bundles failed]" if r.bundles_failed > 1 else ""))
    return "\n".join(parts) or "ok"


async def verify(settings: Settings, console: Console, *, tenant: str | None, bundles: bool, record: bool,
                 page_size: int) -> int:
    """Returns the exit code: 0 when every checked tenant verifies, 1 on any break."""
    db = Database(await create_pool(settings, min_size=1, max_size=4), settings)
    store = store_from_settings(settings) if bundles else None
    reports: list[tuple[str, AuditReport]] = []
    try:
        tenants = await _tenants(db, tenant)
        sizes = await _chain_sizes(db, tenants, bundles)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=False) as progress:
            overall = progress.add_task("tenants", total=len(tenants))
            decisions = progress.add_task("decisions", total=sum(s[0] for s in sizes.values()))
            bundle_task = progress.add_task("bundles", total=sum(s[1] for s in sizes.values()), visible=bundles)

            def advance(kind: str, n: int) -> None:
                progress.advance(decisions if kind == "decisions" else bundle_task, n)

            for tenant_id, slug in tenants:
                progress.update(overall, description=f"tenant {slug}")
                report = await verify_audit_trail(partial(db.uow, tenant_id), store, page_size=page_size,
                                                  record=record, progress=advance)
                reports.append((slug, report))
                progress.advance(overall)
            progress.update(overall, description="tenants")
    finally:
        await db.pool.close()

    table = Table(title="Audit trail")
    for col in ("tenant", "decisions", "bundles", "result"):
        table.add_column(col)
    for slug, r in reports:
        table.add_row(slug, f"{r.decisions_checked}/{r.head_seq}", f"{r.bundles_checked - r.bundles_failed}"
                      f"/{r.bundles_checked}", "[green]ok[/]" if r.ok else f"[red]{_break_text(r)}[/]")
    console.print(table)
    broken = [slug for slug, r in reports if not r.ok]
    if broken:
        console.print(f"[red]audit trail broken for {len(broken)} tenant(s): {', '.join(broken)}[/]")
        return 1
    console.print(f"[green]audit trail verified for {len(reports)} tenant(s)[/]")
    return 0


async def archive(settings: Settings, console: Console, *, tenant: str | None, batch_size: int) -> int:
    db = Database(await create_pool(settings, min_size=1, max_size=4), settings)
    try:
        tenants = await _tenants(db, tenant)
        archiver = Archiver(db, store_from_settings(settings), batch_size=batch_size)
        result = await archiver.run_once([t for t, _ in tenants])
    finally:
        await db.pool.close()
    console.print(f"archived {result.archived} case(s) ({result.written} new objects, {result.existed} already"
                  f" present) across {len(tenants)} tenant(s); deleted {result.objects_deleted} purged object(s)")
    if result.failed:
        console.print(f"[red]archiving failed for {len(result.failed)} tenant(s); see the log[/]")
        return 1
    return 0
