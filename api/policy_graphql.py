"""GraphQL for tenant policy: versions, presets, validation, drafts, publishing and simulation.

`api.schema.Query` and `Mutation` inherit `PolicyQuery` and `PolicyMutation`. Resolvers stay thin:
decode ids, call one use case of `domain.services.policies`, map the result.

Roles: admins change policy; admins, reviewers and auditors read it and simulate. Presets, the
JSON Schema and `validatePolicy` hold no tenant data and are open to any authenticated caller.

`simulatePolicy` is a Query field: it reads the version in force and the simulated version and
writes nothing (no version, no decision), so it is safe to retry, cache and run in parallel. Its
input can be wrong in expected ways (an invalid inline document, an unknown version, too many
scenarios), so unlike the other reads it returns a payload union, with those errors as data.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, cast
from uuid import UUID

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from api import errors as e
from api.context import request_context
from api.types import LegalStatus, RightType, VerificationStatus, decode_id
from domain import policies as domain_policies
from domain import policy as domain_policy
from domain.decisions import json_value
from domain.errors import InvalidInput, NotFound
from domain.policy_eval import NoticeAssessment
from domain.reference import LegalStatus as DomainLegalStatus
from domain.reference import VerificationStatus as DomainVerificationStatus
from domain.services import policies as policy_service

PolicyVersionStatus = strawberry.enum(
    domain_policies.PolicyStatus, name="PolicyVersionStatus",
    description="draft: editable; published: in force (one per tenant); superseded: was in force.",
)


@strawberry.enum(name="PolicySimulationOutcome", description="What the policy does with a notice on intake.")
class PolicySimulationOutcome(StrEnum):
    REVIEW = "review"
    INCOMPLETE = "incomplete"
    REJECT = "reject"
    AUTO_ACCEPT = "auto_accept"


# ----- object types ------------------------------------------------------------------------------


@strawberry.type(description="One version of the tenant's policy. Published and superseded versions never change.")
class PolicyVersion(relay.Node):
    id: relay.NodeID[str]
    version: int = strawberry.field(description="1, 2, 3…; decisions record the version they were taken under.")
    status: PolicyVersionStatus  # type: ignore[valid-type]
    regime: str = strawberry.field(description="cn-ecl, eu-dsa, us-dmca or custom (from the document).")
    document: JSON = strawberry.field(description="The policy document (see policyJsonSchema), normalized.")
    based_on: str = strawberry.field(description="preset:<name> or version:<n> it was created from.")
    note: str | None
    created_at: datetime
    created_by: str
    published_at: datetime | None
    published_by: str | None

    @classmethod
    def from_domain(cls, v: domain_policies.PolicyVersion) -> PolicyVersion:
        return cls(
            id=str(v.id), version=v.version, status=v.status, regime=str(v.document.get("regime", "")),
            document=cast(JSON, v.document), based_on=v.based_on, note=v.note, created_at=v.created_at,
            created_by=v.created_by, published_at=v.published_at, published_by=v.published_by,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        c = request_context(info)

        async def run() -> list[Any]:
            out: list[Any] = []
            async with c.uow() as uow:
                for node_id in node_ids:
                    try:
                        version_id = UUID(node_id)
                    except ValueError:
                        out.append(None)
                        continue
                    v = await policy_service.get_policy_version(uow, c.principal, version_id=version_id)
                    out.append(cls.from_domain(v) if v else None)
            if required and any(o is None for o in out):
                raise NotFound("Node", "id")
            return out

        return await e.query(run)


@strawberry.type(description="A starting point for a policy: createPolicyDraft(basedOn: \"preset:<name>\").")
class PolicyPreset:
    name: str
    regime: str
    document: JSON


@strawberry.type(description="One rule the engine checked, with the inputs it saw.")
class PolicyRuleHit:
    rule_id: str = strawberry.field(description="Stable rule id, e.g. notices.required_fields.")
    passed: bool
    inputs: JSON


@strawberry.type(description="What one policy decides for one scenario.")
class PolicyEvaluation:
    outcome: PolicySimulationOutcome
    measure: str | None = strawberry.field(description="The measure that would be requested; null on reject.")
    review_due_hours: int = strawberry.field(description="Review SLA when a review is pending, else 0.")
    clarification_days: int | None = strawberry.field(description="Days to complete an incomplete notice.")
    problems: list[e.FieldProblem] = strawberry.field(description="What the complainant would be told.")
    rule_hits: list[PolicyRuleHit]

    @classmethod
    def from_domain(cls, a: NoticeAssessment) -> PolicyEvaluation:
        return cls(
            outcome=PolicySimulationOutcome(a.outcome), measure=a.measure, review_due_hours=a.review_due_hours,
            clarification_days=a.clarification_days,
            problems=[e.FieldProblem(field=p.field, message=p.message, code=p.code) for p in a.problems],
            rule_hits=[PolicyRuleHit(rule_id=h.rule_id, passed=h.passed, inputs=cast(JSON, json_value(dict(h.inputs))))
                       for h in a.hits],
        )


@strawberry.type(description="One scenario: the simulated policy's decision next to the one in force.")
class PolicyScenarioResult:
    index: int
    label: str | None
    today: date = strawberry.field(description="The date the scenario was evaluated on.")
    changed: bool = strawberry.field(description="Outcome, measure or problems differ.")
    simulated: PolicyEvaluation
    in_force: PolicyEvaluation


@strawberry.type
class SimulatePolicySuccess:
    simulated_version: int | None = strawberry.field(description="The simulated version; null for a document.")
    in_force_version: int
    changed_count: int
    results: list[PolicyScenarioResult]

    @classmethod
    def from_domain(cls, r: policy_service.SimulationResult) -> SimulatePolicySuccess:
        return cls(
            simulated_version=r.candidate_version, in_force_version=r.in_force_version,
            changed_count=r.changed_count,
            results=[
                PolicyScenarioResult(index=s.index, label=s.label, today=s.facts.today, changed=s.changed,
                                     simulated=PolicyEvaluation.from_domain(s.candidate),
                                     in_force=PolicyEvaluation.from_domain(s.in_force))
                for s in r.results
            ],
        )


@strawberry.type
class PolicyVersionSuccess:
    policy_version: PolicyVersion


# ----- inputs ------------------------------------------------------------------------------------


@strawberry.input
class CreatePolicyDraftInput:
    based_on: str = strawberry.field(
        description='"preset:<name>" (cn-ecl, eu-dsa, us-dmca), "current" (the version in force) or "version:<n>".'
    )
    note: str | None = strawberry.field(default=None, description="Why; up to 2,000 characters.")


@strawberry.input
class UpdatePolicyDraftInput:
    id: strawberry.ID
    document: JSON = strawberry.field(
        description="The whole new document. Refused with every problem (at document.<path>) if invalid."
    )
    note: str | None = None


@strawberry.input
class PublishPolicyInput:
    id: strawberry.ID


@strawberry.input(description="A hypothetical notice, as the policy engine sees it.")
class PolicyScenarioInput:
    right_type: RightType  # type: ignore[valid-type]
    jurisdiction: str = strawberry.field(description="The right's jurisdiction: CN, US, EU, WO, …")
    verification_status: VerificationStatus = DomainVerificationStatus.UNVERIFIED  # type: ignore[valid-type]
    legal_status: LegalStatus = DomainLegalStatus.ACTIVE  # type: ignore[valid-type]
    valid_until: date | None = None
    today: date | None = strawberry.field(default=None, description="Default: today on the tenant's clock.")
    present_fields: list[str] = strawberry.field(
        default_factory=list, description="Notice fields present, as in the policy (explanation, signature, …)."
    )
    evidence_kinds: list[str] = strawberry.field(default_factory=list)
    listing_count: int = 1
    has_agent: bool = False
    agent_authorized: bool = False
    notifier_trusted: bool = False
    label: str | None = strawberry.field(default=None, description="Echoed back, to tell results apart.")


@strawberry.input
class SimulatePolicyInput:
    id: strawberry.ID | None = strawberry.field(
        default=None, description="A PolicyVersion to simulate (a draft, or any earlier version)."
    )
    document: JSON | None = strawberry.field(default=None, description="Or an unsaved document.")
    scenarios: list[PolicyScenarioInput] = strawberry.field(
        default_factory=list, description="Hypothetical notices (with caseIds: 1 to 100 in all).")
    case_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Past cases, evaluated as they stood at intake (label `case:<id>`).")


def _scenario(s: PolicyScenarioInput) -> policy_service.PolicyScenario:
    return policy_service.PolicyScenario(
        right_type=s.right_type, jurisdiction=s.jurisdiction, verification_status=s.verification_status,
        legal_status=s.legal_status, valid_until=s.valid_until, today=s.today,
        present_fields=tuple(s.present_fields), evidence_kinds=tuple(s.evidence_kinds),
        listing_count=s.listing_count, has_agent=s.has_agent, agent_authorized=s.agent_authorized,
        notifier_trusted=s.notifier_trusted, label=s.label,
    )


_Errors = e.InvalidInputError | e.NotFoundError | e.ConflictError
CreatePolicyDraftPayload = Annotated[PolicyVersionSuccess | _Errors, strawberry.union("CreatePolicyDraftPayload")]
UpdatePolicyDraftPayload = Annotated[PolicyVersionSuccess | _Errors, strawberry.union("UpdatePolicyDraftPayload")]
PublishPolicyPayload = Annotated[PolicyVersionSuccess | _Errors, strawberry.union("PublishPolicyPayload")]
SimulatePolicyPayload = Annotated[
    SimulatePolicySuccess | e.InvalidInputError | e.NotFoundError | e.LimitExceededError,
    strawberry.union("SimulatePolicyPayload"),
]


# ----- root fields -------------------------------------------------------------------------------


@strawberry.type
class PolicyQuery:
    @strawberry.field(description="The policy in force (admins, reviewers, auditors).")
    async def policy(self, info: Info) -> PolicyVersion:
        c = request_context(info)

        async def run() -> PolicyVersion:
            async with c.uow() as uow:
                return PolicyVersion.from_domain(await policy_service.get_policy_in_force(uow, c.principal))

        return await e.query(run)

    @strawberry.field(description="One policy version by number; null when there is none.")
    async def policy_version(self, info: Info, version: int) -> PolicyVersion | None:
        c = request_context(info)

        async def run() -> PolicyVersion | None:
            async with c.uow() as uow:
                v = await policy_service.get_policy_version(uow, c.principal, version=version)
            return PolicyVersion.from_domain(v) if v else None

        return await e.query(run)

    @strawberry.field(description="All policy versions, oldest first.")
    async def policy_versions(
        self, info: Info, first: int | None = 50, after: str | None = None
    ) -> relay.Connection[PolicyVersion]:
        c = request_context(info)

        return await e.query(lambda: c.connection(
            lambda uow, after_id, limit: policy_service.list_policy_versions(uow, c.principal, after_id, limit),
            PolicyVersion.from_domain, first, after))

    @strawberry.field(description="Every problem with a policy document (empty when valid). Stores nothing.")
    def validate_policy(self, document: JSON) -> list[e.FieldProblem]:
        return [e.FieldProblem(field=p.field, message=p.message, code=p.code)
                for p in policy_service.validate_policy_document(document)]

    @strawberry.field(description="The presets a policy can start from.")
    def policy_presets(self) -> list[PolicyPreset]:
        return [PolicyPreset(name=name, regime=p.regime.value, document=cast(JSON, p.model_dump(mode="json")))
                for name, p in domain_policy.PRESETS.items()]

    @strawberry.field(description="The JSON Schema of the policy document.")
    def policy_json_schema(self) -> JSON:
        return cast(JSON, domain_policy.policy_json_schema())

    @strawberry.field(
        description="What a policy version or an unsaved document would decide for hypothetical notices, next to "
        "the version in force. Writes nothing."
    )
    async def simulate_policy(self, info: Info, input: SimulatePolicyInput) -> SimulatePolicyPayload:
        c = request_context(info)

        async def run() -> SimulatePolicySuccess:
            version_id = decode_id(input.id, "PolicyVersion", "id") if input.id is not None else None
            if version_id is None and input.document is None:
                raise InvalidInput("Give the id of a policy version or a document.", "id")
            scenarios = [_scenario(s) for s in input.scenarios]
            async with c.uow() as uow:
                result = await policy_service.simulate_policy(
                    uow, c.principal, scenarios, version_id=version_id, document=input.document,
                    case_ids=[decode_id(x, "Case", f"caseIds.{n}") for n, x in enumerate(input.case_ids)],
                )
            return SimulatePolicySuccess.from_domain(result)

        return await e.payload(run)


@strawberry.type
class PolicyMutation:
    @strawberry.mutation(description="Admins: create a draft policy version from a preset or an existing version.")
    async def create_policy_draft(self, info: Info, input: CreatePolicyDraftInput) -> CreatePolicyDraftPayload:
        c = request_context(info)

        async def run() -> PolicyVersionSuccess:
            async with c.uow() as uow:
                v = await policy_service.create_policy_draft(uow, c.principal, input.based_on, input.note)
            return PolicyVersionSuccess(policy_version=PolicyVersion.from_domain(v))

        return await e.payload(run)

    @strawberry.mutation(description="Admins: replace a draft's document; an invalid document is refused whole.")
    async def update_policy_draft(self, info: Info, input: UpdatePolicyDraftInput) -> UpdatePolicyDraftPayload:
        c = request_context(info)
        return await c.mutate(
            lambda uow: policy_service.update_policy_draft(
                uow, c.principal, decode_id(input.id, "PolicyVersion", "id"), input.document, input.note),
            lambda v: PolicyVersionSuccess(policy_version=PolicyVersion.from_domain(v)))

    @strawberry.mutation(description="Admins: put a draft in force; the current version is superseded.")
    async def publish_policy(self, info: Info, input: PublishPolicyInput) -> PublishPolicyPayload:
        c = request_context(info)
        return await c.mutate(
            lambda uow: policy_service.publish_policy(uow, c.principal, decode_id(input.id, "PolicyVersion", "id")),
            lambda v: PolicyVersionSuccess(policy_version=PolicyVersion.from_domain(v)))
