"""Use cases for non-infringement declarations, their delivery, the waiting window and action proofs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from domain.calendar import Window, compute_window
from domain.cases import CaseEvent, CaseState
from domain.decisions import AUTOMATED, DecisionDraft, Reason, RuleRecord
from domain.errors import Conflict, FieldProblem, IdempotencyKeyReused, InvalidInput, NotFound, PolicyViolation
from domain.ids import new_id
from domain.notices import (
    ActionProofInput,
    Case,
    Declaration,
    DeclarationInput,
    DeclarationStatus,
    action_proof_problems,
    declaration_present_fields,
    declaration_shape_problems,
    request_hash,
)
from domain.policies import PolicyInForce
from domain.policy import WindowStart
from domain.policy_eval import evaluate_declaration
from domain.ports import UnitOfWork
from domain.problem_paths import DECLARATION_INPUT_PATHS, as_input_problems
from domain.services.case_work import DECLARATION_DEADLINE, CaseWork, save_cases
from domain.services.notices import REVIEWERS, SUBMITTERS, check_reasons
from domain.tenancy import Principal

DECLARE_OPERATION = "submitDeclaration"


async def _cases(uow: UnitOfWork, case_ids: Sequence[UUID], field: str = "caseIds") -> list[Case]:
    if not case_ids:
        raise InvalidInput("Name at least one case.", field)
    if len(case_ids) > 300:
        raise InvalidInput("At most 300 cases at once.", field)
    found = await uow.cases.get_many(list(dict.fromkeys(case_ids)))
    missing = [FieldProblem(f"{field}.{n}", "No such case.", "not_found") for n, c in enumerate(found) if c is None]
    if missing:
        raise InvalidInput.from_problems(missing)
    return [c for c in found if c is not None]


async def submit_declaration(uow: UnitOfWork, principal: Principal, data: DeclarationInput) -> Declaration:
    """A merchant declares non-infringement for one or more of its cases (ECL 43, DMCA 512(g), DSA Art 20).

    A retry under the same idempotencyKey gets the original declaration back (its cases are declared by
    then, so deciding again would refuse it); another payload under the key is IdempotencyKeyReused."""
    principal.require(*SUBMITTERS)
    problems = declaration_shape_problems(data)
    if problems:
        raise InvalidInput.from_problems(problems)
    if data.idempotency_key is not None:
        earlier = await uow.idempotency.get(DECLARE_OPERATION, data.idempotency_key)
        if earlier is not None:
            stored_hash, result = earlier
            if stored_hash != request_hash(data):
                raise IdempotencyKeyReused()
            return await _declaration(uow, UUID(result["declaration_id"]))
    cases = await _cases(uow, data.case_ids)
    merchants = {c.merchant_id for c in cases}
    if len(merchants) != 1:
        raise InvalidInput("A declaration covers cases of one merchant only.", "caseIds")
    wrong = [FieldProblem(f"caseIds.{n}", f"The case is {c.state.value}; a declaration answers applied measures.")
             for n, c in enumerate(cases) if c.state is not CaseState.MEASURES_APPLIED or c.declaration_id]
    if wrong:
        raise Conflict(wrong[0].message, wrong[0].field)
    in_force = await uow.policies.in_force()
    merchant_id = merchants.pop()
    name, email, address, phone = (await uow.parties.contact_flags([merchant_id])).get(
        merchant_id, (False, False, False, False))
    [notice] = await uow.notices.get_many([cases[0].notice_id])
    assert notice is not None
    [right] = await uow.ip_rights.get_many([notice.ip_right_id])
    assessment = evaluate_declaration(
        in_force.policy,
        declaration_present_fields(data, has_identity=name, has_email=email, has_address=address, has_phone=phone),
        frozenset(e.kind for e in data.evidence), right_type=right.type.value if right else None,
    )
    if assessment.outcome != "accept_for_review":
        raise PolicyViolation.from_problems(as_input_problems(assessment.problems, DECLARATION_INPUT_PATHS))
    now = uow.clock.now()
    declaration = Declaration(
        id=new_id(), merchant_id=merchant_id, grounds=data.grounds, explanation=data.explanation,
        evidence=data.evidence, statements=data.statements, status=DeclarationStatus.SUBMITTED,
        policy_version=in_force.version, received_at=now, reviewed_at=None, forwarded_at=None, delivered_at=None,
        case_ids=tuple(c.id for c in cases),
    )
    # Declaring in time stops the merchant's clock: it runs on if the declaration is rejected and is cancelled
    # when it is accepted. The deadline row is taken before the cases, the order the scheduler firing it takes
    # them in, so a declaration and its deadline coming due at once wait for each other instead of deadlocking.
    await uow.deadlines.pause(declaration.case_ids, now, [DECLARATION_DEADLINE])
    if not await uow.declarations.insert(declaration, {}, data.idempotency_key):
        raise Conflict("A case was answered or decided at the same time; reload the cases.", "caseIds")
    if data.idempotency_key is not None:
        uow.idempotency.put_many(DECLARE_OPERATION, [
            (data.idempotency_key, request_hash(data), {"declaration_id": str(declaration.id)})])
    rules = [RuleRecord(h.rule_id, h.passed, dict(h.inputs)) for h in assessment.hits]
    uow.decisions.record(DecisionDraft(
        subject_type="declaration", subject_id=declaration.id, kind="declaration.receive", outcome="submitted",
        actor=principal.actor, automated=False, policy_version=in_force.version, rules=rules,
    ))
    uow.outbox.add("declaration.received", {"declaration_id": str(declaration.id),
                                            "case_ids": [str(c.id) for c in cases]}, ordering_key=str(cases[0].id))
    if not assessment.review_required:
        cases = [replace(c, declaration_id=declaration.id, revision=c.revision + 1) for c in cases]  # as claimed
        await _accept(uow, in_force, declaration, cases, f"{AUTOMATED}:declarations.review_required",
                      automated=True, immediate=assessment.immediate_restore, rules=rules)
    return await _declaration(uow, declaration.id)


async def review_declaration(uow: UnitOfWork, principal: Principal, declaration_id: UUID, accept: bool,
                             reasons: Sequence[Reason], reason_text: str = "") -> Declaration:
    principal.require(*REVIEWERS)
    check_reasons(reasons, reason_text)
    declaration = await _declaration(uow, declaration_id)
    if declaration.status is not DeclarationStatus.SUBMITTED:
        raise Conflict(f"The declaration was already {declaration.status.value}.", "declarationId")
    in_force = await uow.policies.in_force()
    cases = await uow.cases.by_declaration(declaration_id)
    if accept:
        [notice] = await uow.notices.get_many([cases[0].notice_id])
        assert notice is not None
        [right] = await uow.ip_rights.get_many([notice.ip_right_id])
        immediate = right is not None and right.type in in_force.policy.declarations.immediate_restore
        await _accept(uow, in_force, declaration, cases, principal.actor, automated=False, immediate=immediate,
                      reasons=reasons, reason_text=reason_text)
    else:
        if not reasons:
            raise InvalidInput("Give at least one reason code for a rejection.", "reasons")
        now = uow.clock.now()
        await _mark_reviewed(uow, declaration_id, DeclarationStatus.REJECTED, now)
        uow.decisions.record(DecisionDraft(
            subject_type="declaration", subject_id=declaration_id, kind="declaration.review", outcome="rejected",
            actor=principal.actor, automated=False, policy_version=in_force.version, reasons=tuple(reasons),
            reason_text=reason_text,
        ))
        # The cases are free to be answered again with a better declaration.
        await save_cases(uow, [(replace(case, declaration_id=None, updated_at=now), case.revision) for case in cases])
        # The merchant's time to declare runs on with what it had left; a suspended case's clock stays stopped
        # until its suspension ends.
        await uow.deadlines.resume([c.id for c in cases if c.state is CaseState.MEASURES_APPLIED], now,
                                   [DECLARATION_DEADLINE])
        uow.outbox.add("declaration.rejected", {"declaration_id": str(declaration_id)},
                       ordering_key=str(cases[0].id) if cases else None)
    return await _declaration(uow, declaration_id)


async def _mark_reviewed(uow: UnitOfWork, declaration_id: UUID, status: DeclarationStatus, at: datetime) -> None:
    """Two reviewers deciding at once both read it submitted; the second must not overwrite the first's outcome
    (its cases already moved on it), so it is refused."""
    if not await uow.declarations.mark_reviewed(declaration_id, status, at):
        raise Conflict("The declaration was reviewed concurrently.", "declarationId")


async def _accept(uow: UnitOfWork, in_force: PolicyInForce, declaration: Declaration, cases: Sequence[Case],
                  actor: str, *, automated: bool, immediate: bool, rules: Sequence[RuleRecord] = (),
                  reasons: Sequence[Reason] = (), reason_text: str = "") -> None:
    now = uow.clock.now()
    await _mark_reviewed(uow, declaration.id, DeclarationStatus.ACCEPTED, now)
    uow.decisions.record(DecisionDraft(
        subject_type="declaration", subject_id=declaration.id, kind="declaration.review", outcome="accepted",
        actor=actor, automated=automated, policy_version=in_force.version, rules=tuple(rules),
        reasons=tuple(reasons), reason_text=reason_text,
    ))
    await uow.declarations.mark_forwarded(declaration.id, now)
    window_rule = in_force.policy.declarations.window
    work = CaseWork(uow, in_force, actor, automated=automated)
    declared = [work.transition(c, CaseEvent.ACCEPT_DECLARATION, rules=rules, reasons=reasons,
                                reason_text=reason_text) for c in cases]
    if window_rule is None or immediate:
        # No waiting window (DSA: decided on the merits; CN copyright Art 17: restore at once).
        why = "immediate restore for this right type" if immediate else "the policy has no waiting window"
        no_window = [RuleRecord("declarations.immediate_restore" if immediate else "declarations.window", True,
                                {"window": None, "accepted_at": now.isoformat()})]
        for case in declared:
            case = work.transition(case, CaseEvent.DELIVER_DECLARATION, window=Window(now, now, now, now.date(), ()),
                                   automated=True, actor=f"{AUTOMATED}:declarations.window", reason_text=why,
                                   rules=no_window)
            work.close_if_ended(work.transition(case, CaseEvent.WINDOW_EXPIRED, automated=True,
                                                actor=f"{AUTOMATED}:declarations.window", reason_text=why,
                                                rules=no_window))
    elif window_rule.starts_on is WindowStart.RECEIVED:
        # DMCA 512(g): the clock runs from the provider's receipt of the counter-notice.
        window = await _window(uow, in_force, declaration.received_at)
        for case in declared:
            work.transition(case, CaseEvent.DELIVER_DECLARATION, window=window, automated=True,
                            actor=f"{AUTOMATED}:declarations.window.starts_on",
                            reason_text="The window runs from receipt of the declaration.",
                            rules=[_window_rule("received_at", declaration.received_at, window)])
    await work.finish()


def delivery_waits_for_resume(case: Case) -> bool:
    """Suspended while its accepted declaration was on its way: a delivery receipt is recorded, and the
    window starts when handling resumes (resume_case), since suspension stops the case's clocks."""
    return case.state is CaseState.SUSPENDED and case.status.suspended_from is CaseState.DECLARED


async def start_window_on_resume(uow: UnitOfWork, in_force: PolicyInForce, work: CaseWork, case: Case) -> None:
    """A case resumed into `declared` whose declaration reached the complainant meanwhile: its window
    starts now, as if delivered at the resumption (the suspension stopped the clock)."""
    if case.state is not CaseState.DECLARED or case.declaration_id is None:
        return
    declaration = await uow.declarations.get(case.declaration_id)
    if declaration is None or declaration.delivered_at is None:
        return
    window = await _window(uow, in_force, work.now)
    work.transition(case, CaseEvent.DELIVER_DECLARATION, window=window, automated=True,
                    actor=f"{AUTOMATED}:declarations.window",
                    reason_text="Delivered while handling was suspended; the window runs from the resumption.",
                    rules=[_window_rule("resumed_at", work.now, window)])


def _window_rule(start_event: str, start: datetime, window: Window) -> RuleRecord:
    """How the window was computed, as the decision's rule input (it is what a restore rests on)."""
    return RuleRecord("declarations.window", True, {
        start_event: start.isoformat(), "earliest_end_at": window.earliest_end_at.isoformat(),
        "ends_at": window.ends_at.isoformat(), "explanation": list(window.explanation)})


async def _window(uow: UnitOfWork, in_force: PolicyInForce, start: datetime) -> Window:
    rule = in_force.policy.declarations.window
    assert rule is not None
    tenant = await uow.tenants.get_current()
    return compute_window(start, rule.to_window_rule(), tenant.timezone, uow.calendar(tenant.holiday_country))


async def confirm_delivery(uow: UnitOfWork, principal: Principal, declaration_id: UUID,
                           delivered_at: datetime | None) -> Declaration:
    """The forwarded declaration reached the complainant (ECL 43: the 15 days run from arrival)."""
    principal.require(*SUBMITTERS)
    declaration = await _declaration(uow, declaration_id)
    if declaration.status is not DeclarationStatus.ACCEPTED:
        raise Conflict("Only an accepted, forwarded declaration can be delivered.", "declarationId")
    if declaration.delivered_at is not None:  # its cases' windows run from that time: it is not rewritten
        raise Conflict(f"The declaration's delivery was already recorded ({declaration.delivered_at.isoformat()}).",
                       "declarationId")
    now = uow.clock.now()
    at = delivered_at or now
    if at.tzinfo is None:
        raise InvalidInput("deliveredAt needs a timezone offset.", "deliveredAt")
    if declaration.forwarded_at and at < declaration.forwarded_at:
        raise InvalidInput("A declaration cannot arrive before it was forwarded.", "deliveredAt")
    if at > now:
        raise InvalidInput("deliveredAt is in the future.", "deliveredAt")
    answered = await uow.cases.by_declaration(declaration_id)
    cases = [c for c in answered if c.state is CaseState.DECLARED]
    suspended = [c for c in answered if delivery_waits_for_resume(c)]
    if not cases and not suspended:
        raise Conflict("No case of this declaration is waiting for delivery.", "declarationId")
    in_force = await uow.policies.in_force()
    window = await _window(uow, in_force, at)
    # Recorded for every case: a case whose handling is suspended starts its window when it resumes. Those
    # are written too (unchanged, revision checked), so a resumption at the same moment conflicts with this
    # instead of missing the delivery.
    await save_cases(uow, [(c, c.revision) for c in suspended])
    await uow.declarations.mark_delivered(declaration_id, at)
    # automated when a machine confirmed it (a receiver's webhook acknowledgement), else the caller did
    work = CaseWork(uow, in_force, principal.actor, automated=principal.actor.startswith(f"{AUTOMATED}:"))
    for case in cases:
        work.transition(case, CaseEvent.DELIVER_DECLARATION, window=window,
                        rules=[_window_rule("delivered_at", at, window)])
    await work.finish()
    return await _declaration(uow, declaration_id)


async def submit_action_proof(uow: UnitOfWork, principal: Principal, data: ActionProofInput) -> list[Case]:
    """The complainant shows a complaint or lawsuit was filed within the window: measures stay (upheld)."""
    principal.require(*SUBMITTERS)
    cases = await _cases(uow, data.case_ids)
    now = uow.clock.now()
    # A case is created when its notice is received (same instant), so its creation date is the receipt's.
    problems = action_proof_problems(data, now.date(), max(c.created_at for c in cases).date())
    if problems:
        raise InvalidInput.from_problems(problems)
    late = [FieldProblem(f"caseIds.{n}", f"The case is {c.state.value}, not within its waiting window.")
            for n, c in enumerate(cases) if c.state is not CaseState.WAITING
            or (c.window_ends_at is not None and now >= c.window_ends_at)]
    if late:
        raise Conflict(late[0].message, late[0].field)
    in_force = await uow.policies.in_force()
    await uow.proofs.insert_many([
        (new_id(), c.id, data.kind.value, data.authority, data.reference, data.filed_on,
         [e.as_json() for e in data.evidence], now) for c in cases])
    work = CaseWork(uow, in_force, principal.actor, automated=False)
    for case in cases:
        upheld = work.transition(case, CaseEvent.ACCEPT_ACTION_PROOF, reasons=[
            Reason(f"action_proof.{data.kind.value}", f"{data.authority} {data.reference}")])
        work.close_if_ended(upheld)
    await work.finish()
    return [c for c in await uow.cases.get_many([c.id for c in cases]) if c is not None]


async def _declaration(uow: UnitOfWork, declaration_id: UUID) -> Declaration:
    d = await uow.declarations.get(declaration_id)
    if d is None:
        raise NotFound("Declaration", "declarationId")
    return d
