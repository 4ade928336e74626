"""Verifying a tenant's audit trail, and explaining one decision.

`verify_audit_trail` recomputes the tenant's decision hash chain in pages (keyset on seq, one short
transaction per page, bounded by the chain head read first, so decisions appended meanwhile do not
count as breaks) and then checks every archive bundle still kept: its object hashes to the recorded
SHA-256, it is well formed, each decision inside verifies, and each still matches the decision log
(so a chain rewritten in the database after archiving is caught by the bundles that hold it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.archive import BundleCheck, BundleProblem, BundleRecord, bundle_key, check_bundle, diverging_decision
from domain.audit import ChainBreak, ChainVerifier, LinkProof, link_proof, summarize
from domain.decisions import GENESIS_HASH, Decision
from domain.errors import NotFound
from domain.notices import Case
from domain.ports import ArchiveStore, UnitOfWork
from domain.tenancy import Principal, Role

UowFactory = Callable[[], AbstractAsyncContextManager[UnitOfWork]]
Progress = Callable[[str, int], None]

DEFAULT_PAGE = 2000
_HEAD_ROUNDS = 3  # how often to follow a head that moved while verifying
_GET_CONCURRENCY = 32


@dataclass(frozen=True, slots=True)
class BundleBreak:
    bundle_id: UUID
    case_id: UUID
    sha256: str
    uri: str
    problem: BundleProblem
    actual_sha256: str | None
    decision_id: UUID | None
    detail: str


@dataclass(frozen=True, slots=True)
class AuditReport:
    tenant_id: UUID
    head_seq: int
    head_hash: bytes
    decisions_checked: int
    chain_break: ChainBreak | None
    bundles_checked: int
    bundles_failed: int
    bundle_break: BundleBreak | None
    checked_at: datetime

    @property
    def ok(self) -> bool:
        return self.chain_break is None and self.bundle_break is None


async def verify_audit_trail(
    uows: UowFactory, store: ArchiveStore | None, *, page_size: int = DEFAULT_PAGE, record: bool = False,
    progress: Progress | None = None,
) -> AuditReport:
    """Verify the chain and (with a store) every kept bundle; `record` writes each bundle's result."""
    async with uows() as uow:
        tenant_id = uow.tenant_id
        head_seq, head_hash = await uow.audit.chain_head()
        checked_at = uow.clock.now()

    verifier = ChainVerifier()
    after = 0
    beyond: int | None = None
    for round_ in range(_HEAD_ROUNDS):
        while after < head_seq and verifier.broken is None:
            async with uows() as uow:
                page = await uow.audit.chain(after, head_seq, page_size)
            if not page:
                break
            verifier.feed(page)
            after = page[-1].seq
            if progress:
                progress("decisions", len(page))
        if verifier.broken is not None:
            break
        # Decisions appended while we verified are checked too; rows past the head are not the log's.
        async with uows() as uow:
            latest_seq, latest_hash, beyond = await uow.audit.head_and_beyond()
        if latest_seq <= head_seq:  # stable (or moved back: then the rows past it are reported)
            head_seq, head_hash = latest_seq, latest_hash
            break
        if round_ == _HEAD_ROUNDS - 1:  # still moving: stop at what was verified; the rest is recent appends
            beyond = None
            break
        head_seq, head_hash = latest_seq, latest_hash
    chain_break = verifier.finish(head_seq, head_hash, beyond)

    bundles_checked = bundles_failed = 0
    first_bad: BundleBreak | None = None
    if store is not None:
        after_id: UUID | None = None
        while True:
            async with uows() as uow:
                rows = await uow.archive.page(after_id, page_size, live_only=True)
                if not rows:
                    break
                breaks = await _check_bundles(uow, store, rows)
                if record:
                    await uow.archive.record_verification(
                        [(r.id, r.id not in breaks) for r in rows], uow.clock.now())
            bundles_checked += len(rows)
            bundles_failed += len(breaks)
            if first_bad is None and breaks:
                first_bad = next(breaks[r.id] for r in rows if r.id in breaks)
            after_id = rows[-1].id
            if progress:
                progress("bundles", len(rows))
    return AuditReport(
        tenant_id=tenant_id, head_seq=head_seq, head_hash=head_hash, decisions_checked=verifier.checked,
        chain_break=chain_break, bundles_checked=bundles_checked, bundles_failed=bundles_failed,
        bundle_break=first_bad, checked_at=checked_at,
    )


async def _check_bundles(uow: UnitOfWork, store: ArchiveStore, rows: list[BundleRecord]) -> dict[UUID, BundleBreak]:
    sem = asyncio.Semaphore(_GET_CONCURRENCY)

    async def check(r: BundleRecord) -> BundleCheck:
        async with sem:
            data = await store.get(bundle_key(uow.tenant_id, r.sha256))
        return check_bundle(uow.tenant_id, r, data)

    checks = await asyncio.gather(*(check(r) for r in rows))
    breaks: dict[UUID, BundleBreak] = {}
    bundled: set[UUID] = set()
    for r, c in zip(rows, checks, strict=True):
        if c.problem is not None:
            breaks[r.id] = BundleBreak(r.id, r.case_id, r.sha256, r.uri, c.problem, c.actual_sha256, None, c.detail)
        else:
            bundled.update(c.decisions)
    logged = await uow.audit.decision_hashes(sorted(bundled)) if bundled else {}
    for r, c in zip(rows, checks, strict=True):
        if c.problem is None:
            diverged = diverging_decision(c.decisions, logged)
            if diverged is not None:
                breaks[r.id] = BundleBreak(
                    r.id, r.case_id, r.sha256, r.uri, BundleProblem.DIVERGES_FROM_LOG, c.actual_sha256, diverged,
                    f"decision {diverged} in the bundle differs from the decision log (changed or deleted)")
    return breaks


# ----- explanation -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Explanation:
    decision: Decision
    proof: LinkProof
    regime: str | None
    case: Case | None
    bundle: BundleRecord | None
    summary: str


async def explain_decision(uow: UnitOfWork, principal: Principal, decision_id: UUID) -> Explanation:
    principal.require(Role.AUDITOR, Role.REVIEWER, Role.ADMIN)
    d = await uow.audit.decision(decision_id)
    if d is None:
        raise NotFound(f"Decision '{decision_id}'", "id")
    predecessor = await uow.audit.decision_at(d.seq - 1) if d.seq > 1 else None
    regime: str | None = None
    if d.policy_version is not None:
        version = await uow.policies.get(d.policy_version)
        if version is not None:
            regime = str(version.document.get("regime") or "") or None
    case_id = d.case_id or (d.subject_id if d.subject_type == "case" else None)
    case: Case | None = None
    bundle: BundleRecord | None = None
    if case_id is not None:
        [case] = await uow.cases.get_many([case_id])
        bundle = await uow.archive.for_case(case_id)
    return Explanation(
        decision=d, proof=link_proof(d, predecessor), regime=regime, case=case, bundle=bundle,
        summary=summarize(d, regime, case.state.value if case else None),
    )


__all__ = ["GENESIS_HASH", "AuditReport", "BundleBreak", "Explanation", "explain_decision", "verify_audit_trail"]
