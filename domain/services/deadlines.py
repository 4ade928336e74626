"""What happens when a durable deadline comes due: the kind -> use case table the scheduler uses.

Handlers take a batch of due deadlines of one kind for one tenant and act on the cases still in the
state the deadline was set for; a case that moved on meanwhile (proof filed, withdrawn) is skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.cases import CaseEvent, CaseState
from domain.decisions import AUTOMATED, Reason, RuleRecord
from domain.notices import Case
from domain.ports import UnitOfWork
from domain.services.accounts import RESTRICTION_END, end_restriction
from domain.services.archive import ARCHIVE_PURGE, purge_due_bundles
from domain.services.case_work import CLARIFICATION_EXPIRY, DECLARATION_DEADLINE, WINDOW_END, CaseWork
from domain.services.disclosures import DISCLOSURE_PUBLISH, publish_due
from domain.services.notifications import NOTIFICATION_DEADLINE_HANDLERS
from domain.services.statements import SOR_SUBMIT
from domain.services.statements import on_wakeup as sor_wakeup
from domain.services.suspensions import SUSPENSION_REVIEW


@dataclass(frozen=True, slots=True)
class DueDeadline:
    id: UUID
    kind: str
    subject_id: UUID
    due_at: datetime
    payload: Mapping[str, Any]


DeadlineHandler = Callable[[UnitOfWork, Sequence[DueDeadline]], Awaitable[None]]


def _case_deadline(expected: CaseState, event: CaseEvent, rule_id: str, text: str,
                   answered: Callable[[Case], bool] = lambda case: False) -> DeadlineHandler:
    """`answered`: the case's party did what the deadline waited for, so it has nothing to do."""
    async def handle(uow: UnitOfWork, due: Sequence[DueDeadline]) -> None:
        in_force = await uow.policies.in_force()
        work = CaseWork(uow, in_force, f"{AUTOMATED}:{rule_id}", automated=True)
        cases = await uow.cases.get_many([d.subject_id for d in due])
        for deadline, case in zip(due, cases, strict=True):
            if case is None or case.state is not expected or answered(case):
                continue
            case = work.transition(case, event, reason_text=text, reasons=[Reason(rule_id, text)], rules=[
                RuleRecord(rule_id, True, {"due_at": deadline.due_at.isoformat(), "now": work.now.isoformat(),
                                           **{k: v for k, v in deadline.payload.items() if k == "explanation"}})])
            work.close_if_ended(case)
        await work.finish()

    return handle


DEADLINE_HANDLERS: dict[str, DeadlineHandler] = {
    WINDOW_END: _case_deadline(
        CaseState.WAITING, CaseEvent.WINDOW_EXPIRED, "declarations.window",
        "The waiting window ended without proof of a complaint or lawsuit; measures are lifted (ECL 43)."),
    CLARIFICATION_EXPIRY: _case_deadline(
        CaseState.INCOMPLETE, CaseEvent.CLARIFICATION_EXPIRED, "notices.clarification.window_days",
        "The notice was not completed within the clarification window."),
    DECLARATION_DEADLINE: _case_deadline(
        CaseState.MEASURES_APPLIED, CaseEvent.DECLARATION_DEADLINE_PASSED, "notices.declaration_deadline_days",
        "No declaration was submitted in time; the measures stand.",
        # Belt and braces: a declaration pauses this deadline when it claims the case. One that comes due anyway
        # (left pending by a declaration made before that, or retried after a failed pass) must not close a case
        # whose merchant answered in time.
        answered=lambda case: case.declaration_id is not None),
}


async def _end_restrictions(uow: UnitOfWork, due: Sequence[DueDeadline]) -> None:
    """Account restrictions end on their own at their end time (durable deadline)."""
    in_force = await uow.policies.in_force()
    for deadline in due:
        await end_restriction(uow, in_force, deadline.subject_id, "restriction period ended",
                              f"{AUTOMATED}:suspension.restriction_end", automated=True)


async def _suspension_review_due(uow: UnitOfWork, due: Sequence[DueDeadline]) -> None:
    """A suspended case's review date arrived: reviewers are told (no state changes by itself)."""
    for deadline in due:
        uow.outbox.add("suspension.review_due", {"case_id": str(deadline.subject_id), **dict(deadline.payload)},
                       ordering_key=str(deadline.subject_id))


DEADLINE_HANDLERS[RESTRICTION_END] = _end_restrictions
DEADLINE_HANDLERS[SUSPENSION_REVIEW] = _suspension_review_due
DEADLINE_HANDLERS[ARCHIVE_PURGE] = purge_due_bundles


async def _publish_disclosures(uow: UnitOfWork, due: Sequence[DueDeadline]) -> None:
    """Disclosures whose policy delay has passed become public (ECL 44 'promptly', after the delay)."""
    await publish_due(uow, [d.subject_id for d in due])


DEADLINE_HANDLERS[DISCLOSURE_PUBLISH] = _publish_disclosures
DEADLINE_HANDLERS.update(NOTIFICATION_DEADLINE_HANDLERS)  # webhook/email wake-ups: retries and lost triggers
DEADLINE_HANDLERS[SOR_SUBMIT] = sor_wakeup  # DSA statements of reasons: hand a submission pass to the worker
