"""GraphQL for notices, cases, measures, declarations, action proofs and decisions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from api import errors as e
from api.context import request_context
from api.pagination import (
    cursor_instant,
    cursor_int,
    cursor_uuid,
    decode_parts_cursor,
    decode_seq_cursor,
    encode_cursor,
    encode_parts_cursor,
    encode_seq_cursor,
    page_size,
)
from api.types import IpRight, Listing, Party, decode_id, decode_optional_id, global_id, resolve_nodes_by_id
from domain import cases as case_domain
from domain import notices as nd
from domain.decisions import Decision as DomainDecision
from domain.decisions import Reason as DomainReason
from domain.errors import InvalidInput
from domain.policy import MeasureType as DomainMeasureType
from domain.reference import check_batch_size
from domain.services import declarations as declaration_service
from domain.services import notices as notice_service
from domain.tenancy import Role

CaseState = strawberry.enum(case_domain.CaseState, name="CaseState")
CaseEvent = strawberry.enum(case_domain.CaseEvent, name="CaseEvent")
MeasureType = strawberry.enum(DomainMeasureType, name="MeasureType")
MeasureStatus = strawberry.enum(nd.MeasureStatus, name="MeasureStatus")
DeclarationStatus = strawberry.enum(nd.DeclarationStatus, name="DeclarationStatus")
DeclarationGround = strawberry.enum(nd.DeclarationGround, name="DeclarationGround")
ProofKind = strawberry.enum(nd.ProofKind, name="ProofKind")

_SUBJECT_TYPES = {"case": "Case", "measure": "Measure", "declaration": "Declaration",
                  "policy_version": "PolicyVersion", "notice": "Notice", "ip_right": "IpRight"}


async def _load(info: Info, name: str, ids: Sequence[UUID]) -> list[Any]:
    ctx = request_context(info)
    fetchers = {
        "notices": lambda uow, keys: uow.notices.get_many(keys),
        "cases": lambda uow, keys: uow.cases.get_many(keys),
        "declarations": lambda uow, keys: _declarations(uow, keys),
        "measures_by_case": lambda uow, keys: _measures_by_case(uow, keys),
        "decisions_by_case": lambda uow, keys: _decisions_by_case(uow, keys),
    }
    return list(await ctx._loader(name, fetchers[name]).load_many(list(ids)))


async def _declarations(uow: Any, ids: Sequence[UUID]) -> list[Any]:
    return [await uow.declarations.get(i) for i in ids]


async def _measures_by_case(uow: Any, case_ids: Sequence[UUID]) -> list[list[nd.Measure]]:
    grouped: dict[UUID, list[nd.Measure]] = defaultdict(list)
    for m in await uow.measures.by_cases(case_ids):
        grouped[m.case_id].append(m)
    return [grouped[c] for c in case_ids]


async def _decisions_by_case(uow: Any, case_ids: Sequence[UUID]) -> list[list[DomainDecision]]:
    return [await uow.decision_reads.for_subject(c, None, 500) for c in case_ids]


async def _resolve_nodes(info: Info, name: str, cls: Any, node_ids: Iterable[str]) -> list[Any]:
    return await resolve_nodes_by_id(node_ids, lambda ids: _load(info, name, ids), cls.from_domain)


# ----- output types ------------------------------------------------------------------------------


@strawberry.type(description="A piece of evidence: what it is, where it is, and its SHA-256.")
class Evidence:
    kind: str
    uri: str | None
    sha256: str | None
    description: str

    @classmethod
    def from_domain(cls, x: nd.Evidence) -> Evidence:
        return cls(kind=x.kind, uri=x.uri, sha256=x.sha256, description=x.description)


@strawberry.type
class Statements:
    good_faith: bool
    accuracy: bool
    authority: bool


@strawberry.type(description="A rule the decision applied, with the inputs it saw.")
class RuleHit:
    rule_id: str
    passed: bool
    inputs: JSON


@strawberry.type
class ReasonCode:
    code: str
    text: str


@strawberry.type(description="An accountability record: every state change is one, hash-chained per tenant.")
class Decision(relay.Node):
    id: relay.NodeID[str]
    seq: int = strawberry.field(description="Position in the tenant's decision chain.")
    subject_type: str
    subject_id: strawberry.ID
    kind: str
    outcome: str
    actor: str = strawberry.field(description="`apikey:<id>`, `operator`, or `automated:<rule id>`.")
    automated: bool
    policy_version: int | None
    rules: list[RuleHit]
    reasons: list[ReasonCode]
    reason_text: str
    trace_id: str | None
    span_id: str | None
    decided_at: datetime
    hash: str = strawberry.field(description="SHA-256 (hex) over this decision and the previous hash.")
    prev_hash: str

    @classmethod
    def from_domain(cls, d: DomainDecision) -> Decision:
        return cls(
            id=str(d.id), seq=d.seq, subject_type=d.subject_type,
            subject_id=strawberry.ID(global_id(_SUBJECT_TYPES.get(d.subject_type, d.subject_type), d.subject_id)),
            kind=d.kind, outcome=d.outcome, actor=d.actor, automated=d.automated, policy_version=d.policy_version,
            rules=[RuleHit(rule_id=r["rule_id"], passed=r["passed"], inputs=r.get("inputs") or {})  # type: ignore[arg-type]
                   for r in d.rules],
            reasons=[ReasonCode(code=r["code"], text=r.get("text", "")) for r in d.reasons],
            reason_text=d.reason_text, trace_id=d.trace_id, span_id=d.span_id, decided_at=d.decided_at,
            hash=d.hash.hex(), prev_hash=d.prev_hash.hex(),
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        ctx = request_context(info)
        out: list[Any] = []
        async with ctx.uow() as uow:
            for n in node_ids:
                try:
                    d = await uow.decision_reads.get(UUID(n))
                except ValueError:
                    d = None
                out.append(cls.from_domain(d) if d else None)
        return out


@strawberry.type(description="What is done to a listing for a case; the marketplace confirms it.")
class Measure(relay.Node):
    id: relay.NodeID[str]
    type: MeasureType  # type: ignore[valid-type]
    territorial_scope: list[str]
    status: MeasureStatus  # type: ignore[valid-type]
    automated: bool
    requested_at: datetime
    applied_at: datetime | None
    failed_reason: str | None
    lifted_at: datetime | None
    end_date: date | None
    case_id: strawberry.Private[UUID]

    @classmethod
    def from_domain(cls, m: nd.Measure) -> Measure:
        return cls(id=str(m.id), type=m.type, territorial_scope=list(m.territorial_scope), status=m.status,
                   automated=m.automated, requested_at=m.requested_at, applied_at=m.applied_at,
                   failed_reason=m.failed_reason, lifted_at=m.lifted_at, end_date=m.end_date, case_id=m.case_id)

    @strawberry.field
    async def case(self, info: Info) -> Case | None:
        [c] = await _load(info, "cases", [self.case_id])
        return Case.from_domain(c) if c else None


@strawberry.type(description="The waiting window after a delivered declaration.")
class CaseWindow:
    starts_at: datetime
    earliest_end_at: datetime | None
    ends_at: datetime


@strawberry.type(description="One (notice, listing) pair: the unit that moves through the lifecycle.")
class Case(relay.Node):
    id: relay.NodeID[str]
    state: CaseState  # type: ignore[valid-type]
    suspended_from: CaseState | None  # type: ignore[valid-type]
    measures_active: bool
    priority: int
    review_due_at: datetime | None
    window: CaseWindow | None
    outcome_at: datetime | None
    created_at: datetime
    updated_at: datetime
    allowed_events: list[CaseEvent]  # type: ignore[valid-type]
    notice_id: strawberry.Private[UUID]
    listing_id: strawberry.Private[UUID]
    merchant_id: strawberry.Private[UUID]
    declaration_id: strawberry.Private[UUID | None]

    @classmethod
    def from_domain(cls, c: nd.Case) -> Case:
        window = (CaseWindow(starts_at=c.window_starts_at, earliest_end_at=c.window_earliest_end_at,
                             ends_at=c.window_ends_at) if c.window_starts_at and c.window_ends_at else None)
        return cls(
            id=str(c.id), state=c.state, suspended_from=c.status.suspended_from,
            measures_active=c.status.measures_active, priority=c.priority, review_due_at=c.review_due_at,
            window=window, outcome_at=c.outcome_at, created_at=c.created_at, updated_at=c.updated_at,
            allowed_events=sorted(case_domain.allowed_events(c.status)), notice_id=c.notice_id,
            listing_id=c.listing_id, merchant_id=c.merchant_id, declaration_id=c.declaration_id,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await _resolve_nodes(info, "cases", cls, node_ids)

    @strawberry.field
    async def notice(self, info: Info) -> Notice | None:
        [n] = await _load(info, "notices", [self.notice_id])
        return Notice.from_domain(n) if n else None

    @strawberry.field
    async def listing(self, info: Info) -> Listing | None:
        x = await request_context(info).listings.load(self.listing_id)
        return Listing.from_domain(x) if x else None

    @strawberry.field
    async def merchant(self, info: Info) -> Party | None:
        p = await request_context(info).parties.load(self.merchant_id)
        return Party.from_domain(p) if p else None

    @strawberry.field
    async def declaration(self, info: Info) -> Declaration | None:
        if self.declaration_id is None:
            return None
        [d] = await _load(info, "declarations", [self.declaration_id])
        return Declaration.from_domain(d) if d else None

    @strawberry.field
    async def measures(self, info: Info) -> list[Measure]:
        [ms] = await _load(info, "measures_by_case", [UUID(self.id)])
        return [Measure.from_domain(m) for m in ms]

    @strawberry.field(description="Every decision about this case, oldest first.")
    async def timeline(self, info: Info) -> list[Decision]:
        [ds] = await _load(info, "decisions_by_case", [UUID(self.id)])
        return [Decision.from_domain(d) for d in ds]


@strawberry.type(description="A rights holder's infringement notice; one case per listing it targets.")
class Notice(relay.Node):
    id: relay.NodeID[str]
    reason_code: str
    explanation: str
    evidence: list[Evidence]
    statements: Statements
    signature: str | None
    channel: str
    idempotency_key: str | None
    policy_version: int
    trusted: bool
    received_at: datetime
    complainant_id: strawberry.Private[UUID]
    agent_id: strawberry.Private[UUID | None]
    ip_right_id: strawberry.Private[UUID]

    @classmethod
    def from_domain(cls, n: nd.Notice) -> Notice:
        s = n.statements
        return cls(
            id=str(n.id), reason_code=n.reason_code, explanation=n.explanation,
            evidence=[Evidence.from_domain(x) for x in n.evidence],
            statements=Statements(good_faith=s.good_faith, accuracy=s.accuracy, authority=s.authority),
            signature=n.signature, channel=n.channel, idempotency_key=n.idempotency_key,
            policy_version=n.policy_version, trusted=n.trusted, received_at=n.received_at,
            complainant_id=n.complainant_id, agent_id=n.agent_id, ip_right_id=n.ip_right_id,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await _resolve_nodes(info, "notices", cls, node_ids)

    @strawberry.field
    async def complainant(self, info: Info) -> Party | None:
        p = await request_context(info).parties.load(self.complainant_id)
        return Party.from_domain(p) if p else None

    @strawberry.field
    async def agent(self, info: Info) -> Party | None:
        if self.agent_id is None:
            return None
        p = await request_context(info).parties.load(self.agent_id)
        return Party.from_domain(p) if p else None

    @strawberry.field
    async def ip_right(self, info: Info) -> IpRight | None:
        r = await request_context(info).ip_rights.load(self.ip_right_id)
        return IpRight.from_domain(r) if r else None

    @strawberry.field
    async def cases(self, info: Info) -> list[Case]:
        async with request_context(info).uow() as uow:
            return [Case.from_domain(c) for c in await uow.cases.by_notice(UUID(self.id))]


@strawberry.type(description="A merchant's non-infringement declaration for one or more of its cases.")
class Declaration(relay.Node):
    id: relay.NodeID[str]
    grounds: DeclarationGround  # type: ignore[valid-type]
    explanation: str
    evidence: list[Evidence]
    status: DeclarationStatus  # type: ignore[valid-type]
    policy_version: int
    received_at: datetime
    reviewed_at: datetime | None
    forwarded_at: datetime | None
    delivered_at: datetime | None = strawberry.field(description="When it reached the complainant.")
    case_ids: strawberry.Private[tuple[UUID, ...]]

    @classmethod
    def from_domain(cls, d: nd.Declaration) -> Declaration:
        return cls(id=str(d.id), grounds=d.grounds, explanation=d.explanation,
                   evidence=[Evidence.from_domain(x) for x in d.evidence], status=d.status,
                   policy_version=d.policy_version, received_at=d.received_at, reviewed_at=d.reviewed_at,
                   forwarded_at=d.forwarded_at, delivered_at=d.delivered_at, case_ids=d.case_ids)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await _resolve_nodes(info, "declarations", cls, node_ids)

    @strawberry.field
    async def cases(self, info: Info) -> list[Case]:
        found = await _load(info, "cases", list(self.case_ids))
        return [Case.from_domain(c) for c in found if c]


# ----- inputs ------------------------------------------------------------------------------------


@strawberry.input
class EvidenceInput:
    kind: str = strawberry.field(description="e.g. registration_certificate, test_purchase, patent_evaluation_report")
    uri: str | None = None
    sha256: str | None = None
    description: str = ""


@strawberry.input
class StatementsInput:
    good_faith: bool = False
    accuracy: bool = strawberry.field(default=False, description="Accuracy, under penalty of perjury (DMCA).")
    authority: bool = False


@strawberry.input
class SubmitNoticeInput:
    complainant_id: strawberry.ID
    ip_right_id: strawberry.ID
    reason_code: str
    listing_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    listing_external_ids: list[str] = strawberry.field(default_factory=list)
    agent_id: strawberry.ID | None = None
    explanation: str = ""
    evidence: list[EvidenceInput] = strawberry.field(default_factory=list)
    statements: StatementsInput | None = None
    signature: str | None = None
    channel: str = "api"
    idempotency_key: str | None = strawberry.field(default=None, description="A retry returns the original result.")


@strawberry.input
class SubmitNoticesInput:
    notices: list[SubmitNoticeInput] = strawberry.field(description="1 to 1,000 notices; a result per item.")


@strawberry.input
class MeasureInput:
    type: MeasureType  # type: ignore[valid-type]
    territorial_scope: list[str] = strawberry.field(default_factory=list)
    end_date: date | None = None


@strawberry.input
class AcceptCaseInput:
    case_id: strawberry.ID
    measures: list[MeasureInput] = strawberry.field(
        default_factory=list, description="Empty: the policy's default measure for the right type.")
    reason: str = ""


@strawberry.input
class ReasonInput:
    code: str
    text: str = ""


@strawberry.input
class RejectCaseInput:
    case_id: strawberry.ID
    reasons: list[ReasonInput]
    text: str = ""
    manifestly_unfounded: bool = strawberry.field(
        default=False, description="Evident without substantive analysis; counts against the notifier (DSA Art 23).")


@strawberry.input
class RequestClarificationInput:
    case_id: strawberry.ID
    message: str


@strawberry.input
class ClarifyNoticeInput:
    notice_id: strawberry.ID
    explanation: str = ""
    evidence: list[EvidenceInput] = strawberry.field(default_factory=list)
    statements: StatementsInput | None = None
    signature: str | None = None


@strawberry.input
class ConfirmMeasureInput:
    measure_id: strawberry.ID
    applied: bool
    reason: str | None = None


@strawberry.input
class CaseActionInput:
    case_id: strawberry.ID
    reason: str = ""


@strawberry.input
class WithdrawNoticeInput:
    notice_id: strawberry.ID
    reason: str = ""


@strawberry.input
class SubmitDeclarationInput:
    case_ids: list[strawberry.ID]
    grounds: DeclarationGround  # type: ignore[valid-type]
    explanation: str = ""
    evidence: list[EvidenceInput] = strawberry.field(default_factory=list)
    statements: StatementsInput | None = None
    signature: str | None = None
    consent_to_jurisdiction: bool = False
    idempotency_key: str | None = strawberry.field(
        default=None, description="A retry returns the original declaration (1-200 characters).")


@strawberry.input
class ReviewDeclarationInput:
    declaration_id: strawberry.ID
    accept: bool
    reasons: list[ReasonInput] = strawberry.field(default_factory=list)
    text: str = ""


@strawberry.input
class ConfirmDeliveryInput:
    declaration_id: strawberry.ID
    delivered_at: datetime | None = strawberry.field(
        default=None, description="When the forwarded declaration reached the complainant; default now.")


@strawberry.input
class SubmitActionProofInput:
    case_ids: list[strawberry.ID]
    kind: ProofKind  # type: ignore[valid-type]
    authority: str
    reference: str
    filed_on: date
    evidence: list[EvidenceInput] = strawberry.field(default_factory=list)


@strawberry.input
class CaseFilter:
    states: list[CaseState] | None = None  # type: ignore[valid-type]
    notice_id: strawberry.ID | None = None
    listing_id: strawberry.ID | None = None


@strawberry.input
class ReviewQueueFilter:
    states: list[CaseState] | None = None  # type: ignore[valid-type]
    right_type: str | None = None


def _evidence(items: Sequence[EvidenceInput]) -> tuple[nd.Evidence, ...]:
    return tuple(nd.Evidence(kind=x.kind, uri=x.uri, sha256=x.sha256, description=x.description) for x in items)


def _statements(s: StatementsInput | None) -> nd.Statements:
    return nd.Statements(s.good_faith, s.accuracy, s.authority) if s else nd.Statements()


def _ids(values: Sequence[strawberry.ID], type_name: str, field: str) -> tuple[UUID, ...]:
    return tuple(decode_id(v, type_name, f"{field}.{n}") for n, v in enumerate(values))


def notice_input(x: SubmitNoticeInput, prefix: str = "") -> nd.NoticeInput:
    return nd.NoticeInput(
        complainant_id=decode_id(x.complainant_id, "Party", f"{prefix}complainantId"),
        ip_right_id=decode_id(x.ip_right_id, "IpRight", f"{prefix}ipRightId"),
        reason_code=x.reason_code,
        listing_ids=_ids(x.listing_ids, "Listing", f"{prefix}listingIds"),
        listing_external_ids=tuple(x.listing_external_ids),
        agent_id=decode_id(x.agent_id, "Party", f"{prefix}agentId") if x.agent_id else None,
        explanation=x.explanation, evidence=_evidence(x.evidence), statements=_statements(x.statements),
        signature=x.signature, channel=x.channel, idempotency_key=x.idempotency_key,
    )


# ----- payloads ----------------------------------------------------------------------------------


@strawberry.type
class SubmitNoticeSuccess:
    notice: Notice
    cases: list[Case]
    replayed: bool = strawberry.field(description="True when this is the stored result of an earlier call.")


@strawberry.type(description="One notice of a batch: the notice and its cases, or the error that kept it out.")
class SubmitNoticeResult:
    index: int
    notice: Notice | None
    cases: list[Case]
    replayed: bool
    error: e.Error | None


@strawberry.type
class SubmitNoticesSuccess:
    results: list[SubmitNoticeResult]
    succeeded: int
    failed: int


@strawberry.type
class CaseSuccess:
    case: Case


@strawberry.type
class CasesSuccess:
    cases: list[Case]


def case_success(case: nd.Case) -> CaseSuccess:
    """The success member of a mutation that returns the case it changed."""
    return CaseSuccess(case=Case.from_domain(case))


def cases_success(cases: Sequence[nd.Case]) -> CasesSuccess:
    """The success member of a mutation that returns the cases it changed."""
    return CasesSuccess(cases=[Case.from_domain(c) for c in cases])


@strawberry.type
class ConfirmMeasureSuccess:
    measure: Measure
    case: Case


@strawberry.type
class DeclarationSuccess:
    declaration: Declaration


_Errors = (e.InvalidInputError | e.NotFoundError | e.ConflictError | e.PolicyViolationError
           | e.InvalidTransitionError | e.RestrictedError)
SubmitNoticePayload = Annotated[SubmitNoticeSuccess | _Errors | e.IdempotencyKeyReusedError,
                                strawberry.union("SubmitNoticePayload")]
SubmitNoticesPayload = Annotated[SubmitNoticesSuccess | e.InvalidInputError | e.PolicyViolationError,
                                 strawberry.union("SubmitNoticesPayload")]
CasePayload = Annotated[CaseSuccess | _Errors, strawberry.union("CasePayload")]
CasesPayload = Annotated[CasesSuccess | _Errors, strawberry.union("CasesPayload")]
ConfirmMeasurePayload = Annotated[ConfirmMeasureSuccess | _Errors, strawberry.union("ConfirmMeasurePayload")]
DeclarationPayload = Annotated[DeclarationSuccess | _Errors, strawberry.union("DeclarationPayload")]
SubmitDeclarationPayload = Annotated[DeclarationSuccess | _Errors | e.IdempotencyKeyReusedError,
                                     strawberry.union("SubmitDeclarationPayload")]


def _notice_result(r: notice_service.NoticeResult) -> SubmitNoticeResult:
    return SubmitNoticeResult(
        index=r.index, notice=Notice.from_domain(r.notice) if r.notice else None,
        cases=[Case.from_domain(c) for c in r.cases], replayed=r.replayed,
        error=e.to_graphql_error(r.error) if r.error else None,
    )


def _reasons(items: Sequence[ReasonInput]) -> list[DomainReason]:
    return [DomainReason(r.code, r.text) for r in items]


# ----- root fields -------------------------------------------------------------------------------


# cases.priority is a smallint and the queue's keyset negates it, so -32768 would overflow there too.
_PRIORITY = (-32767, 32767)


def _queue_cursor(c: nd.Case) -> str:
    return encode_parts_cursor([c.priority, c.review_due_at.isoformat() if c.review_due_at else None, str(c.id)])


def _queue_after(cursor: str | None) -> tuple[int, datetime | None, UUID] | None:
    if cursor is None:
        return None
    priority, due, cid = decode_parts_cursor(cursor, 3)
    return cursor_int(priority, *_PRIORITY), None if due is None else cursor_instant(due), cursor_uuid(cid)


@strawberry.type
class CaseQuery:
    @strawberry.field(description="Cases of this tenant, oldest first.")
    async def cases(self, info: Info, first: int | None = 50, after: str | None = None,
                    filter: CaseFilter | None = None) -> relay.Connection[Case]:
        ctx = request_context(info)

        async def run() -> Any:
            states = [str(s.value) for s in filter.states] if filter and filter.states else None  # type: ignore[attr-defined]
            notice = decode_optional_id(filter.notice_id if filter else None, "Notice", "filter.noticeId")
            listing = decode_optional_id(filter.listing_id if filter else None, "Listing", "filter.listingId")

            return await ctx.connection(
                lambda uow, after_id, limit: uow.cases.page(after_id, limit, states, notice, listing),
                Case.from_domain, first, after)

        return await e.query(run)

    @strawberry.field(description="Cases waiting for a reviewer: trusted notifiers first, then by review SLA due.")
    async def review_queue(self, info: Info, first: int | None = 50, after: str | None = None,
                           filter: ReviewQueueFilter | None = None) -> relay.Connection[Case]:
        ctx = request_context(info)

        async def run() -> Any:
            ctx.principal.require(Role.REVIEWER, Role.ADMIN, Role.AUDITOR)
            size = page_size(first, ctx.settings.max_page_size)
            states = ([str(s.value) for s in filter.states] if filter and filter.states  # type: ignore[attr-defined]
                      else [case_domain.CaseState.UNDER_REVIEW.value])
            async with ctx.uow() as uow:
                rows = await uow.cases.review_queue(_queue_after(after), size + 1, states,
                                                    filter.right_type if filter else None)
            edges = [relay.Edge(node=Case.from_domain(c), cursor=_queue_cursor(c)) for c in rows[:size]]
            return relay.Connection(edges=edges, page_info=relay.PageInfo(
                has_next_page=len(rows) > size, has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None))

        return await e.query(run)

    @strawberry.field(
        description="Decisions about a subject (case, measure, declaration, policy version), oldest first.")
    async def decisions(self, info: Info, subject_id: strawberry.ID, first: int | None = 100,
                        after: str | None = None) -> relay.Connection[Decision]:
        ctx = request_context(info)

        async def run() -> Any:
            try:
                subject = UUID(relay.GlobalID.from_id(str(subject_id)).node_id)
            except (ValueError, relay.GlobalIDValueError) as exc:
                raise InvalidInput(f"'{subject_id}' is not a valid id.", "subjectId") from exc
            size = page_size(first, ctx.settings.max_page_size, default=100)
            after_seq = decode_seq_cursor(after)
            async with ctx.uow() as uow:
                rows = await uow.decision_reads.for_subject(subject, after_seq, size + 1)
            edges = [relay.Edge(node=Decision.from_domain(d), cursor=encode_seq_cursor(d.seq)) for d in rows[:size]]
            return relay.Connection(edges=edges, page_info=relay.PageInfo(
                has_next_page=len(rows) > size, has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None))

        return await e.query(run)


@strawberry.type
class CaseMutation:
    @strawberry.mutation(description="Submit one notice; it creates one case per listing.")
    async def submit_notice(self, info: Info, input: SubmitNoticeInput) -> SubmitNoticePayload:
        ctx = request_context(info)

        async def run() -> Any:
            data = notice_input(input)
            async with ctx.uow() as uow:
                [result] = await notice_service.submit_notices(uow, ctx.principal, [data])
            if result.error is not None:
                raise result.error
            assert result.notice is not None
            return SubmitNoticeSuccess(notice=Notice.from_domain(result.notice),
                                       cases=[Case.from_domain(c) for c in result.cases], replayed=result.replayed)

        return await e.payload(run)

    @strawberry.mutation(description="Submit up to 1,000 notices; one bad item does not fail the others.")
    async def submit_notices(self, info: Info, input: SubmitNoticesInput) -> SubmitNoticesPayload:
        ctx = request_context(info)

        async def run() -> Any:
            check_batch_size(input.notices, "notices")  # before decoding: bad items must not shrink the count
            items: list[nd.NoticeInput | InvalidInput] = []
            for raw in input.notices:
                try:
                    items.append(notice_input(raw))
                except InvalidInput as exc:
                    items.append(exc)
            valid = [x for x in items if isinstance(x, nd.NoticeInput)]
            async with ctx.uow() as uow:
                done = iter(await notice_service.submit_notices(uow, ctx.principal, valid) if valid else [])
            results = []
            for n, item in enumerate(items):
                if isinstance(item, InvalidInput):
                    results.append(SubmitNoticeResult(index=n, notice=None, cases=[], replayed=False,
                                                      error=e.to_graphql_error(item)))
                else:
                    r = _notice_result(next(done))
                    r.index = n
                    results.append(r)
            failed = sum(1 for r in results if r.error is not None)
            return SubmitNoticesSuccess(results=results, succeeded=len(results) - failed, failed=failed)

        return await e.payload(run)

    @strawberry.mutation(description="Reviewers: accept the notice for this case and request measures.")
    async def accept_case(self, info: Info, input: AcceptCaseInput) -> CasePayload:
        ctx = request_context(info)

        async def run() -> Any:
            case_id = decode_id(input.case_id, "Case", "caseId")
            measures = [nd.MeasureRequest(DomainMeasureType(m.type), tuple(m.territorial_scope), m.end_date)
                        for m in input.measures]
            async with ctx.uow() as uow:
                case = await notice_service.accept_case(uow, ctx.principal, case_id, measures, input.reason)
            return case_success(case)

        return await e.payload(run)

    @strawberry.mutation(description="Reviewers: reject the notice for this case, with reason codes.")
    async def reject_case(self, info: Info, input: RejectCaseInput) -> CasePayload:
        ctx = request_context(info)
        return await ctx.mutate(
            lambda uow: notice_service.reject_case(
                uow, ctx.principal, decode_id(input.case_id, "Case", "caseId"), _reasons(input.reasons), input.text,
                manifestly_unfounded=input.manifestly_unfounded),
            case_success)

    @strawberry.mutation(description="Reviewers: send the notice back to the complainant to complete.")
    async def request_clarification(self, info: Info, input: RequestClarificationInput) -> CasePayload:
        ctx = request_context(info)
        return await ctx.mutate(
            lambda uow: notice_service.request_clarification(
                uow, ctx.principal, decode_id(input.case_id, "Case", "caseId"), input.message),
            case_success)

    @strawberry.mutation(description="Complete an incomplete notice; its cases go back to review.")
    async def clarify_notice(self, info: Info, input: ClarifyNoticeInput) -> CasesPayload:
        ctx = request_context(info)

        async def run() -> Any:
            notice_id = decode_id(input.notice_id, "Notice", "noticeId")
            addition = nd.NoticeInput(complainant_id=notice_id, ip_right_id=notice_id, reason_code="clarification",
                                      explanation=input.explanation, evidence=_evidence(input.evidence),
                                      statements=_statements(input.statements), signature=input.signature)
            async with ctx.uow() as uow:
                cases = await notice_service.clarify_notice(uow, ctx.principal, notice_id, addition)
            return cases_success(cases)

        return await e.payload(run)

    @strawberry.mutation(description="The marketplace confirms it applied (or could not apply) a measure. A failure"
                         " sends the case back to review and lifts the case's other measures (`measure.lifted`).")
    async def confirm_measure(self, info: Info, input: ConfirmMeasureInput) -> ConfirmMeasurePayload:
        ctx = request_context(info)
        return await ctx.mutate(
            lambda uow: notice_service.confirm_measure(
                uow, ctx.principal, decode_id(input.measure_id, "Measure", "measureId"), input.applied, input.reason),
            lambda done: ConfirmMeasureSuccess(measure=Measure.from_domain(done[0]), case=Case.from_domain(done[1])))

    @strawberry.mutation(description="The merchant accepts the notice or settles with the rights holder.")
    async def settle_case(self, info: Info, input: CaseActionInput) -> CasePayload:
        ctx = request_context(info)
        return await ctx.mutate(
            lambda uow: notice_service.settle_case(
                uow, ctx.principal, decode_id(input.case_id, "Case", "caseId"), input.reason),
            case_success)

    @strawberry.mutation(description="The complainant withdraws the notice; measures are lifted.")
    async def withdraw_notice(self, info: Info, input: WithdrawNoticeInput) -> CasesPayload:
        ctx = request_context(info)
        return await ctx.mutate(
            lambda uow: notice_service.withdraw_notice(
                uow, ctx.principal, decode_id(input.notice_id, "Notice", "noticeId"), input.reason),
            cases_success)

    @strawberry.mutation(description="A merchant's non-infringement declaration for one or more of its cases.")
    async def submit_declaration(self, info: Info, input: SubmitDeclarationInput) -> SubmitDeclarationPayload:
        ctx = request_context(info)

        async def run() -> Any:
            data = nd.DeclarationInput(
                case_ids=_ids(input.case_ids, "Case", "caseIds"), grounds=nd.DeclarationGround(input.grounds),
                explanation=input.explanation, evidence=_evidence(input.evidence),
                statements=_statements(input.statements), signature=input.signature,
                consent_to_jurisdiction=input.consent_to_jurisdiction, idempotency_key=input.idempotency_key,
            )
            async with ctx.uow() as uow:
                declaration = await declaration_service.submit_declaration(uow, ctx.principal, data)
            return DeclarationSuccess(declaration=Declaration.from_domain(declaration))

        return await e.payload(run)

    @strawberry.mutation(description="Reviewers: accept (forward to the complainant) or reject a declaration.")
    async def review_declaration(self, info: Info, input: ReviewDeclarationInput) -> DeclarationPayload:
        ctx = request_context(info)
        return await ctx.mutate(
            lambda uow: declaration_service.review_declaration(
                uow, ctx.principal, decode_id(input.declaration_id, "Declaration", "declarationId"), input.accept,
                _reasons(input.reasons), input.text),
            lambda declaration: DeclarationSuccess(declaration=Declaration.from_domain(declaration)))

    @strawberry.mutation(description="Record when the forwarded declaration reached the complainant; "
                                     "the waiting window starts then.")
    async def confirm_delivery(self, info: Info, input: ConfirmDeliveryInput) -> DeclarationPayload:
        ctx = request_context(info)
        return await ctx.mutate(
            lambda uow: declaration_service.confirm_delivery(
                uow, ctx.principal, decode_id(input.declaration_id, "Declaration", "declarationId"),
                input.delivered_at),
            lambda declaration: DeclarationSuccess(declaration=Declaration.from_domain(declaration)))

    @strawberry.mutation(description="The complainant's proof that a complaint or lawsuit was filed within the window.")
    async def submit_action_proof(self, info: Info, input: SubmitActionProofInput) -> CasesPayload:
        ctx = request_context(info)

        async def run() -> Any:
            data = nd.ActionProofInput(case_ids=_ids(input.case_ids, "Case", "caseIds"), kind=nd.ProofKind(input.kind),
                                       authority=input.authority, reference=input.reference, filed_on=input.filed_on,
                                       evidence=_evidence(input.evidence))
            async with ctx.uow() as uow:
                cases = await declaration_service.submit_action_proof(uow, ctx.principal, data)
            return cases_success(cases)

        return await e.payload(run)


__all__ = ["CaseMutation", "CaseQuery", "encode_cursor"]
