"""GraphQL for DSA statements of reasons (their submission status) and the transparency report.

Roles: `statementsOfReasons` and `transparencyReport` for admins and auditors;
`submitStatementsOfReasonsNow` for admins. The CSV download of the report is
GET /reports/transparency.csv (api/transparency_http.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from api import errors as e
from api.case_graphql import MeasureType
from api.context import request_context
from api.types import RightType, global_id, resolve_nodes_by_id
from domain.policy import MeasureType as DomainMeasureType
from domain.reference import RightType as DomainRightType
from domain.services import statements as statement_service
from domain.services import transparency_report as report_service
from domain.tenancy import Role
from domain.transparency import REPEAT_INFRINGER, SorStatus, StatementRecord, SubjectKind
from domain.transparency import TransparencyReport as DomainReport

StatementOfReasonsStatus = strawberry.enum(
    SorStatus, name="StatementOfReasonsStatus",
    description="PENDING: queued or waiting to be retried; SUBMITTED: accepted by the Transparency Database; "
    "REJECTED: invalid (refused locally, never sent, or refused by the database); DUPLICATE: the database "
    "already held its puid (treated as submitted).")


@strawberry.type(description="A DSA statement of reasons (Art 17) for one restriction decision, and its "
                 "submission to the DSA Transparency Database (Art 24(5)).")
class StatementOfReasons(relay.Node):
    id: relay.NodeID[str]
    puid: str = strawberry.field(description="The platform's unique id in the database: the decision's id.")
    decision_id: strawberry.ID = strawberry.field(description="The restriction decision (a Decision node).")
    subject_kind: str = strawberry.field(description="`listing` (measures on a listing) or `account`.")
    case_id: strawberry.ID | None
    restriction_id: strawberry.ID | None = strawberry.field(description="The AccountRestriction, for accounts.")
    status: StatementOfReasonsStatus  # type: ignore[valid-type]
    attempts: int = strawberry.field(description="Requests the statement was part of.")
    last_status: int | None = strawberry.field(description="The last HTTP status received, if any.")
    last_error: str | None
    problems: list[e.FieldProblem] = strawberry.field(
        description="Why it was rejected: the local validation or the database's errors, per field.")
    statement: JSON = strawberry.field(description="The statement as sent (TDB v2 fields; no personal data).")
    tdb_uuid: str | None = strawberry.field(description="The database's id of the accepted statement.")
    created_at: datetime
    next_attempt_at: datetime | None = strawberry.field(description="When a pending statement is sent next.")
    last_attempt_at: datetime | None
    submitted_at: datetime | None

    @classmethod
    def from_domain(cls, r: StatementRecord) -> StatementOfReasons:
        return cls(
            id=str(r.id), puid=r.puid, decision_id=strawberry.ID(global_id("Decision", r.decision_id)),
            subject_kind=r.subject_kind.value,
            case_id=strawberry.ID(global_id("Case", r.case_id)) if r.case_id else None,
            restriction_id=(strawberry.ID(global_id("AccountRestriction", r.restriction_id))
                            if r.subject_kind is SubjectKind.ACCOUNT and r.restriction_id else None),
            status=r.status, attempts=r.attempts, last_status=r.last_status, last_error=r.last_error,
            problems=[e.FieldProblem(field=p.field, message=p.message, code=p.code) for p in r.problems],
            statement=dict(r.statement),  # type: ignore[arg-type]
            tdb_uuid=r.tdb_uuid, created_at=r.created_at,
            next_attempt_at=r.next_attempt_at if r.status is SorStatus.PENDING else None,
            last_attempt_at=r.last_attempt_at, submitted_at=r.submitted_at,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        ctx = request_context(info)
        ctx.principal.require(*statement_service.READERS)

        async def load(ids: list[UUID]) -> Any:
            async with ctx.uow() as uow:
                return await uow.statements.get_many(ids)

        return await resolve_nodes_by_id(node_ids, load, cls.from_domain)


# ----- the report --------------------------------------------------------------------------------


@strawberry.type
class RightTypeCount:
    right_type: RightType  # type: ignore[valid-type]
    count: int


@strawberry.type
class MeasureTypeCount:
    type: MeasureType  # type: ignore[valid-type]
    count: int


@strawberry.type
class NoticeSourceCounts:
    trusted: int = strawberry.field(description="From notifiers in the platform's trusted programme.")
    other: int


@strawberry.type
class DeclarationCounts:
    received: int
    accepted: int
    rejected: int
    pending: int


@strawberry.type(description="Cases that reached each outcome in the period.")
class CaseOutcomeCounts:
    rejected: int
    restored: int
    upheld: int
    settled: int
    withdrawn: int


@strawberry.type(description="Account suspensions and terminations imposed in the period (DSA Art 23, 24(1)(b)).")
class AccountSuspensionCounts:
    manifestly_illegal_content: int = strawberry.field(description="Repeat infringers.")
    unfounded_notices: int = strawberry.field(description="Notifiers of manifestly unfounded notices.")
    unfounded_complaints: int = strawberry.field(description="Not tracked: always 0.")


@strawberry.type
class AppealCounts:
    filed: int
    upheld: int
    rejected: int
    pending: int


@strawberry.type(description="Moderation decisions (measures requested, notices rejected, account restrictions).")
class AutomationFigures:
    decisions: int
    automated: int
    share: float | None


@strawberry.type(description="Notice received -> first measure applied, for notices received in the period.")
class TimeToAction:
    actioned_notices: int
    median_seconds: float | None
    p90_seconds: float | None


@strawberry.type(description="Notices received in the period handled (measures requested or rejected) within "
                 "the review SLA of the policy version they were received under.")
class ReviewSlaFigures:
    hours: int = strawberry.field(description="The SLA of the policy in force now.")
    notices: int
    handled: int
    within_sla: int
    share: float | None


@strawberry.type(description="Statements of reasons queued in the period, by status.")
class StatementCounts:
    pending: int
    submitted: int
    rejected: int
    duplicate: int


@strawberry.type(description="Transparency report (DSA Art 15, 24) for whole days in the tenant's timezone.")
class TransparencyReport:
    from_: date = strawberry.field(name="from")
    to: date
    timezone: str
    notices: int
    notices_by_right_type: list[RightTypeCount]
    notices_by_source: NoticeSourceCounts
    measures_applied: list[MeasureTypeCount]
    declarations: DeclarationCounts
    case_outcomes: CaseOutcomeCounts
    account_suspensions: AccountSuspensionCounts
    appeals: AppealCounts
    automated_decisions: AutomationFigures
    time_to_action: TimeToAction
    review_sla: ReviewSlaFigures
    statements_of_reasons: StatementCounts

    @classmethod
    def from_domain(cls, r: DomainReport) -> TransparencyReport:
        f = r.figures
        d, o, s, a, st = (f.declarations_by_status, f.case_outcomes, f.suspensions_by_reason, f.appeals_by_status,
                          f.statements_by_status)
        return cls(
            from_=r.period_from, to=r.period_to, timezone=r.timezone, notices=r.notices,
            notices_by_right_type=[RightTypeCount(right_type=t, count=f.notices_by_right_type.get(t.value, 0))
                                   for t in DomainRightType],
            notices_by_source=NoticeSourceCounts(trusted=f.notices_trusted, other=f.notices_other),
            measures_applied=[MeasureTypeCount(type=t, count=f.measures_applied_by_type.get(t.value, 0))
                              for t in DomainMeasureType],
            declarations=DeclarationCounts(received=sum(d.values()), accepted=d.get("accepted", 0),
                                           rejected=d.get("rejected", 0), pending=d.get("submitted", 0)),
            case_outcomes=CaseOutcomeCounts(**{k: o.get(k, 0) for k in ("rejected", "restored", "upheld", "settled",
                                                                         "withdrawn")}),
            account_suspensions=AccountSuspensionCounts(manifestly_illegal_content=s.get(REPEAT_INFRINGER, 0),
                                                        unfounded_notices=s.get("unfounded_notices", 0),
                                                        unfounded_complaints=0),
            appeals=AppealCounts(filed=sum(a.values()), upheld=a.get("upheld", 0), rejected=a.get("rejected", 0),
                                 pending=a.get("filed", 0)),
            automated_decisions=AutomationFigures(decisions=f.moderation_decisions, automated=f.automated_decisions,
                                                  share=r.automated_share),
            time_to_action=TimeToAction(actioned_notices=f.actioned_notices,
                                        median_seconds=f.time_to_action_median_s,
                                        p90_seconds=f.time_to_action_p90_s),
            review_sla=ReviewSlaFigures(hours=r.review_sla_hours, notices=r.notices, handled=f.notices_handled,
                                        within_sla=f.notices_within_sla, share=r.within_sla_share),
            statements_of_reasons=StatementCounts(**{k.value: st.get(k.value, 0) for k in SorStatus}),
        )


@strawberry.type
class SubmitStatementsNowResult:
    waiting: int = strawberry.field(description="Pending statements whose backoff was cut short.")


SubmitStatementsNowPayload = Annotated[SubmitStatementsNowResult | e.InvalidInputError,
                                       strawberry.union("SubmitStatementsNowPayload")]


@strawberry.type
class TransparencyQuery:
    @strawberry.field(description="DSA statements of reasons and their submission status, oldest first "
                      "(admins and auditors).")
    async def statements_of_reasons(
        self, info: Info, status: StatementOfReasonsStatus | None = None,  # type: ignore[valid-type]
        first: int | None = 50, after: str | None = None,
    ) -> relay.Connection[StatementOfReasons]:
        ctx = request_context(info)

        async def run() -> Any:
            ctx.principal.require(*statement_service.READERS)

            return await ctx.connection(
                lambda uow, after_id, limit: statement_service.list_statements(uow, ctx.principal, status, after_id,
                                                                               limit),
                StatementOfReasons.from_domain, first, after)

        return await e.query(run)

    @strawberry.field(description="Transparency report for the days `from`..`to` (inclusive, tenant timezone); "
                      "admins and auditors. CSV: GET /reports/transparency.csv?from=&to=.")
    async def transparency_report(
        self, info: Info, from_: Annotated[date, strawberry.argument(name="from")], to: date,
    ) -> TransparencyReport:
        ctx = request_context(info)

        async def run() -> TransparencyReport:
            ctx.principal.require(*report_service.REPORT_READERS)
            async with ctx.uow() as uow:
                report = await report_service.transparency_report(uow, ctx.principal, from_, to)
            return TransparencyReport.from_domain(report)

        return await e.query(run)


@strawberry.type
class TransparencyMutation:
    @strawberry.mutation(description="Admins: send pending statements of reasons now instead of after their backoff.")
    async def submit_statements_of_reasons_now(self, info: Info) -> SubmitStatementsNowPayload:
        ctx = request_context(info)

        async def run() -> SubmitStatementsNowResult:
            ctx.principal.require(Role.ADMIN)
            async with ctx.uow() as uow:
                return SubmitStatementsNowResult(waiting=await statement_service.submit_now(uow, ctx.principal))

        return await e.payload(run)
