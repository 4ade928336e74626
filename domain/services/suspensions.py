"""Suspension of handling (Beijing guideline art 25) and the invalidation outcome of the right relied on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from domain.cases import OPEN_STATES, SUSPENDABLE_STATES, CaseEvent, CaseState
from domain.dates import is_supported_instant
from domain.decisions import AUTOMATED, DecisionDraft, Reason, RuleRecord
from domain.errors import Conflict, InvalidInput, NotFound, PolicyViolation, Problems
from domain.ids import new_id
from domain.notices import MAX_TEXT, Case, Evidence, MeasureRequest, MeasureStatus, check_reasons, evidence_problems
from domain.policy import SuspensionGround
from domain.ports import UnitOfWork
from domain.reference import LegalStatus
from domain.services.accounts import end_restriction
from domain.services.case_work import CaseWork
from domain.services.declarations import start_window_on_resume
from domain.services.notices import REVIEWERS, SUBMITTERS
from domain.tenancy import Principal

SUSPENSION_REVIEW = "suspension_review"


@dataclass(frozen=True, slots=True)
class SuspensionRequest:
    case_id: UUID
    ground: SuspensionGround
    evidence: tuple[Evidence, ...] = ()
    harm_statement: str = ""


async def request_suspension(uow: UnitOfWork, principal: Principal, data: SuspensionRequest) -> UUID:
    """A merchant (through the integration) or a reviewer asks to pause handling of a case."""
    principal.require(*SUBMITTERS, *REVIEWERS)
    check_reasons((), data.harm_statement, "harmStatement")
    shape = Problems()  # the input's own shape first: malformed evidence is bad input, not a policy matter
    evidence_problems(shape, data.evidence)
    shape.raise_if_any()
    in_force = await uow.policies.in_force()
    grounds = in_force.policy.suspension.handling_grounds
    ground_policy = grounds.get(data.ground)
    if ground_policy is None:
        raise PolicyViolation(f"This tenant's policy does not suspend handling on '{data.ground.value}'.", "ground")
    [case] = await uow.cases.get_many([data.case_id])
    if case is None:
        raise NotFound("Case", "caseId")
    if case.state not in SUSPENDABLE_STATES:
        raise Conflict(f"A case that is {case.state.value} cannot be suspended.", "caseId")
    p = Problems()
    kinds = {e.kind for e in data.evidence}
    for kind in ground_policy.required_evidence:
        if kind not in kinds:
            p.add("evidence", f"The ground '{data.ground.value}' needs evidence of kind '{kind}'.", "required")
    if ground_policy.harm_statement_required and not data.harm_statement.strip():
        p.add("harmStatement", "Explain the serious harm that cutting the link would cause.", "required")
    if p.items:
        raise PolicyViolation.from_problems(p.items)
    [notice] = await uow.notices.get_many([case.notice_id])
    assert notice is not None
    suspension_id = new_id()
    await uow.trust.add_suspension(
        {
            "id": suspension_id,
            "case_id": case.id,
            "ip_right_id": notice.ip_right_id,
            "ground": data.ground.value,
            "evidence": [e.as_json() for e in data.evidence],
            "harm_statement": data.harm_statement,
            "requested_by": principal.actor,
            "requested_at": uow.clock.now(),
        }
    )
    uow.decisions.record(
        DecisionDraft(
            subject_type="suspension",
            subject_id=suspension_id,
            case_id=case.id,
            kind="suspension.request",
            outcome="requested",
            actor=principal.actor,
            automated=False,
            policy_version=in_force.version,
            reasons=(Reason(data.ground.value),),
        )
    )
    uow.outbox.add(
        "suspension.requested",
        {"suspension_id": str(suspension_id), "case_id": str(case.id)},
        ordering_key=str(case.id),
    )
    return suspension_id


async def decide_suspension(
    uow: UnitOfWork, principal: Principal, suspension_id: UUID, grant: bool, reason_text: str = ""
) -> Case:
    """A reviewer decides. Granted: the case's clocks stop and measures stay or go as the ground says."""
    principal.require(*REVIEWERS)
    check_reasons((), reason_text, "reason")
    row = await uow.trust.suspension(suspension_id)
    if row is None:
        raise NotFound("Suspension", "suspensionId")
    in_force = await uow.policies.in_force()
    ground = SuspensionGround(row["ground"])
    ground_policy = in_force.policy.suspension.handling_grounds.get(ground)
    [case] = await uow.cases.get_many([row["case_id"]])
    assert case is not None
    now = uow.clock.now()
    review_at = (
        now + timedelta(days=ground_policy.review_after_days)
        if grant and ground_policy and ground_policy.review_after_days
        else None
    )
    if not await uow.trust.decide_suspension(
        suspension_id, "granted" if grant else "refused", principal.actor, now, review_at
    ):
        raise Conflict("This suspension request was already decided.", "suspensionId")
    work = CaseWork(uow, in_force, principal.actor)
    if grant:
        keep = ground_policy.keep_measures_while_suspended if ground_policy else True
        work.transition(
            case,
            CaseEvent.SUSPEND,
            keep_measures=keep,
            reasons=[Reason(ground.value, reason_text)],
            reason_text=reason_text,
            rules=[RuleRecord(f"suspension.handling_grounds.{ground.value}", True, {"keep_measures": keep})],
        )
        if review_at is not None:  # at commit: after the suspension has paused the case's own clocks
            uow.deadlines.schedule_at_commit(
                [(SUSPENSION_REVIEW, case.id, review_at, {"suspension_id": str(suspension_id)})]
            )
    else:
        uow.decisions.record(
            DecisionDraft(
                subject_type="suspension",
                subject_id=suspension_id,
                case_id=case.id,
                kind="suspension.decide",
                outcome="refused",
                actor=principal.actor,
                automated=False,
                policy_version=in_force.version,
                reason_text=reason_text,
            )
        )
    await work.finish()
    [case] = await uow.cases.get_many([case.id])
    assert case is not None
    return case


async def record_invalidation_outcome(
    uow: UnitOfWork, principal: Principal, right_id: UUID, outcome: str, decided_at: datetime | None = None
) -> list[Case]:
    """The IP office decided the invalidation request. `invalidated`: every case relying on the right is
    rejected, measures lifted, strikes voided, the notifier's record counts it unfounded.
    `upheld` / `withdrawn`: suspended cases resume where they stopped, with the window time left.
    The office decides once: a second outcome would undo or repeat the first one's effects."""
    principal.require(*REVIEWERS, *SUBMITTERS)
    if outcome not in {"invalidated", "upheld", "withdrawn"}:
        raise InvalidInput("outcome must be invalidated, upheld or withdrawn.", "outcome")
    [right] = await uow.ip_rights.get_many([right_id])
    if right is None:
        raise NotFound("IP right", "ipRightId")
    invalidation = right.invalidation
    if invalidation is None:
        raise Conflict("No invalidation request is on record for this right.", "ipRightId")
    if not invalidation.pending:
        raise Conflict(f"The outcome of {invalidation.office} {invalidation.case_number} was already recorded "
                       f"({invalidation.outcome}).", "ipRightId")
    at = _decided_at(decided_at, uow.clock.now(), invalidation.accepted_at)
    in_force = await uow.policies.in_force()
    if outcome == "invalidated":
        status = LegalStatus.INVALIDATED  # deemed never to have existed (CN Trademark Law Art 47)
    elif right.legal_status is LegalStatus.EXPIRED:
        status = LegalStatus.EXPIRED  # whatever the office found, an expired right does not come back
    else:
        status = LegalStatus.ACTIVE
    if not await uow.ip_rights.set_invalidation_outcome(right_id, outcome, at, status):
        raise Conflict("The outcome of this invalidation request was recorded at the same time.", "ipRightId")
    if status is not right.legal_status:  # subscribers hear of it as of any other change of legal status
        uow.outbox.add("ip_right.legal_status_changed", {"ip_right_id": str(right_id), "legal_status": status.value},
                       ordering_key=str(right_id))
    uow.decisions.record(
        DecisionDraft(
            subject_type="ip_right",
            subject_id=right_id,
            kind="ip_right.invalidation_outcome",
            outcome=outcome,
            actor=principal.actor,
            automated=False,
            policy_version=in_force.version,
            reasons=(Reason(outcome, f"{invalidation.office} {invalidation.case_number}"),),
        )
    )
    case_ids = await uow.trust.cases_relying_on(right_id)
    cases = [c for c in await uow.cases.get_many(case_ids) if c is not None]
    work = CaseWork(uow, in_force, f"{AUTOMATED}:ip_right.invalidation_outcome", automated=True)
    rule = [
        RuleRecord(
            "suspension.invalidation_outcome",
            outcome != "invalidated",
            {"ip_right_id": str(right_id), "outcome": outcome},
        )
    ]
    affected: list[UUID] = []
    for case in cases:
        if outcome == "invalidated" and case.state in OPEN_STATES:
            ended = work.transition(
                case,
                CaseEvent.INVALIDATE_RIGHT,
                rules=rule,
                reasons=[Reason("right_invalidated")],
                reason_text="The right relied on was invalidated.",
            )
            work.close_if_ended(ended)
            affected.append(case.id)
        elif outcome != "invalidated" and case.state is CaseState.SUSPENDED:
            resumed = work.transition(
                case,
                CaseEvent.RESUME,
                rules=rule,
                reasons=[Reason(f"invalidation_{outcome}")],
                reason_text="The invalidation request did not succeed; handling resumes.",
                measures=await _measures_to_reapply(uow, case),
            )
            await start_window_on_resume(uow, in_force, work, resumed)
            affected.append(case.id)
    if outcome == "invalidated":
        work.void_strikes(case_ids, "right_invalidated")
    await uow.trust.lift_suspensions(affected, work.now)
    await uow.deadlines.cancel(affected, [SUSPENSION_REVIEW])
    await work.finish()
    return [c for c in await uow.cases.get_many(affected) if c is not None]


async def resume_case(uow: UnitOfWork, principal: Principal, case_id: UUID, reason_text: str) -> Case:
    """Reviewers: the ground for suspending handling has ended. The case goes back to where it was, its
    clocks run on from where they stopped, and measures lifted for the suspension are requested again.
    (An invalidation request that fails resumes its cases by itself: record_invalidation_outcome.)"""
    principal.require(*REVIEWERS)
    p = Problems()
    p.text("reason", reason_text, MAX_TEXT)
    p.raise_if_any()
    [case] = await uow.cases.get_many([case_id])
    if case is None:
        raise NotFound("Case", "caseId")
    if case.state is not CaseState.SUSPENDED:
        raise Conflict(f"The case is {case.state.value}, not suspended.", "caseId")
    in_force = await uow.policies.in_force()
    work = CaseWork(uow, in_force, principal.actor)
    resumed = work.transition(case, CaseEvent.RESUME, reasons=[Reason("suspension_ended", reason_text)],
                              reason_text=reason_text, measures=await _measures_to_reapply(uow, case))
    await start_window_on_resume(uow, in_force, work, resumed)
    await uow.trust.lift_suspensions([case.id], work.now)
    await uow.deadlines.cancel([case.id], [SUSPENSION_REVIEW])
    await work.finish()
    [case] = await uow.cases.get_many([case_id])
    assert case is not None
    return case


def _decided_at(given: datetime | None, now: datetime, accepted_on: date) -> datetime:
    """When the office decided: now unless given; a given time must say its offset (and be storable), be past,
    and not precede the request's acceptance (on the local day of the time given)."""
    if given is None:
        return now
    if not is_supported_instant(given):
        raise InvalidInput("decidedAt needs a timezone offset and a date between 2000-01-01 and 2100-12-31.",
                           "decidedAt")
    if given > now:
        raise InvalidInput("decidedAt is in the future.", "decidedAt")
    if given.date() < accepted_on:
        raise InvalidInput(f"decidedAt is before the invalidation request was accepted ({accepted_on.isoformat()}).",
                           "decidedAt")
    return given


async def _measures_to_reapply(uow: UnitOfWork, case: Case) -> Sequence[MeasureRequest]:
    """Every measure the suspension lifted (all lifted at that one moment, the case's latest lifting)."""
    lifted = [m for m in await uow.measures.by_cases([case.id]) if m.status is MeasureStatus.LIFTED and m.lifted_at]
    last = max((m.lifted_at for m in lifted if m.lifted_at), default=None)
    return [MeasureRequest(m.type, m.territorial_scope, m.end_date) for m in lifted if m.lifted_at == last]


async def end_restriction_now(uow: UnitOfWork, principal: Principal, restriction_id: UUID, reason: str) -> None:
    principal.require(*REVIEWERS)
    check_reasons((), reason, "reason")
    in_force = await uow.policies.in_force()
    if not await end_restriction(
        uow, in_force, restriction_id, reason or "ended by reviewer", principal.actor, automated=False
    ):
        raise Conflict("The restriction has already ended or does not exist.", "restrictionId")
