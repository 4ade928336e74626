"""Use cases for notices and cases: intake (single and batch), review, measures, settlement, withdrawal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from uuid import UUID

from domain.cases import OPEN_STATES, CaseEvent, CaseState, CaseStatus
from domain.decisions import AUTOMATED, DecisionDraft, Reason, RuleRecord
from domain.errors import (
    Conflict,
    DomainError,
    FieldProblem,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    PolicyViolation,
)
from domain.ids import new_id
from domain.notices import (
    Case,
    Measure,
    MeasureRequest,
    MeasureStatus,
    Notice,
    NoticeInput,
    clarification_problems,
    measure_problems,
    notice_present_fields,
    notice_shape_problems,
    reason_problems,
    request_hash,
)
from domain.notices import check_reasons as check_reasons  # re-exported: declarations imports it from here
from domain.policy import MeasureType
from domain.policy_eval import NoticeFacts, compile_policy, evaluate_notice
from domain.ports import UnitOfWork
from domain.problem_paths import NOTICE_INPUT_PATHS, as_input_problems
from domain.reference import IpRight, Listing, Party, PartyKind, check_batch_size
from domain.services.accounts import notice_refusals
from domain.services.case_work import CaseWork
from domain.services.disclosures import notice_facts
from domain.tenancy import Principal, Role
from domain.trust import window_start

SUBMITTERS = (Role.INTEGRATION, Role.ADMIN)
REVIEWERS = (Role.REVIEWER, Role.ADMIN)
SUBMIT_OPERATION = "submitNotice"


@dataclass(frozen=True, slots=True)
class NoticeResult:
    """One submitted notice's outcome; a batch returns one per item, in order."""

    index: int
    notice: Notice | None = None
    cases: tuple[Case, ...] = ()
    error: DomainError | None = None
    replayed: bool = False


def _rules(hits: Sequence[object]) -> list[RuleRecord]:
    return [RuleRecord(h.rule_id, h.passed, dict(h.inputs)) for h in hits]  # type: ignore[attr-defined]


async def submit_notices(uow: UnitOfWork, principal: Principal, items: Sequence[NoticeInput]) -> list[NoticeResult]:
    """Take up to 1,000 notices; each creates one case per listing, or fails on its own."""
    principal.require(*SUBMITTERS)
    check_batch_size(items, "notices")
    in_force = await uow.policies.in_force()
    policy = in_force.policy
    compiled = compile_policy(policy)
    results: dict[int, NoticeResult] = {}

    # Everything the items refer to (and their stored idempotency keys), read once for the whole batch.
    keyed = {i: it.idempotency_key for i, it in enumerate(items) if it.idempotency_key}
    now = uow.clock.now()
    refs = await uow.intake.references(
        SUBMIT_OPERATION, list(set(keyed.values())),
        list({it.complainant_id for it in items} | {it.agent_id for it in items if it.agent_id}),
        list({it.ip_right_id for it in items}), list({lid for it in items for lid in it.listing_ids}),
        list({e for it in items for e in it.listing_external_ids}), now,
        window_start(now, policy.suspension.abusive_notifier.window_days))

    # Idempotent replays first: a retry gets the original notice back.
    seen_keys: dict[str, int] = {}
    for i, key in keyed.items():
        if key in seen_keys:
            results[i] = NoticeResult(i, error=InvalidInput(
                f"Duplicate idempotencyKey in this batch (item {seen_keys[key]}).", "idempotencyKey"))
        seen_keys.setdefault(key, i)
    replay_ids: dict[int, UUID] = {}
    for key, i in seen_keys.items():
        if key in refs.replays:
            stored_hash, result = refs.replays[key]
            if stored_hash != request_hash(items[i]):
                results[i] = NoticeResult(i, error=IdempotencyKeyReused())
            else:
                replay_ids[i] = UUID(result["notice_id"])
    if replay_ids:
        originals = await uow.notices.get_many(list(replay_ids.values()))
        for (i, _), original in zip(replay_ids.items(), originals, strict=True):
            earlier = tuple(await uow.cases.by_notice(original.id)) if original else ()
            results[i] = NoticeResult(i, notice=original, cases=earlier, replayed=True)

    pending = [(i, it) for i, it in enumerate(items) if i not in results]
    for i, it in pending:
        problems = notice_shape_problems(it, policy.notices.max_listings_per_notice)
        if problems:
            results[i] = NoticeResult(i, error=InvalidInput.from_problems(problems))
    pending = [(i, it) for i, it in pending if i not in results]

    work = CaseWork(uow, in_force, principal.actor)
    today = now.date()
    refused = notice_refusals(refs.restrictions, now)
    notices: list[Notice] = []
    to_remember: list[tuple[str, bytes, dict[str, str]]] = []
    for i, it in pending:
        resolved = _resolve(it, refs.parties, refs.rights, refs.listings_by_id, refs.listings_by_external_id)
        if isinstance(resolved, DomainError):
            results[i] = NoticeResult(i, error=resolved)
            continue
        right, listings = resolved
        filer = it.agent_id or it.complainant_id
        if filer in refused:
            results[i] = NoticeResult(i, error=refused[filer])
            continue
        trusted = refs.trusted_since.get(filer) is not None
        has_identity, has_email, _, _ = refs.contacts.get(it.complainant_id, (False, False, False, False))
        agent_authorized = it.agent_id is not None and any(e.kind == "authorization_letter" for e in it.evidence)
        facts = NoticeFacts(
            right_type=right.type.value, right_jurisdiction=right.jurisdiction,
            right_verification_status=right.verification_status.value, right_legal_status=right.legal_status.value,
            right_valid_until=right.valid_until, today=today,
            present_fields=notice_present_fields(it, has_identity=has_identity, has_email=has_email),
            evidence_kinds=frozenset(e.kind for e in it.evidence), listing_count=len(listings),
            has_agent=it.agent_id is not None, agent_authorized=agent_authorized, notifier_trusted=trusted,
        )
        assessment = evaluate_notice(compiled, facts)
        problems = as_input_problems(assessment.problems, NOTICE_INPUT_PATHS) if assessment.problems else []
        if assessment.outcome == "reject":
            results[i] = NoticeResult(i, error=PolicyViolation.from_problems(problems))
            continue
        if assessment.outcome == "incomplete" and not policy.notices.clarification.allowed:
            results[i] = NoticeResult(i, error=InvalidInput.from_problems(problems))
            continue
        notice = Notice(
            id=new_id(), complainant_id=it.complainant_id, agent_id=it.agent_id, ip_right_id=it.ip_right_id,
            reason_code=it.reason_code, explanation=it.explanation, evidence=it.evidence, statements=it.statements,
            signature=it.signature, channel=it.channel, idempotency_key=it.idempotency_key,
            policy_version=in_force.version, trusted=trusted, received_at=now,
        )
        notices.append(notice)
        work.count(filer, "notices")
        rules = _rules(assessment.hits)
        reasons = [Reason(p.code, f"{p.field}: {p.message}") for p in problems]
        due = now + timedelta(hours=assessment.review_due_hours) if assessment.review_due_hours else None
        new_cases: list[Case] = []
        for listing in listings:
            case = Case(
                id=new_id(), notice_id=notice.id, listing_id=listing.id, merchant_id=listing.merchant_id,
                status=CaseStatus(CaseState.RECEIVED), priority=1 if notice.trusted else 0, review_due_at=due,
                declaration_id=None, window_starts_at=None, window_earliest_end_at=None, window_ends_at=None,
                outcome_at=None, created_at=now, updated_at=now, revision=0, notifier_id=filer,
            )
            work.add_new(case, notice_facts(
                notice, right, listing, refs.merchant_names.get(listing.merchant_id),
                notifier.display_name if (notifier := refs.parties.get(filer)) else None))
            event = CaseEvent.MARK_INCOMPLETE if assessment.outcome == "incomplete" else CaseEvent.COMPLETE_NOTICE
            case = work.transition(case, event, rules=rules, reasons=reasons, automated=True,
                                   actor=f"{AUTOMATED}:notices.intake")
            held_back = (listing.id, assessment.measure) in refs.cooling
            if held_back:
                # A person reversed automation on this listing recently: leave it to a person now too.
                uow.decisions.record(DecisionDraft(
                    subject_type="case", subject_id=case.id, case_id=case.id, kind="case.automation_held",
                    outcome="under_review", actor=f"{AUTOMATED}:suspension.override_cooloff_days", automated=True,
                    policy_version=in_force.version, rules=(RuleRecord(
                        "suspension.override_cooloff_days", False,
                        {"listing_id": str(listing.id), "measure": assessment.measure}),),
                ))
            if assessment.outcome == "auto_accept" and assessment.measure is not None and not held_back:
                case = work.transition(
                    case, CaseEvent.REQUEST_MEASURES, rules=rules, automated=True,
                    actor=f"{AUTOMATED}:notices.review_mode",
                    measures=[MeasureRequest(MeasureType(assessment.measure))],
                    reason_text="Accepted automatically under the policy's review mode.",
                )
            new_cases.append(case)
        results[i] = NoticeResult(i, notice=notice, cases=tuple(new_cases))
        if it.idempotency_key:
            to_remember.append((it.idempotency_key, request_hash(it), {"notice_id": str(notice.id)}))
        uow.outbox.add("notice.received", {"notice_id": str(notice.id), "case_count": len(new_cases)},
                       ordering_key=str(notice.id))

    await work.finish(new_notices=notices)
    uow.idempotency.put_many(SUBMIT_OPERATION, to_remember)
    return [results[i] for i in range(len(items))]


def _resolve(
    it: NoticeInput, parties: Mapping[UUID, Party], rights: Mapping[UUID, IpRight],
    listings_by_id: Mapping[UUID, Listing], listings_by_ext: Mapping[str, Listing],
) -> tuple[IpRight, list[Listing]] | DomainError:
    problems: list[FieldProblem] = []
    complainant = parties.get(it.complainant_id)
    if complainant is None:
        return NotFound("Complainant party", "complainantId")
    if complainant.kind is PartyKind.MERCHANT:
        problems.append(FieldProblem("complainantId", "A merchant cannot be the complainant."))
    if it.agent_id is not None:
        agent = parties.get(it.agent_id)
        if agent is None:
            return NotFound("Agent party", "agentId")
        if agent.kind is not PartyKind.AGENT:
            problems.append(FieldProblem("agentId", "The agent must be a party of kind agent."))
    right = rights.get(it.ip_right_id)
    if right is None:
        return NotFound("IP right", "ipRightId")
    if right.holder_id != it.complainant_id:
        problems.append(FieldProblem("ipRightId", "The right is held by another party than the complainant."))
    listings: dict[UUID, Listing] = {}
    for n, lid in enumerate(it.listing_ids):
        found = listings_by_id.get(lid)
        if found is None:
            problems.append(FieldProblem(f"listingIds.{n}", "No such listing.", "not_found"))
        else:
            listings[found.id] = found
    for n, ext in enumerate(it.listing_external_ids):
        found = listings_by_ext.get(ext)
        if found is None:
            problems.append(FieldProblem(f"listingExternalIds.{n}", f"No listing with external id '{ext}'.",
                                         "not_found"))
        else:
            listings[found.id] = found
    if problems:
        return InvalidInput.from_problems(problems)
    return right, list(listings.values())


# ----- review ------------------------------------------------------------------------------------


async def _open_case(uow: UnitOfWork, case_id: UUID) -> Case:
    [case] = await uow.cases.get_many([case_id])
    if case is None:
        raise NotFound("Case", "caseId")
    return case


async def accept_case(uow: UnitOfWork, principal: Principal, case_id: UUID, measures: Sequence[MeasureRequest],
                      reason_text: str = "") -> Case:
    """A reviewer accepts the notice for this listing and asks the marketplace to apply measures."""
    principal.require(*REVIEWERS)
    input_problems = measure_problems(measures, uow.clock.now().date()) + reason_problems((), reason_text, "reason")
    if input_problems:
        raise InvalidInput.from_problems(input_problems)
    in_force = await uow.policies.in_force()
    case = await _open_case(uow, case_id)
    allowed = set(in_force.policy.notices.allowed_measures)
    if not measures:
        [notice] = await uow.notices.get_many([case.notice_id])
        assert notice is not None
        [right] = await uow.ip_rights.get_many([notice.ip_right_id])
        assert right is not None
        default = in_force.policy.notices.default_measure.get(right.type)
        if default is None:
            raise InvalidInput("Choose a measure: the policy has no default for this right type.", "measures")
        measures = [MeasureRequest(default)]
    problems = [FieldProblem(f"measures.{n}.type", f"'{m.type.value}' is not allowed by this tenant's policy.")
                for n, m in enumerate(measures) if m.type not in allowed]
    problems += [FieldProblem(f"measures.{n}.territorialScope", "restrict_region needs a territorial scope.")
                 for n, m in enumerate(measures) if m.type is MeasureType.RESTRICT_REGION and not m.territorial_scope]
    if problems:
        raise PolicyViolation.from_problems(problems)
    work = CaseWork(uow, in_force, principal.actor)
    work.transition(case, CaseEvent.REQUEST_MEASURES, measures=measures, reason_text=reason_text,
                    reasons=[Reason("accepted", reason_text)])
    await work.finish()
    return (await uow.cases.get_many([case_id]))[0]  # type: ignore[return-value]


async def reject_case(uow: UnitOfWork, principal: Principal, case_id: UUID, reasons: Sequence[Reason],
                      reason_text: str = "", *, manifestly_unfounded: bool = False) -> Case:
    """`manifestly_unfounded`: evident without substantive analysis (DSA recital 63); counts against the notifier."""
    principal.require(*REVIEWERS)
    if not reasons:
        raise InvalidInput("Give at least one reason code for a rejection.", "reasons")
    check_reasons(reasons, reason_text)
    return await _decide(uow, principal, case_id, CaseEvent.REJECT, reasons, reason_text,
                         unfounded=manifestly_unfounded)


async def request_clarification(uow: UnitOfWork, principal: Principal, case_id: UUID, reason_text: str) -> Case:
    principal.require(*REVIEWERS)
    if not reason_text.strip():
        raise InvalidInput("Say what the complainant must clarify.", "message")
    check_reasons((), reason_text, "message")
    return await _decide(uow, principal, case_id, CaseEvent.REQUEST_CLARIFICATION,
                         [Reason("clarification_requested", reason_text)], reason_text)


async def _decide(uow: UnitOfWork, principal: Principal, case_id: UUID, event: CaseEvent,
                  reasons: Sequence[Reason], reason_text: str, *, unfounded: bool = False) -> Case:
    in_force = await uow.policies.in_force()
    case = await _open_case(uow, case_id)
    if unfounded:
        case = replace(case, unfounded=True)
    work = CaseWork(uow, in_force, principal.actor)
    case = work.transition(case, event, reasons=reasons, reason_text=reason_text)
    work.close_if_ended(case)
    await work.finish()
    return (await uow.cases.get_many([case_id]))[0]  # type: ignore[return-value]


async def clarify_notice(uow: UnitOfWork, principal: Principal, notice_id: UUID, addition: NoticeInput) -> list[Case]:
    """The complainant completes an incomplete notice; it is evaluated again and goes back to review."""
    principal.require(*SUBMITTERS)
    [notice] = await uow.notices.get_many([notice_id])
    if notice is None:
        raise NotFound("Notice", "noticeId")
    problems = clarification_problems(addition, len(notice.evidence))
    if problems:  # what intake would refuse is refused here too: it is stored the same way
        raise InvalidInput.from_problems(problems)
    merged = replace(
        notice,
        explanation=addition.explanation or notice.explanation,
        evidence=notice.evidence + addition.evidence,
        statements=type(notice.statements)(
            notice.statements.good_faith or addition.statements.good_faith,
            notice.statements.accuracy or addition.statements.accuracy,
            notice.statements.authority or addition.statements.authority,
        ),
        signature=addition.signature or notice.signature,
    )
    in_force = await uow.policies.in_force()
    cases = [c for c in await uow.cases.by_notice(notice_id) if c.state is CaseState.INCOMPLETE]
    if not cases:
        raise Conflict("This notice has no case waiting for clarification.", "noticeId")
    [right] = await uow.ip_rights.get_many([notice.ip_right_id])
    assert right is not None
    contacts = await uow.parties.contact_flags([notice.complainant_id])
    has_identity, has_email, _, _ = contacts.get(notice.complainant_id, (False, False, False, False))
    as_input = NoticeInput(complainant_id=merged.complainant_id, ip_right_id=merged.ip_right_id,
                           reason_code=merged.reason_code, listing_ids=tuple(c.listing_id for c in cases),
                           agent_id=merged.agent_id, explanation=merged.explanation, evidence=merged.evidence,
                           statements=merged.statements, signature=merged.signature)
    facts = NoticeFacts(
        right_type=right.type.value, right_jurisdiction=right.jurisdiction,
        right_verification_status=right.verification_status.value, right_legal_status=right.legal_status.value,
        right_valid_until=right.valid_until, today=uow.clock.now().date(),
        present_fields=notice_present_fields(as_input, has_identity=has_identity, has_email=has_email),
        evidence_kinds=frozenset(e.kind for e in merged.evidence), listing_count=len(cases),
        has_agent=merged.agent_id is not None,
        agent_authorized=any(e.kind == "authorization_letter" for e in merged.evidence), notifier_trusted=False,
    )
    assessment = evaluate_notice(in_force.policy, facts)
    if assessment.outcome in ("reject", "incomplete"):
        raise PolicyViolation.from_problems(as_input_problems(assessment.problems, NOTICE_INPUT_PATHS))
    await uow.notices.update_content(merged)
    work = CaseWork(uow, in_force, principal.actor)
    due = work.now + timedelta(hours=assessment.review_due_hours)
    for case in cases:
        work.transition(replace(case, review_due_at=due), CaseEvent.CLARIFY, rules=_rules(assessment.hits))
    await work.finish()
    return [c for c in await uow.cases.get_many([c.id for c in cases]) if c is not None]


# ----- measures ----------------------------------------------------------------------------------


async def confirm_measure(uow: UnitOfWork, principal: Principal, measure_id: UUID, applied: bool,
                          reason: str | None) -> tuple[Measure, Case]:
    """The marketplace reports whether it applied a requested measure.

    Every report is a decision on the measure, whether or not the case moves: a measure applied or
    failed changes what is done to the listing. The case moves once all of its measures are applied,
    or back to review as soon as one fails (its other measures are lifted then, see `domain.cases`).
    """
    principal.require(*SUBMITTERS)
    if not applied and not (reason and reason.strip()):
        raise InvalidInput("Say why the measure could not be applied.", "reason")
    check_reasons((), reason or "", "reason")
    # Locked with its siblings: of two confirmations at once, the second waits and then sees the first's
    # result, so one of them finds every measure applied and moves the case.
    siblings = await uow.measures.lock_siblings(measure_id)
    measure = next((m for m in siblings if m.id == measure_id), None)
    if measure is None:
        raise NotFound("Measure", "measureId")
    if measure.status is not MeasureStatus.REQUESTED:
        raise Conflict(f"The measure is already {measure.status.value}.", "measureId")
    in_force = await uow.policies.in_force()
    now = uow.clock.now()
    marked = await uow.measures.mark(measure_id, MeasureStatus.APPLIED if applied else MeasureStatus.FAILED, now,
                                     reason)
    if marked is None:
        raise Conflict("The measure was confirmed concurrently.", "measureId")
    case = await _open_case(uow, measure.case_id)
    uow.decisions.record(DecisionDraft(
        subject_type="measure", subject_id=marked.id, case_id=case.id, kind=f"measure.{marked.status.value}",
        outcome=marked.status.value, actor=principal.actor, automated=False, policy_version=in_force.version,
        reasons=() if applied else (Reason("measure_failed", reason or ""),), reason_text=reason or "",
    ))
    work = CaseWork(uow, in_force, principal.actor)
    if case.state is CaseState.MEASURES_REQUESTED:
        if not applied:
            work.transition(case, CaseEvent.MEASURES_FAILED, reasons=[Reason("measure_failed", reason or "")],
                            reason_text=reason or "")
        elif all(m.status is not MeasureStatus.REQUESTED for m in siblings if m.id != measure_id):
            work.transition(case, CaseEvent.CONFIRM_MEASURES)
    await work.finish()
    await uow.measures.refresh_listings([measure.listing_id])
    case = await _open_case(uow, measure.case_id)
    return marked, case


async def settle_case(uow: UnitOfWork, principal: Principal, case_id: UUID, reason_text: str = "") -> Case:
    """The merchant accepts the notice (removes the listing itself) or settles with the rights holder."""
    principal.require(*SUBMITTERS)
    check_reasons((), reason_text, "reason")
    return await _decide(uow, principal, case_id, CaseEvent.SETTLE, [Reason("settled", reason_text)], reason_text)


async def withdraw_notice(uow: UnitOfWork, principal: Principal, notice_id: UUID, reason_text: str = "") -> list[Case]:
    """The complainant withdraws: every open case ends and its measures are lifted."""
    principal.require(*SUBMITTERS)
    check_reasons((), reason_text, "reason")
    cases = await uow.cases.by_notice(notice_id)
    if not cases:
        raise NotFound("Notice", "noticeId")
    open_cases = [c for c in cases if c.state in OPEN_STATES]
    if not open_cases:
        raise Conflict("Every case of this notice has already ended.", "noticeId")
    in_force = await uow.policies.in_force()
    work = CaseWork(uow, in_force, principal.actor)
    for case in open_cases:
        work.close_if_ended(work.transition(case, CaseEvent.WITHDRAW, reasons=[Reason("withdrawn", reason_text)],
                                            reason_text=reason_text))
    await work.finish()
    return [c for c in await uow.cases.get_many([c.id for c in cases]) if c is not None]
