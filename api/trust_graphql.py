"""GraphQL for suspension of handling, invalidation outcomes, notifier records, account restrictions, appeals."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from api import errors as e
from api.case_graphql import (
    CasePayload,
    CasesPayload,
    EvidenceInput,
    _evidence,
    case_success,
    cases_success,
)
from api.context import request_context
from api.types import Party, decode_id, decode_optional_id, global_id
from domain.errors import InvalidInput
from domain.policy import SuspensionGround as DomainSuspensionGround
from domain.services import appeals as appeal_service
from domain.services import suspensions as suspension_service
from domain.tenancy import Role
from domain.trust import window_start

SuspensionGround = strawberry.enum(DomainSuspensionGround, name="SuspensionGround")


class _InvalidationOutcome(StrEnum):
    INVALIDATED = "invalidated"
    UPHELD = "upheld"
    WITHDRAWN = "withdrawn"


InvalidationOutcome = strawberry.enum(_InvalidationOutcome, name="InvalidationOutcome")


@strawberry.input
class RequestSuspensionInput:
    case_id: strawberry.ID
    ground: SuspensionGround  # type: ignore[valid-type]
    evidence: list[EvidenceInput] = strawberry.field(default_factory=list)
    harm_statement: str = ""


@strawberry.input
class DecideSuspensionInput:
    suspension_id: strawberry.ID
    grant: bool
    reason: str = ""


@strawberry.input
class ResumeCaseInput:
    case_id: strawberry.ID
    reason: str = strawberry.field(description="Why handling resumes (the ground has ended); required.")


@strawberry.input
class InvalidationOutcomeInput:
    ip_right_id: strawberry.ID
    outcome: InvalidationOutcome  # type: ignore[valid-type]
    decided_at: datetime | None = strawberry.field(
        default=None, description="When the office decided: with an offset, past, not before the request was "
        "accepted; default now.")


@strawberry.input
class EndAccountRestrictionInput:
    restriction_id: strawberry.ID
    reason: str = ""


@strawberry.input
class FileAppealInput:
    decision_id: strawberry.ID
    appellant_id: strawberry.ID = strawberry.field(
        description="The party the decision acts against: the merchant for measures on its listing, the notifier "
        "for a rejected notice, the restricted party for an account restriction.")
    grounds: str
    explanation: str = ""
    evidence: list[EvidenceInput] = strawberry.field(default_factory=list)


@strawberry.input
class DecideAppealInput:
    appeal_id: strawberry.ID
    uphold: bool
    reason: str = ""


@strawberry.type
class SuspensionRequested:
    suspension_id: strawberry.ID


@strawberry.type
class AppealFiled:
    appeal_id: strawberry.ID


@strawberry.type
class AppealDecided:
    appeal_id: strawberry.ID
    outcome: str


@strawberry.type
class RestrictionEnded:
    restriction_id: strawberry.ID


@strawberry.type(description="A warning, suspension or termination of a merchant or notifier account.")
class AccountRestriction(relay.Node):
    id: relay.NodeID[str]
    reason: str
    kind: str
    counts: JSON = strawberry.field(description="The figures that justified it (DSA Art 23(3)).")
    starts_at: datetime
    ends_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    party_id: strawberry.Private[UUID]

    @strawberry.field
    async def party(self, info: Info) -> Party | None:
        p = await request_context(info).parties.load(self.party_id)
        return Party.from_domain(p) if p else None

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Any, required: bool = False) -> list[Any]:
        out: list[Any] = []
        async with request_context(info).uow() as uow:
            for n in node_ids:
                try:
                    row = await uow.trust.restriction(UUID(n))
                except ValueError:
                    row = None
                out.append(cls.from_row(row) if row else None)
        return out

    @classmethod
    def from_row(cls, r: Any) -> AccountRestriction:
        return cls(
            id=str(r["id"]),
            reason=r["reason"],
            kind=r["kind"],
            counts=r["counts"],
            starts_at=r["starts_at"],
            ends_at=r["ends_at"],
            ended_at=r["ended_at"],
            end_reason=r["end_reason"],
            party_id=r["party_id"],
        )


@strawberry.type(description="A notifier's record over a rolling window: the accuracy dashboard.")
class NotifierStats:
    window_days: int
    notices: int
    cases: int
    accepted: int
    rejected: int
    manifestly_unfounded: int
    successful_declarations: int
    withdrawn: int
    acceptance_rate: float | None
    unfounded_ratio: float | None
    successful_declaration_rate: float | None
    trusted: bool
    trusted_since: datetime | None


SuspensionRequestPayload = Annotated[
    SuspensionRequested | e.InvalidInputError | e.NotFoundError | e.ConflictError | e.PolicyViolationError,
    strawberry.union("SuspensionRequestPayload"),
]
AppealFilePayload = Annotated[
    AppealFiled | e.InvalidInputError | e.NotFoundError | e.ConflictError | e.PolicyViolationError,
    strawberry.union("AppealFilePayload"),
]
AppealDecidePayload = Annotated[
    AppealDecided | e.InvalidInputError | e.NotFoundError | e.ConflictError | e.InvalidTransitionError,
    strawberry.union("AppealDecidePayload"),
]
RestrictionEndPayload = Annotated[
    RestrictionEnded | e.ConflictError | e.InvalidInputError, strawberry.union("RestrictionEndPayload")
]


@strawberry.type
class TrustQuery:
    @strawberry.field(
        description="A notifier's rolling record (rights holder or agent); default window: the "
        "policy's abusive-notifier window."
    )
    async def notifier_stats(
        self, info: Info, party_id: strawberry.ID, window_days: int | None = None
    ) -> NotifierStats:
        ctx = request_context(info)

        async def run() -> NotifierStats:
            party = decode_id(party_id, "Party", "partyId")
            async with ctx.uow() as uow:
                in_force = await uow.policies.in_force()
                days = (in_force.policy.suspension.abusive_notifier.window_days if window_days is None
                        else window_days)  # 0 is refused below, not read as "the default"
                if not 1 <= days <= 3650:
                    raise InvalidInput("windowDays must be between 1 and 3650.", "windowDays")
                record = await uow.trust.record(party, window_start(uow.clock.now(), days))
                since = (await uow.trust.trusted_since([party])).get(party)
            return NotifierStats(
                window_days=days,
                notices=record.notices,
                cases=record.cases,
                accepted=record.accepted,
                rejected=record.rejected,
                manifestly_unfounded=record.unfounded,
                successful_declarations=record.successful_declarations,
                withdrawn=record.withdrawn,
                acceptance_rate=record.acceptance_rate,
                unfounded_ratio=record.unfounded_ratio,
                successful_declaration_rate=record.successful_declaration_rate,
                trusted=since is not None,
                trusted_since=since,
            )

        return await e.query(run)

    @strawberry.field(description="Account restrictions, newest last; optionally of one party.")
    async def account_restrictions(
        self, info: Info, party_id: strawberry.ID | None = None, first: int | None = 50, after: str | None = None
    ) -> relay.Connection[AccountRestriction]:
        ctx = request_context(info)

        async def run() -> Any:
            party = decode_optional_id(party_id, "Party", "partyId")

            return await ctx.connection(
                lambda uow, after_id, limit: uow.trust.restriction_rows(party, after_id, limit),
                AccountRestriction.from_row, first, after, key=lambda r: r["id"])

        return await e.query(run)


@strawberry.type
class TrustMutation:
    @strawberry.mutation(description="Ask to suspend handling of a case (Beijing guideline art 25).")
    async def request_suspension(self, info: Info, input: RequestSuspensionInput) -> SuspensionRequestPayload:
        ctx = request_context(info)

        async def run() -> SuspensionRequested:
            data = suspension_service.SuspensionRequest(
                case_id=decode_id(input.case_id, "Case", "caseId"),
                ground=DomainSuspensionGround(input.ground),
                evidence=_evidence(input.evidence),
                harm_statement=input.harm_statement,
            )
            async with ctx.uow() as uow:
                suspension_id = await suspension_service.request_suspension(uow, ctx.principal, data)
            return SuspensionRequested(suspension_id=strawberry.ID(global_id("Suspension", suspension_id)))

        return await e.payload(run)

    @strawberry.mutation(description="Reviewers: grant or refuse a suspension of handling.")
    async def decide_suspension(self, info: Info, input: DecideSuspensionInput) -> CasePayload:
        ctx = request_context(info)
        return await ctx.mutate(
            lambda uow: suspension_service.decide_suspension(
                uow, ctx.principal, decode_id(input.suspension_id, "Suspension", "suspensionId"), input.grant,
                input.reason),
            case_success)

    @strawberry.mutation(description="Reviewers: end a suspension of handling whose ground has ended. The case goes "
                         "back to where it was, its deadlines run on from where they stopped, and measures lifted for "
                         "the suspension are requested again.")
    async def resume_case(self, info: Info, input: ResumeCaseInput) -> CasePayload:
        ctx = request_context(info)
        return await ctx.mutate(
            lambda uow: suspension_service.resume_case(
                uow, ctx.principal, decode_id(input.case_id, "Case", "caseId"), input.reason),
            case_success)

    @strawberry.mutation(description="Record the IP office's decision on the pending invalidation request, once.")
    async def record_invalidation_outcome(self, info: Info, input: InvalidationOutcomeInput) -> CasesPayload:
        ctx = request_context(info)
        return await ctx.mutate(
            lambda uow: suspension_service.record_invalidation_outcome(
                uow, ctx.principal, decode_id(input.ip_right_id, "IpRight", "ipRightId"),
                _InvalidationOutcome(input.outcome).value, input.decided_at),
            cases_success)

    @strawberry.mutation(description="Reviewers: end an account restriction early.")
    async def end_account_restriction(self, info: Info, input: EndAccountRestrictionInput) -> RestrictionEndPayload:
        ctx = request_context(info)

        async def run() -> RestrictionEnded:
            restriction_id = decode_id(input.restriction_id, "AccountRestriction", "restrictionId")
            async with ctx.uow() as uow:
                await suspension_service.end_restriction_now(uow, ctx.principal, restriction_id, input.reason)
            return RestrictionEnded(restriction_id=input.restriction_id)

        return await e.payload(run)

    @strawberry.mutation(description="An affected party appeals a decision (DSA Art 20) within the policy's window; "
                                     "a decision has at most one appeal pending or upheld.")
    async def file_appeal(self, info: Info, input: FileAppealInput) -> AppealFilePayload:
        ctx = request_context(info)

        async def run() -> AppealFiled:
            data = appeal_service.AppealInput(
                decision_id=decode_id(input.decision_id, "Decision", "decisionId"),
                appellant_id=decode_id(input.appellant_id, "Party", "appellantId"),
                grounds=input.grounds,
                explanation=input.explanation,
                evidence=_evidence(input.evidence),
            )
            async with ctx.uow() as uow:
                appeal_id = await appeal_service.file_appeal(uow, ctx.principal, data)
            return AppealFiled(appeal_id=strawberry.ID(global_id("Appeal", appeal_id)))

        return await e.payload(run)

    @strawberry.mutation(description="Reviewers (not the one who decided): uphold or reject an appeal.")
    async def decide_appeal(self, info: Info, input: DecideAppealInput) -> AppealDecidePayload:
        ctx = request_context(info)

        async def run() -> AppealDecided:
            appeal_id = decode_id(input.appeal_id, "Appeal", "appealId")
            async with ctx.uow() as uow:
                outcome = await appeal_service.decide_appeal(uow, ctx.principal, appeal_id, input.uphold, input.reason)
            return AppealDecided(appeal_id=input.appeal_id, outcome=outcome)

        return await e.payload(run)


__all__ = ["Role", "TrustMutation", "TrustQuery"]
