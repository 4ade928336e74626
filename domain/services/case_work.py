"""Applying case transitions: each one records its decision and its effects are collected, then written
in bulk (one statement per kind of write), so one case and a batch of a thousand take the same path."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from domain.calendar import Window
from domain.cases import CaseEvent, CaseState, Effect, apply
from domain.decisions import DecisionDraft, Reason, RuleRecord
from domain.disclosure import DisclosureKind
from domain.errors import Conflict
from domain.ids import new_id
from domain.notices import Case, Measure, MeasureRequest, MeasureStatus, Notice
from domain.policies import PolicyInForce
from domain.ports import UnitOfWork
from domain.services.accounts import apply_account_rules
from domain.services.disclosures import record_case_disclosures
from domain.trust import NOTIFIER_RULE_INPUTS

OUTCOME_STATES = frozenset({CaseState.REJECTED, CaseState.RESTORED, CaseState.UPHELD, CaseState.SETTLED,
                            CaseState.WITHDRAWN})

CLARIFICATION_EXPIRY = "clarification_expiry"
DECLARATION_DEADLINE = "declaration_deadline"
WINDOW_END = "window_end"


async def save_cases(uow: UnitOfWork, items: Sequence[tuple[Case, int]]) -> None:
    """Write cases, each as of the revision it was read at. One changed meanwhile is a Conflict, never a write
    silently skipped: the transaction then leaves nothing behind instead of half a decision."""
    if items and await uow.cases.save_many(items) != len(items):
        raise Conflict("The case was changed by someone else at the same time; reload it and try again.", "caseId")


@dataclass
class _Effects:
    measures: list[Measure] = field(default_factory=list)
    lift: list[Case] = field(default_factory=list)
    end: list[Case] = field(default_factory=list)
    schedule: list[tuple[str, UUID, datetime, dict[str, Any]]] = field(default_factory=list)
    cancel: dict[str, list[UUID]] = field(default_factory=lambda: defaultdict(list))
    pause: list[UUID] = field(default_factory=list)
    resume: list[UUID] = field(default_factory=list)
    declaring: list[UUID] = field(default_factory=list)  # resumed while a declaration waits for review
    listings: set[UUID] = field(default_factory=set)
    strikes: list[UUID] = field(default_factory=list)
    void_strikes: dict[str, list[UUID]] = field(default_factory=lambda: defaultdict(list))
    counts: dict[tuple[UUID, date], Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    notifiers: set[UUID] = field(default_factory=set)  # figures their account rules read moved
    quiet_notifiers: set[UUID] = field(default_factory=set)  # counted, no rule input moved
    merchants: set[UUID] = field(default_factory=set)
    disclosures: list[tuple[DisclosureKind, UUID, str | None]] = field(default_factory=list)


# What each event adds to the notifier's rolling record (notifierStats, abuse and trust rules).
_NOTIFIER_COUNTS: dict[CaseEvent, tuple[str, ...]] = {
    CaseEvent.REJECT: ("rejected",),
    CaseEvent.CLARIFICATION_EXPIRED: ("rejected",),
    CaseEvent.INVALIDATE_RIGHT: ("rejected", "unfounded"),
    CaseEvent.REVERSE_ON_APPEAL: ("rejected",),
    CaseEvent.WINDOW_EXPIRED: ("successful_declarations",),
    CaseEvent.WITHDRAW: ("withdrawn",),
}


class CaseWork:
    """One use case's worth of case transitions under one policy version and one actor."""

    def __init__(self, uow: UnitOfWork, policy: PolicyInForce, actor: str, *, automated: bool = False) -> None:
        self.uow = uow
        self.policy = policy
        self.actor = actor
        self.automated = automated
        self.now = uow.clock.now()
        self._fx = _Effects()
        self._new: dict[UUID, Case] = {}
        self._changed: dict[UUID, tuple[Case, int]] = {}
        self._notice_facts: dict[UUID, Mapping[str, Any]] = {}

    # -- recording -------------------------------------------------------------------------------

    def add_new(self, case: Case, notice_facts: Mapping[str, Any] | None = None) -> None:
        """`notice_facts`: what its public notice record is built from, when the caller holds the rows."""
        self._new[case.id] = case
        self.count(case.notifier_id, "cases")
        self._fx.disclosures.append((DisclosureKind.NOTICE, case.id, None))
        if notice_facts is not None:
            self._notice_facts[case.id] = notice_facts

    def count(self, notifier_id: UUID | None, what: str) -> None:
        if notifier_id is not None:
            self._fx.counts[(notifier_id, self.now.date())][what] += 1
            (self._fx.notifiers if what in NOTIFIER_RULE_INPUTS else self._fx.quiet_notifiers).add(notifier_id)

    def void_strikes(self, case_ids: Sequence[UUID], reason: str) -> None:
        self._fx.void_strikes[reason].extend(case_ids)

    def transition(
        self,
        case: Case,
        event: CaseEvent,
        *,
        reasons: Sequence[Reason] = (),
        rules: Sequence[RuleRecord] = (),
        reason_text: str = "",
        measures: Sequence[MeasureRequest] = (),
        window: Window | None = None,
        keep_measures: bool = True,
        automated: bool | None = None,
        actor: str | None = None,
    ) -> Case:
        """Apply one event (raises InvalidTransition), record its decision, collect its effects."""
        t = apply(case.status, event, keep_measures=keep_measures)
        changes: dict[str, Any] = {"status": t.status, "updated_at": self.now}
        if t.status.state in OUTCOME_STATES:
            changes["outcome_at"] = self.now
        if window is not None:
            changes.update(window_starts_at=window.starts_at, window_earliest_end_at=window.earliest_end_at,
                           window_ends_at=window.ends_at)
        if event is CaseEvent.REQUEST_MEASURES and case.state is CaseState.UNDER_REVIEW:
            changes["automated_measures"] = self.automated if automated is None else automated
        if Effect.UNARCHIVE in t.effects:
            changes["archived_at"] = None
        updated = replace(case, **changes)  # one copy per transition (a bulk pass makes thousands)
        self.uow.decisions.record(DecisionDraft(
            subject_type="case", subject_id=case.id, case_id=case.id, kind=f"case.{event.value}",
            outcome=t.status.state.value, actor=actor or self.actor,
            automated=self.automated if automated is None else automated, policy_version=self.policy.version,
            rules=tuple(rules), reasons=tuple(reasons), reason_text=reason_text,
        ))
        self.uow.outbox.add("case.state_changed", {
            "case_id": str(case.id), "notice_id": str(case.notice_id), "listing_id": str(case.listing_id),
            "from": case.state.value, "to": t.status.state.value, "event": event.value,
        }, ordering_key=str(case.id))
        for effect in t.effects:
            self._collect(updated, effect, measures, window, self.automated if automated is None else automated)
        for what in _NOTIFIER_COUNTS.get(event, ()):
            self.count(case.notifier_id, what)
        if event is CaseEvent.ACCEPT_DECLARATION:
            self._fx.disclosures.append((DisclosureKind.DECLARATION, case.id, None))
        if t.status.state in OUTCOME_STATES:
            self._fx.disclosures.append((DisclosureKind.RESULT, case.id, t.status.state.value))
        if event is CaseEvent.REJECT and updated.unfounded:
            self.count(case.notifier_id, "unfounded")
        if event is CaseEvent.REQUEST_MEASURES and case.state is CaseState.UNDER_REVIEW:
            self.count(case.notifier_id, "accepted")
        self._remember(case, updated)
        return updated

    def close_if_ended(self, case: Case) -> Case:
        """Outcomes close at once: the result decision and notifications are already recorded."""
        if case.state in OUTCOME_STATES:
            return self.transition(case, CaseEvent.CLOSE, automated=True, actor="automated:case.close",
                                   reason_text="Closed after its outcome.")
        return case

    def _remember(self, before: Case, after: Case) -> None:
        if after.id in self._new:
            self._new[after.id] = after
        elif after.id in self._changed:
            self._changed[after.id] = (after, self._changed[after.id][1])
        else:
            self._changed[after.id] = (after, before.revision)

    def _collect(self, case: Case, effect: Effect, measures: Sequence[MeasureRequest], window: Window | None,
                 automated: bool) -> None:
        fx, now, policy = self._fx, self.now, self.policy.policy
        if effect is Effect.REQUEST_MEASURES:
            for m in measures:
                measure = Measure(
                    id=new_id(), case_id=case.id, listing_id=case.listing_id, type=m.type,
                    territorial_scope=m.territorial_scope, status=MeasureStatus.REQUESTED, automated=automated,
                    requested_at=now, applied_at=None, failed_reason=None, lifted_at=None, end_date=m.end_date,
                )
                fx.measures.append(measure)
                self.uow.outbox.add("measure.requested", {
                    "measure_id": str(measure.id), "case_id": str(case.id), "listing_id": str(case.listing_id),
                    "type": m.type.value, "territorial_scope": list(m.territorial_scope),
                    "end_date": m.end_date.isoformat() if m.end_date else None,
                }, ordering_key=str(case.id))
        elif effect is Effect.LIFT_MEASURES:
            fx.lift.append(case)
            fx.listings.add(case.listing_id)
        elif effect is Effect.END_MEASURES:
            fx.end.append(case)
            fx.listings.add(case.listing_id)
        elif effect is Effect.FORWARD_NOTICE:
            self.uow.outbox.add("notice.forwarded", {
                "case_id": str(case.id), "notice_id": str(case.notice_id), "merchant_id": str(case.merchant_id),
                "listing_id": str(case.listing_id),
            }, ordering_key=str(case.id))
        elif effect is Effect.FORWARD_DECLARATION:
            self.uow.outbox.add("declaration.forwarded", {
                "case_id": str(case.id), "notice_id": str(case.notice_id),
                "declaration_id": str(case.declaration_id) if case.declaration_id else None,
            }, ordering_key=str(case.id))
        elif effect is Effect.REQUEST_CLARIFICATION:
            self.uow.outbox.add("notice.clarification_requested", {
                "case_id": str(case.id), "notice_id": str(case.notice_id),
            }, ordering_key=str(case.id))
        elif effect is Effect.START_CLARIFICATION_DEADLINE:
            days = policy.notices.clarification.window_days
            fx.schedule.append((CLARIFICATION_EXPIRY, case.id, now + timedelta(days=days), {}))
        elif effect is Effect.CANCEL_CLARIFICATION_DEADLINE:
            fx.cancel[CLARIFICATION_EXPIRY].append(case.id)
        elif effect is Effect.START_DECLARATION_DEADLINE:
            declare_within = policy.notices.declaration_deadline_days
            if declare_within is not None:
                fx.schedule.append((DECLARATION_DEADLINE, case.id, now + timedelta(days=declare_within), {}))
        elif effect is Effect.CANCEL_DECLARATION_DEADLINE:
            fx.cancel[DECLARATION_DEADLINE].append(case.id)
        elif effect is Effect.START_WINDOW:
            assert window is not None, "START_WINDOW needs the computed window"
            # Every real window gets its timer, one already over too (a late delivery receipt, a DMCA
            # counter-notice reviewed after its window): it fires on the scheduler's next pass. Only the
            # empty window of a no-window policy, expired in the same transaction, has none.
            if window.ends_at > window.starts_at:
                fx.schedule.append((WINDOW_END, case.id, window.ends_at, {"explanation": list(window.explanation)}))
        elif effect is Effect.CANCEL_WINDOW:
            fx.cancel[WINDOW_END].append(case.id)
        elif effect is Effect.PAUSE_DEADLINES:
            fx.pause.append(case.id)
        elif effect is Effect.RESUME_DEADLINES:
            fx.resume.append(case.id)
            if case.declaration_id is not None:
                fx.declaring.append(case.id)
        elif effect is Effect.RECORD_STRIKE_CANDIDATE:
            fx.strikes.append(case.id)
        elif effect is Effect.VOID_STRIKE_CANDIDATE:
            fx.void_strikes["appeal_won"].append(case.id)

    # -- writing ---------------------------------------------------------------------------------

    async def finish(self, new_notices: Sequence[Notice] = ()) -> None:
        """`new_notices`: the notices the new cases belong to, when they are new too (written with them)."""
        uow, fx = self.uow, self._fx
        await uow.cases.insert_many(list(self._new.values()), new_notices)
        await save_cases(uow, list(self._changed.values()))
        await uow.measures.insert_many(fx.measures)
        for cases, status, topic in ((fx.lift, MeasureStatus.LIFTED, "measure.lifted"),
                                     (fx.end, MeasureStatus.ENDED, "measure.ended")):
            if cases:
                for m in await uow.measures.end_for_cases([c.id for c in cases], status, self.now):
                    uow.outbox.add(topic, {"measure_id": str(m.id), "case_id": str(m.case_id),
                                           "listing_id": str(m.listing_id), "type": m.type.value,
                                           "was": "applied" if m.applied_at else "requested"},
                                   ordering_key=str(m.case_id))
        for kind, ids in fx.cancel.items():
            await uow.deadlines.cancel(ids, [kind])
        if fx.pause:
            await uow.deadlines.pause(fx.pause, self.now)
        if fx.resume:
            resumed = await uow.deadlines.resume(fx.resume, self.now)
            # The window's end is where its timer now is: action proofs are accepted until then.
            await uow.cases.move_windows([(case_id, due) for kind, case_id, due in resumed if kind == WINDOW_END])
        if fx.declaring:
            # The suspension has ended, but the declaration waiting for review still stops the merchant's clock.
            await uow.deadlines.pause(fx.declaring, self.now, [DECLARATION_DEADLINE])
        await uow.deadlines.schedule(fx.schedule)
        await uow.measures.refresh_listings(list(fx.listings))
        await record_case_disclosures(uow, self.policy, fx.disclosures, self.now, self._notice_facts)
        # Last: the account rules lock their parties until commit (decision 0011), so as little as
        # possible runs after them.
        await self._settle_accounts()

    async def _settle_accounts(self) -> None:
        """Strikes, the notifiers' rolling record, and the account rules those feed (same transaction)."""
        uow, fx = self.uow, self._fx
        repeat = self.policy.policy.suspension.repeat_infringer
        if fx.strikes and repeat.enabled:
            weights = {k.value: float(v) for k, v in repeat.severity.items()}
            fx.merchants.update(await uow.trust.record_strikes(fx.strikes, weights, self.now,
                                                               [new_id() for _ in fx.strikes]))
        for reason, case_ids in fx.void_strikes.items():
            if reason in {v.value for v in repeat.voided_by}:
                fx.merchants.update(await uow.trust.void_strikes(case_ids, reason, self.now))
        await uow.trust.bump({k: dict(v) for k, v in fx.counts.items()})
        if fx.merchants or fx.notifiers or fx.quiet_notifiers:
            await apply_account_rules(uow, self.policy, fx.merchants, fx.notifiers, self.now, fx.quiet_notifiers)
