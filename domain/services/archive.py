"""Archiving closed cases into content-addressed bundles, and purging them after retention.

Archive (`archive_due_cases`, run by the scheduler's periodic archive pass and `noticehub archive`):
closed cases whose outcome is older than the policy's `retention.archive_after_days` (on the
tenant's clock) are read in one batch, turned into bundles, written to object storage
write-if-absent under their SHA-256, then, in the same transaction, each gets a bundle row, a
`case.archive` decision carrying the hash, `cases.archived_at`, and a durable `archive_purge`
deadline at its retention end. Objects are written before the commit: if the transaction fails the
rows are not there and a retry rewrites the same bytes under the same key (a no-op). A case an appeal
reopened after it was archived (Effect.UNARCHIVE) is archived again when it closes again, into its next
bundle (`version`); the earlier bundles stay.

Purge (`purge_due_bundles`, the `archive_purge` deadline handler): a bundle is purged once both the
retention computed when it was archived and the retention of the policy now in force have passed
(a longer `keep_years` published since extends it, with a `case.retention_extend` decision). Purging
records a `case.purge` decision and marks the bundle and case rows purged; the object itself is
deleted after that commit by the next archive pass (`delete_purged_objects`), so an object is never
gone while the database still says it is kept. A case's bundles go together: those of a case reopened
since are left to the purge of its newest bundle, so no part of its record goes before the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.archive import BUNDLE_FORMAT, BundleRecord, add_years, build_bundle, bundle_key
from domain.decisions import AUTOMATED, DecisionDraft, Reason, RuleRecord
from domain.errors import Conflict
from domain.ids import new_id
from domain.ports import ArchiveStore, UnitOfWork

if TYPE_CHECKING:
    from domain.services.deadlines import DueDeadline

ARCHIVE_PURGE = "archive_purge"
ARCHIVE_RULE = "retention.archive_after_days"
PURGE_RULE = "retention.keep_years"
DEFAULT_BATCH = 500


@dataclass
class ArchiveRun:
    archived: list[BundleRecord] = field(default_factory=list)
    written: int = 0  # objects newly written
    existed: int = 0  # objects already there (a retried run)

    @property
    def count(self) -> int:
        return len(self.archived)


async def archive_due_cases(uow: UnitOfWork, store: ArchiveStore, limit: int = DEFAULT_BATCH) -> ArchiveRun:
    """Archive up to `limit` due cases of the uow's tenant; returns what was archived."""
    in_force = await uow.policies.in_force()
    retention = in_force.policy.retention
    now = uow.clock.now()
    cutoff = now - timedelta(days=retention.archive_after_days)
    materials = await uow.archive.due_material(cutoff, limit)
    if not materials:
        return ArchiveRun()
    bundles = [build_bundle(uow.tenant_id, m) for m in materials]
    keys = [bundle_key(uow.tenant_id, b.sha256) for b in bundles]
    written = await store.put_many_if_absent([(k, b.data) for k, b in zip(keys, bundles, strict=True)])

    run = ArchiveRun(written=sum(written), existed=len(written) - sum(written))
    schedule: list[tuple[str, UUID, Any, dict[str, Any]]] = []
    for m, b, key in zip(materials, bundles, keys, strict=True):
        retention_until = max(add_years(m.closed_at, retention.keep_years), now)
        closed_at = m.closed_at.isoformat()
        uri = store.uri(key)
        bundle_id = new_id()
        decision_id = uow.decisions.record(DecisionDraft(
            subject_type="case", subject_id=m.case_id, case_id=m.case_id, kind="case.archive", outcome="archived",
            actor=f"{AUTOMATED}:{ARCHIVE_RULE}", automated=True, policy_version=in_force.version,
            rules=(RuleRecord(ARCHIVE_RULE, True, {
                "archive_after_days": retention.archive_after_days, "closed_at": closed_at,
                "keep_years": retention.keep_years, "bundle_sha256": b.sha256, "bundle_size": b.size,
                "bundle_version": m.version}),),
            reasons=(Reason("retention.archive", "Closed longer than the policy's archive period."),),
            reason_text=(f"Archived into bundle sha256:{b.sha256} ({b.size} bytes, {b.decision_count} decisions);"
                         f" kept until {retention_until.date().isoformat()}."),
        ))
        record = BundleRecord(
            id=bundle_id, case_id=m.case_id, sha256=b.sha256, uri=uri, size=b.size, format=BUNDLE_FORMAT,
            decision_id=decision_id, last_decision_seq=b.last_decision_seq or 0, policy_version=in_force.version,
            closed_at=m.closed_at, retention_until=retention_until, created_at=now, version=m.version,
        )
        run.archived.append(record)
        schedule.append((ARCHIVE_PURGE, bundle_id, retention_until, {"case_id": str(m.case_id),
                                                                      "sha256": b.sha256}))
    if await uow.archive.insert_bundles(run.archived) != len(run.archived):  # cannot happen while the claim holds
        raise Conflict("A case changed while it was being archived; nothing was archived, the next pass retries.")
    await uow.deadlines.schedule(schedule)
    return run


async def purge_due_bundles(uow: UnitOfWork, due: Sequence[DueDeadline]) -> None:
    """The `archive_purge` deadline: purge bundles whose retention has passed, or extend it."""
    records = await uow.archive.bundles_by_ids([d.subject_id for d in due], lock=True)
    if not records:
        return
    in_force = await uow.policies.in_force()
    keep_years = in_force.policy.retention.keep_years
    now = uow.clock.now()
    current = await uow.archive.current([r.case_id for r in records])
    purged: list[tuple[UUID, UUID]] = []
    extended: list[tuple[UUID, Any]] = []
    for r in records:
        if r.purged_at is not None or current.get(r.case_id) != r.id:
            continue  # purged, or its case was reopened since: its newest bundle's purge takes this one too
        until = max(r.retention_until, add_years(r.closed_at, keep_years))
        inputs = {"keep_years": keep_years, "closed_at": r.closed_at.isoformat(),
                  "retention_until": until.isoformat(), "now": now.isoformat(), "sha256": r.sha256, "uri": r.uri}
        if until > now:
            uow.decisions.record(DecisionDraft(
                subject_type="case", subject_id=r.case_id, case_id=r.case_id, kind="case.retention_extend",
                outcome="retained", actor=f"{AUTOMATED}:{PURGE_RULE}", automated=True,
                policy_version=in_force.version, rules=(RuleRecord(PURGE_RULE, False, inputs),),
                reasons=(Reason("retention.extended", "The policy in force keeps the record longer."),),
                reason_text=f"Retention extended to {until.date().isoformat()} by the policy in force.",
            ))
            extended.append((r.id, until))
            continue
        earlier = f" (bundle {r.version} of the case; the earlier ones go with it)" if r.version > 1 else ""
        decision_id = uow.decisions.record(DecisionDraft(
            subject_type="case", subject_id=r.case_id, case_id=r.case_id, kind="case.purge", outcome="purged",
            actor=f"{AUTOMATED}:{PURGE_RULE}", automated=True, policy_version=in_force.version,
            rules=(RuleRecord(PURGE_RULE, True, inputs),),
            reasons=(Reason("retention.expired", "The retention period has ended."),),
            reason_text=(f"Retention ended; archive bundle sha256:{r.sha256}{earlier} and the case's rows are"
                         " purged."),
        ))
        purged.append((r.case_id, decision_id))
    await uow.archive.mark_purged(purged, now)
    if extended:
        await uow.archive.extend_retention(extended)
        await uow.deadlines.schedule([(ARCHIVE_PURGE, bundle_id, until, {}) for bundle_id, until in extended])


async def delete_purged_objects(uow: UnitOfWork, store: ArchiveStore, limit: int = DEFAULT_BATCH) -> int:
    """Delete the objects of bundles whose purge has committed; idempotent."""
    records = await uow.archive.pending_object_deletes(limit)
    for r in records:
        await store.delete(bundle_key(uow.tenant_id, r.sha256))
    await uow.archive.mark_objects_deleted([r.id for r in records], uow.clock.now())
    return len(records)
