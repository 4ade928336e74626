"""GraphQL for auditors: explaining a decision, verifying the audit trail, and the archive.

`api.schema.Query` and `Mutation` inherit `AuditQuery` and `AuditMutation`.

Roles: `explainDecision` is for auditors, reviewers and admins; `verifyAuditTrail` and
`archiveBundles` for auditors and admins; `archiveDueCases` (run this tenant's archive pass now,
e.g. in a sandbox after advancing the test clock) for admins.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import strawberry
from strawberry import relay
from strawberry.types import Info

from api import errors as e
from api.case_graphql import Case, CaseState, Decision, ReasonCode, RuleHit
from api.context import request_context
from api.policy_graphql import PolicyVersion
from api.types import decode_id, global_id, resolve_nodes_by_id
from domain import archive as archive_domain
from domain import audit as audit_domain
from domain.errors import InvalidInput
from domain.services import archive as archive_service
from domain.services import audit as audit_service
from domain.tenancy import Role
from infra.archive_store import store_from_settings

ChainBreakReason = strawberry.enum(
    audit_domain.BreakReason, name="ChainBreakReason",
    description="content_changed: a row's fields no longer hash to its hash; link_broken: its prev_hash is not "
                "its predecessor's hash; sequence_gap: a seq is missing (a row was deleted).",
)
ArchiveBundleProblem = strawberry.enum(
    archive_domain.BundleProblem, name="ArchiveBundleProblem",
    description="missing: no object; hash_mismatch: the bytes changed; malformed: not a bundle for this case; "
                "link_invalid: a decision inside does not verify; diverges_from_log: a decision inside differs "
                "from the decision log.",
)


def _decision_id(value: str) -> UUID:
    """A Decision global id (or, for convenience, the decision's UUID)."""
    try:
        return decode_id(value, "Decision", "id")
    except InvalidInput:
        try:
            return UUID(str(value))
        except ValueError:
            raise InvalidInput(f"'{value}' is not a valid Decision id.", "id") from None


def _gid(type_name: str, value: UUID | None) -> strawberry.ID | None:
    return strawberry.ID(global_id(type_name, value)) if value is not None else None


@strawberry.type(description="An immutable, content-addressed archive of a closed case in object storage.")
class ArchiveBundle(relay.Node):
    id: relay.NodeID[str]
    case_id: strawberry.ID
    version: int = strawberry.field(description=(
        "1 for the case's first bundle; 2, 3, ... when an appeal reopened the archived case and it closed again"
        " (the earlier bundles stay, the record up to then)."))
    sha256: str = strawberry.field(description="SHA-256 (hex) of the bundle's bytes; also its object key.")
    uri: str
    size: int
    format: str
    decision_id: strawberry.ID = strawberry.field(description="The case.archive decision recording this bundle.")
    last_decision_seq: int = strawberry.field(description="The last decision (chain seq) inside the bundle.")
    policy_version: int
    closed_at: datetime
    retention_until: datetime
    created_at: datetime
    verified_at: datetime | None
    verified_ok: bool | None
    purged_at: datetime | None
    purge_decision_id: strawberry.ID | None

    @classmethod
    def from_domain(cls, b: archive_domain.BundleRecord) -> ArchiveBundle:
        return cls(
            id=str(b.id), case_id=strawberry.ID(global_id("Case", b.case_id)), version=b.version, sha256=b.sha256,
            uri=b.uri, size=b.size, format=b.format, decision_id=strawberry.ID(global_id("Decision", b.decision_id)),
            last_decision_seq=b.last_decision_seq, policy_version=b.policy_version, closed_at=b.closed_at,
            retention_until=b.retention_until, created_at=b.created_at, verified_at=b.verified_at,
            verified_ok=b.verified_ok, purged_at=b.purged_at, purge_decision_id=_gid("Decision", b.purge_decision_id),
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        ctx = request_context(info)
        if not ctx.principal.roles.intersection({Role.AUDITOR, Role.ADMIN, Role.REVIEWER}):
            return [None for _ in node_ids]

        async def load(ids: list[UUID]) -> Any:
            async with ctx.uow() as uow:
                return await uow.archive.bundles_by_ids(ids)

        return await resolve_nodes_by_id(node_ids, load, cls.from_domain)


@strawberry.type(description="Whether one decision verifies: its content against its hash, and its link.")
class ChainProof:
    seq: int
    hash: str = strawberry.field(description="SHA-256 (hex) over the previous hash and this decision's content.")
    prev_hash: str = strawberry.field(description="The hash this decision links to (all zeros for the first).")
    predecessor_seq: int | None = strawberry.field(description="seq - 1; null for the first decision.")
    predecessor_hash: str | None = strawberry.field(
        description="The predecessor's stored hash (the genesis hash for the first); null if it is missing.")
    content_verifies: bool = strawberry.field(description="The stored hash equals the recomputed one.")
    link_verifies: bool = strawberry.field(description="prevHash equals the predecessor's stored hash.")
    verifies: bool


@strawberry.type(description="Everything an auditor needs to answer why a decision was taken.")
class DecisionExplanation:
    decision: Decision
    summary: str = strawberry.field(description="Who decided what, under which policy, rules and reasons.")
    actor: str
    actor_kind: str = strawberry.field(description="automated, apikey or operator.")
    automated: bool
    automated_rule: str | None = strawberry.field(description="For automated decisions, the rule that acted.")
    policy_version: int | None
    policy_regime: str | None = strawberry.field(description="cn-ecl, eu-dsa, us-dmca or custom.")
    rules: list[RuleHit] = strawberry.field(description="Rules applied, with the inputs they saw.")
    reasons: list[ReasonCode]
    reason_text: str
    chain: ChainProof
    trace_id: str | None = strawberry.field(description="OpenTelemetry trace id of the request that decided.")
    span_id: str | None
    decided_at: datetime
    subject_type: str
    subject_id: strawberry.ID
    case_state: CaseState | None = strawberry.field(  # type: ignore[valid-type]
        description="For case decisions: the case's state now.")
    case: Case | None = strawberry.field(description="For case decisions: the case as it is now.")
    archive_bundle: ArchiveBundle | None = strawberry.field(
        description="The case's newest archive bundle, if it was archived.")

    @strawberry.field(description="The policy version the decision was taken under, with its document.")
    async def policy(self, info: Info) -> PolicyVersion | None:
        if self.policy_version is None:
            return None
        async with request_context(info).uow() as uow:
            version = await uow.policies.get(self.policy_version)
        return PolicyVersion.from_domain(version) if version else None

    @classmethod
    def from_domain(cls, x: audit_service.Explanation) -> DecisionExplanation:
        d, p = x.decision, x.proof
        node = Decision.from_domain(d)
        return cls(
            decision=node, summary=x.summary, actor=d.actor, actor_kind=audit_domain.actor_kind(d.actor),
            automated=d.automated, automated_rule=audit_domain.automated_rule(d.actor),
            policy_version=d.policy_version, policy_regime=x.regime, rules=node.rules, reasons=node.reasons,
            reason_text=d.reason_text,
            chain=ChainProof(
                seq=p.seq, hash=p.hash.hex(), prev_hash=p.prev_hash.hex(), predecessor_seq=p.predecessor_seq,
                predecessor_hash=p.predecessor_hash.hex() if p.predecessor_hash is not None else None,
                content_verifies=p.content_verifies, link_verifies=p.link_verifies, verifies=p.verifies,
            ),
            trace_id=d.trace_id, span_id=d.span_id, decided_at=d.decided_at, subject_type=d.subject_type,
            subject_id=node.subject_id, case_state=x.case.state if x.case else None,
            case=Case.from_domain(x.case) if x.case else None,
            archive_bundle=ArchiveBundle.from_domain(x.bundle) if x.bundle else None,
        )


@strawberry.type(description="The first place the decision hash chain does not verify.")
class AuditChainBreak:
    seq: int = strawberry.field(description="The changed row's seq, or the first missing seq.")
    reason: ChainBreakReason  # type: ignore[valid-type]
    decision_id: strawberry.ID | None = strawberry.field(
        description="The row at the break (for a gap: the first row after it); null when the tail is missing.")
    found_seq: int | None
    expected_hash: str = strawberry.field(
        description="content_changed: the recomputed hash; otherwise the hash the row should link to.")
    stored_hash: str | None = strawberry.field(
        description="content_changed: the stored hash; otherwise the stored prev_hash.")
    description: str


@strawberry.type(description="The first archive bundle that does not verify.")
class AuditBundleBreak:
    bundle_id: strawberry.ID
    case_id: strawberry.ID
    sha256: str = strawberry.field(description="The recorded SHA-256.")
    actual_sha256: str | None = strawberry.field(description="What the stored bytes hash to (null if missing).")
    uri: str
    problem: ArchiveBundleProblem  # type: ignore[valid-type]
    decision_id: strawberry.ID | None = strawberry.field(description="For diverges_from_log: the decision.")
    detail: str


@strawberry.type(description="The result of recomputing the tenant's decision chain and archive bundle hashes.")
class AuditTrailReport:
    ok: bool
    head_seq: int = strawberry.field(description="The chain head (last seq) the check ran up to.")
    head_hash: str
    decisions_checked: int
    chain_break: AuditChainBreak | None
    bundles_checked: int
    bundles_failed: int
    bundle_break: AuditBundleBreak | None
    checked_at: datetime

    @classmethod
    def from_domain(cls, r: audit_service.AuditReport) -> AuditTrailReport:
        cb, bb = r.chain_break, r.bundle_break
        return cls(
            ok=r.ok, head_seq=r.head_seq, head_hash=r.head_hash.hex(), decisions_checked=r.decisions_checked,
            chain_break=AuditChainBreak(
                seq=cb.seq, reason=cb.reason, decision_id=_gid("Decision", cb.decision_id), found_seq=cb.found_seq,
                expected_hash=cb.expected_hash.hex(), stored_hash=cb.stored_hash.hex() if cb.stored_hash else None,
                description=cb.describe(),
            ) if cb else None,
            bundles_checked=r.bundles_checked, bundles_failed=r.bundles_failed,
            bundle_break=AuditBundleBreak(
                bundle_id=strawberry.ID(global_id("ArchiveBundle", bb.bundle_id)),
                case_id=strawberry.ID(global_id("Case", bb.case_id)), sha256=bb.sha256,
                actual_sha256=bb.actual_sha256, uri=bb.uri, problem=bb.problem,
                decision_id=_gid("Decision", bb.decision_id), detail=bb.detail,
            ) if bb else None,
            checked_at=r.checked_at,
        )


@strawberry.input
class ArchiveDueCasesInput:
    limit: int = strawberry.field(default=500, description="At most this many cases (1 to 5,000).")


@strawberry.type
class ArchiveDueCasesSuccess:
    archived: int
    bundles: list[ArchiveBundle]


ArchiveDueCasesPayload = Annotated[ArchiveDueCasesSuccess | e.InvalidInputError | e.PolicyViolationError
                                   | e.ConflictError, strawberry.union("ArchiveDueCasesPayload")]


@strawberry.type
class AuditQuery:
    @strawberry.field(description="Why a decision was taken: actor, policy and regime, rules with their inputs, "
                                  "reasons, the hash-chain proof, the trace, and the case now. "
                                  "Auditors, reviewers, admins.")
    async def explain_decision(self, info: Info, id: strawberry.ID) -> DecisionExplanation:
        ctx = request_context(info)

        async def run() -> Any:
            decision_id = _decision_id(str(id))
            async with ctx.uow() as uow:
                x = await audit_service.explain_decision(uow, ctx.principal, decision_id)
            return DecisionExplanation.from_domain(x)

        return await e.query(run)

    @strawberry.field(description="Recompute this tenant's decision hash chain and every kept archive bundle's "
                                  "hash; report the first break. Auditors, admins.")
    async def verify_audit_trail(self, info: Info, include_bundles: bool = True) -> AuditTrailReport:
        ctx = request_context(info)

        async def run() -> Any:
            ctx.principal.require(Role.AUDITOR, Role.ADMIN)
            store = store_from_settings(ctx.settings) if include_bundles else None
            report = await audit_service.verify_audit_trail(ctx.uow, store)
            return AuditTrailReport.from_domain(report)

        return await e.query(run)

    @strawberry.field(description="This tenant's archive bundles, oldest first. Auditors, admins, reviewers.")
    async def archive_bundles(self, info: Info, first: int | None = 50,
                              after: str | None = None) -> relay.Connection[ArchiveBundle]:
        ctx = request_context(info)

        async def run() -> Any:
            ctx.principal.require(Role.AUDITOR, Role.ADMIN, Role.REVIEWER)

            return await ctx.connection(
                lambda uow, after_id, limit: uow.archive.page(after_id, limit),
                ArchiveBundle.from_domain, first, after)

        return await e.query(run)


@strawberry.type
class AuditMutation:
    @strawberry.mutation(description="Admins: archive this tenant's due closed cases now (the scheduler does it "
                                     "periodically); e.g. in a sandbox after advancing the test clock.")
    async def archive_due_cases(self, info: Info, input: ArchiveDueCasesInput) -> ArchiveDueCasesPayload:
        ctx = request_context(info)

        async def run() -> Any:
            ctx.principal.require(Role.ADMIN)
            if not 1 <= input.limit <= 5000:
                raise InvalidInput("'limit' must be between 1 and 5,000.", "limit")
            store = store_from_settings(ctx.settings)
            async with ctx.uow() as uow:
                result = await archive_service.archive_due_cases(uow, store, input.limit)
            return ArchiveDueCasesSuccess(archived=result.count,
                                          bundles=[ArchiveBundle.from_domain(b) for b in result.archived])

        return await e.payload(run)


__all__ = ["ArchiveBundle", "AuditMutation", "AuditQuery", "DecisionExplanation"]
