"""Internal complaints against decisions (DSA Art 20): filed within the policy's window by the party the
decision acts against, decided by a human other than the one who took the decision; an upheld appeal
reverses the decision's effects with new decisions linked to the original. That holds for a case already
archived too (the window may outlast the archive period): reopening un-archives it, its bundle stays as
the record up to then, and it is archived again when it closes again (Effect.UNARCHIVE). A decision is
appealed once at a time and reversed at most once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from domain.cases import CaseEvent, CaseState
from domain.decisions import Decision, DecisionDraft, Reason, RuleRecord
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound, PolicyViolation, Problems
from domain.ids import new_id
from domain.notices import Evidence, check_reasons, evidence_problems
from domain.ports import UnitOfWork
from domain.services.accounts import end_restriction
from domain.services.case_work import CaseWork
from domain.services.notices import REVIEWERS, SUBMITTERS
from domain.tenancy import Principal

# Decisions an affected party can appeal, and what upholding the appeal undoes.
TAKEDOWN_KINDS = frozenset({"case.request_measures", "case.accept_action_proof", "case.declaration_deadline_passed"})
REJECTION_KINDS = frozenset({"case.reject", "case.clarification_expired"})
RESTRICTION_KINDS = frozenset({"account.suspension", "account.termination", "account.warning"})
# A case decision no longer stands once an appeal reversed the case after it (rejected or reopened it).
REVERSAL_KINDS = frozenset({f"case.{CaseEvent.REVERSE_ON_APPEAL.value}", f"case.{CaseEvent.REOPEN_ON_APPEAL.value}"})


@dataclass(frozen=True, slots=True)
class AppealInput:
    decision_id: UUID
    appellant_id: UUID
    grounds: str
    explanation: str = ""
    evidence: tuple[Evidence, ...] = ()


async def file_appeal(uow: UnitOfWork, principal: Principal, data: AppealInput) -> UUID:
    principal.require(*SUBMITTERS)
    check_reasons((), data.explanation, "explanation")
    decision = await uow.decision_reads.get(data.decision_id)
    if decision is None:
        raise NotFound("Decision", "decisionId")
    if decision.kind not in TAKEDOWN_KINDS | REJECTION_KINDS | RESTRICTION_KINDS:
        raise InvalidInput(f"Decisions of kind '{decision.kind}' cannot be appealed.", "decisionId")
    in_force = await uow.policies.in_force()
    now = uow.clock.now()
    window = in_force.policy.suspension.appeals.window_days
    if now > decision.decided_at + timedelta(days=window):
        raise PolicyViolation(f"The appeal window of {window} days after the decision has passed.", "decisionId")
    if data.appellant_id not in await _affected_parties(uow, decision):
        raise InvalidInput(_who_appeals(decision.kind), "appellantId")
    p = Problems()
    if not data.grounds.strip() or len(data.grounds) > 200:
        p.add("grounds", "Give the grounds of the appeal (1-200 characters).")
    evidence_problems(p, data.evidence)
    if p.items:
        raise InvalidInput.from_problems(p.items)
    standing = await uow.trust.standing_appeal(decision.id)
    if standing is not None:
        raise Conflict(f"An appeal against this decision is already {'pending' if standing == 'filed' else standing}.",
                       "decisionId")
    if await _reversed(uow, decision):
        raise Conflict("This decision was already reversed on appeal.", "decisionId")
    appeal_id = new_id()
    if not await uow.trust.add_appeal(
        {
            "id": appeal_id,
            "decision_id": decision.id,
            "case_id": decision.case_id,
            "appellant_id": data.appellant_id,
            "grounds": data.grounds,
            "explanation": data.explanation,
            "evidence": [e.as_json() for e in data.evidence],
            "filed_at": now,
        }
    ):
        raise Conflict("An appeal against this decision was filed at the same time.", "decisionId")
    uow.decisions.record(
        DecisionDraft(
            subject_type="appeal",
            subject_id=appeal_id,
            case_id=decision.case_id,
            kind="appeal.file",
            outcome="filed",
            actor=principal.actor,
            automated=False,
            policy_version=in_force.version,
            reasons=(Reason("appeal_of", str(decision.id)),),
        )
    )
    uow.outbox.add("appeal.filed", {"appeal_id": str(appeal_id), "decision_id": str(decision.id)})
    return appeal_id


async def _affected_parties(uow: UnitOfWork, decision: Decision) -> set[UUID]:
    """Who the decision acts against (DSA Art 20): the merchant whose listing it restricts, the notifier whose
    notice it rejects, the party it restricts. Never the other side: a complainant winning an appeal against
    the takedown it asked for would lift it."""
    if decision.kind in RESTRICTION_KINDS:
        row = await uow.trust.restriction(decision.subject_id)
        return {row["party_id"]} if row else set()
    if decision.case_id is None:
        return set()
    [case] = await uow.cases.get_many([decision.case_id])
    if case is None:
        return set()
    if decision.kind in TAKEDOWN_KINDS:
        return {case.merchant_id}
    [notice] = await uow.notices.get_many([case.notice_id])
    if notice is None:
        return set()
    return {notice.complainant_id} | ({notice.agent_id} if notice.agent_id else set())


def _who_appeals(kind: str) -> str:
    if kind in TAKEDOWN_KINDS:
        return "Only the merchant whose listing the measures restrict can appeal them."
    if kind in REJECTION_KINDS:
        return "Only the notifier of the rejected notice (the rights holder or its agent) can appeal its rejection."
    return "Only the restricted party can appeal an account restriction."


async def _reversed(uow: UnitOfWork, decision: Decision) -> bool:
    """Whether an upheld appeal already reversed the case after this decision (this one's or a sibling's: a
    request for measures and the passed declaration deadline that kept them are one takedown)."""
    return decision.case_id is not None and await uow.decision_reads.any_since(
        decision.case_id, decision.seq, REVERSAL_KINDS)


async def decide_appeal(
    uow: UnitOfWork, principal: Principal, appeal_id: UUID, uphold: bool, reason_text: str = ""
) -> str:
    principal.require(*REVIEWERS)
    check_reasons((), reason_text, "reason")
    appeal = await uow.trust.appeal(appeal_id)
    if appeal is None:
        raise NotFound("Appeal", "appealId")
    decision = await uow.decision_reads.get(appeal["decision_id"])
    assert decision is not None
    if not decision.automated and decision.actor == principal.actor:
        raise Forbidden("An appeal is decided by a reviewer other than the one who took the decision.")
    now = uow.clock.now()
    if not await uow.trust.decide_appeal(appeal_id, "upheld" if uphold else "rejected", principal.actor, now):
        raise Conflict("This appeal was already decided (or superseded by an earlier one).", "appealId")
    case = None
    if uphold and decision.case_id is not None:
        # Locked before the check: of two appeals against one case upheld at once, the second waits and then
        # sees the first one's reversal.
        case = await uow.cases.lock(decision.case_id)
        assert case is not None
    reversed_before = case is not None and await _reversed(uow, decision)
    in_force = await uow.policies.in_force()
    link = (Reason("appeal", str(appeal_id)), Reason("appealed_decision", str(decision.id)))
    uow.decisions.record(
        DecisionDraft(
            subject_type="appeal",
            subject_id=appeal_id,
            case_id=decision.case_id,
            kind="appeal.decide",
            outcome="upheld" if uphold else "rejected",
            actor=principal.actor,
            automated=False,
            policy_version=in_force.version,
            reasons=(*link, Reason("already_reversed")) if reversed_before else link,
            reason_text=reason_text,
        )
    )
    uow.outbox.add("appeal.decided", {"appeal_id": str(appeal_id), "upheld": uphold}, ordering_key=str(appeal_id))
    if not uphold:
        return "rejected"
    if reversed_before:  # undoing it again would reopen and reject the case anew, and count against the notifier
        return "upheld"
    rules = [
        RuleRecord(
            "suspension.appeals",
            True,
            {"appeal_id": str(appeal_id), "decision_id": str(decision.id), "decision_kind": decision.kind},
        )
    ]
    if decision.kind in RESTRICTION_KINDS:
        await end_restriction(uow, in_force, decision.subject_id, "appeal upheld", principal.actor, automated=False)
        return "upheld"
    assert case is not None
    work = CaseWork(uow, in_force, principal.actor)
    if decision.kind in TAKEDOWN_KINDS:
        if decision.automated:  # a person reversed automation: it may not redo this on the listing for a while
            until = now + timedelta(days=in_force.policy.suspension.override_cooloff_days)
            measures = await uow.measures.by_cases([case.id])
            await uow.trust.add_cooloffs([(case.listing_id, m.type.value, until, case.id) for m in measures])
        if case.state is CaseState.CLOSED:
            case = work.transition(
                case, CaseEvent.REOPEN_ON_APPEAL, reasons=list(link), rules=rules, reason_text=reason_text
            )
            case = work.transition(
                case, CaseEvent.REJECT, reasons=[Reason("appeal_won"), *link], rules=rules, reason_text=reason_text
            )
        else:
            case = work.transition(
                case, CaseEvent.REVERSE_ON_APPEAL, reasons=list(link), rules=rules, reason_text=reason_text
            )
        work.close_if_ended(case)
    elif decision.kind in REJECTION_KINDS and case.state is CaseState.CLOSED:
        work.transition(case, CaseEvent.REOPEN_ON_APPEAL, reasons=list(link), rules=rules, reason_text=reason_text)
    await work.finish()
    return "upheld"
