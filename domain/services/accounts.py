"""Account-level consequences of case outcomes: strikes and repeat-infringer restrictions for
merchants, the rolling record, abuse restrictions and trust for notifiers. Run inside the same
transaction as the case decisions that caused them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from uuid import UUID

from domain.decisions import AUTOMATED, DecisionDraft, Reason, RuleRecord
from domain.errors import DomainError, ErrorCode
from domain.ids import new_id
from domain.policies import PolicyInForce
from domain.ports import UnitOfWork
from domain.services.disclosures import record_restriction_disclosure
from domain.trust import (
    Escalation,
    RestrictionKind,
    RestrictionReason,
    RestrictionRecord,
    TrustChange,
    abusive_notifier,
    repeat_infringer,
    trust,
    window_start,
)

RESTRICTION_END = "restriction_end"


class Restricted(DomainError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(ErrorCode.RESTRICTED, message, field)


async def apply_account_rules(
    uow: UnitOfWork, in_force: PolicyInForce, merchants: Iterable[UUID], notifiers: Iterable[UUID], now: datetime,
    quiet_notifiers: Iterable[UUID] = (),
) -> None:
    """Escalate merchants and notifiers whose figures this transaction moved (under their locks, decision 0011).

    `quiet_notifiers`: notifiers this transaction counted without moving any figure their rules read
    (NOTIFIER_RULE_INPUTS; e.g. a notice received). Their rules are looked at without a lock first and locked
    only if that look shows a change: a transaction that moves no input cannot help two transactions both miss
    a threshold, and a change it sees is made under the lock after a fresh read, as for the others. Notice
    intake thus takes no lock for its notifier, which would otherwise serialize a busy notifier's notices.
    """
    policy = in_force.policy.suspension
    merchants, notifiers = set(merchants), set(notifiers)
    quiet = set(quiet_notifiers) - notifiers - merchants
    since = window_start(now, policy.abusive_notifier.window_days) if notifiers or quiet else None
    if quiet:
        await uow.trust.read_parties(quiet, since)
        for notifier in sorted(quiet):
            escalation, change = await _notifier_rules(uow, in_force, notifier, now)
            if escalation.kind is not None or change.changed:
                notifiers.add(notifier)
    # The records for the abuse rule are read with the lock (one round trip).
    await uow.trust.lock_parties(merchants | notifiers, since if notifiers else None)
    for merchant in sorted(merchants):
        history = [r for _, r in await uow.trust.restrictions(merchant)]
        strikes = await uow.trust.strikes(merchant, now - timedelta(days=policy.repeat_infringer.window_days))
        await _escalate(
            uow,
            in_force,
            merchant,
            RestrictionReason.REPEAT_INFRINGER,
            repeat_infringer(policy.repeat_infringer, strikes, history, now),
            now,
        )
    for notifier in sorted(notifiers):
        escalation, change = await _notifier_rules(uow, in_force, notifier, now)
        await _escalate(uow, in_force, notifier, RestrictionReason.UNFOUNDED_NOTICES, escalation, now)
        if change.changed:
            await uow.trust.set_trusted(notifier, now if change.trusted else None)
            uow.decisions.record(
                DecisionDraft(
                    subject_type="party",
                    subject_id=notifier,
                    kind="notifier.trust",
                    outcome="trusted" if change.trusted else "untrusted",
                    actor=f"{AUTOMATED}:{change.rule_id}",
                    automated=True,
                    policy_version=in_force.version,
                    rules=(RuleRecord(change.rule_id, change.trusted, change.inputs),),
                )
            )
            uow.outbox.add("notifier.trust_changed", {"party_id": str(notifier), "trusted": change.trusted})


async def _notifier_rules(
    uow: UnitOfWork, in_force: PolicyInForce, notifier: UUID, now: datetime
) -> tuple[Escalation, TrustChange]:
    """What the abuse and trust rules decide for a notifier, from what the transaction has read."""
    policy = in_force.policy.suspension
    history = [r for _, r in await uow.trust.restrictions(notifier)]
    record = await uow.trust.record(notifier, window_start(now, policy.abusive_notifier.window_days))
    escalation = abusive_notifier(policy.abusive_notifier, record, history, now)
    trust_policy = in_force.policy.trust
    if not trust_policy.enabled:
        return escalation, TrustChange(False, False, "trust.rolling_window", {})
    trust_record = (
        record
        if trust_policy.window_days == policy.abusive_notifier.window_days
        else await uow.trust.record(notifier, window_start(now, trust_policy.window_days))
    )
    trusted_now = (await uow.trust.trusted_since([notifier])).get(notifier) is not None
    change = trust(trust_policy, trust_record, trusted_now, None, now)
    if trusted_now or change.changed:  # only then can a cool-off after an earlier removal matter
        removed_at = await uow.trust.trust_removed_at(notifier)
        change = trust(trust_policy, trust_record, trusted_now, removed_at, now)
    return escalation, change


async def _escalate(
    uow: UnitOfWork,
    in_force: PolicyInForce,
    party_id: UUID,
    reason: RestrictionReason,
    escalation: Escalation,
    now: datetime,
) -> None:
    if escalation.kind is None:
        return
    restriction_id = new_id()
    record = RestrictionRecord(escalation.kind, reason, now, escalation.ends_at, None)
    await uow.trust.add_restriction(restriction_id, party_id, record, escalation.inputs)
    uow.decisions.record(
        DecisionDraft(
            subject_type="account_restriction",
            subject_id=restriction_id,
            kind=f"account.{escalation.kind.value}",
            outcome=escalation.kind.value,
            actor=f"{AUTOMATED}:{escalation.rule_id}",
            automated=True,
            policy_version=in_force.version,
            rules=(RuleRecord(escalation.rule_id, False, escalation.inputs),),
            reasons=(Reason(reason.value),),
            reason_text=f"{reason.value.replace('_', ' ')}: {escalation.kind.value}"
            + (f" until {escalation.ends_at.isoformat()}" if escalation.ends_at else ""),
        )
    )
    uow.outbox.add(
        "account.restricted",
        {
            "restriction_id": str(restriction_id),
            "party_id": str(party_id),
            "kind": escalation.kind.value,
            "reason": reason.value,
            "ends_at": escalation.ends_at.isoformat() if escalation.ends_at else None,
        },
        ordering_key=str(party_id),
    )
    await record_restriction_disclosure(uow, in_force, restriction_id, party_id, escalation.kind.value,
                                        reason.value, now, escalation.ends_at)
    if escalation.ends_at is not None:
        await uow.deadlines.schedule([(RESTRICTION_END, restriction_id, escalation.ends_at, {})])


async def end_restriction(
    uow: UnitOfWork, in_force: PolicyInForce, restriction_id: UUID, reason: str, actor: str, automated: bool
) -> bool:
    party = await uow.trust.end_restriction(restriction_id, uow.clock.now(), reason)
    if party is None:
        return False
    uow.decisions.record(
        DecisionDraft(
            subject_type="account_restriction",
            subject_id=restriction_id,
            kind="account.reinstate",
            outcome="ended",
            actor=actor,
            automated=automated,
            policy_version=in_force.version,
            reasons=(Reason(reason),),
        )
    )
    uow.outbox.add(
        "account.reinstated", {"restriction_id": str(restriction_id), "party_id": str(party)}, ordering_key=str(party)
    )
    await uow.deadlines.cancel([restriction_id], [RESTRICTION_END])
    return True


def notice_refusals(
    restrictions: Mapping[UUID, Sequence[tuple[UUID, RestrictionRecord]]], now: datetime
) -> dict[UUID, Restricted]:
    """Notifiers whose notice processing is suspended (DSA Art 23(2)) get a typed refusal naming it."""
    refused: dict[UUID, Restricted] = {}
    for party, held in restrictions.items():
        for restriction_id, r in held:
            if (
                r.reason is RestrictionReason.UNFOUNDED_NOTICES
                and r.kind is not RestrictionKind.WARNING
                and r.active_at(now)
            ):
                until = r.ends_at.isoformat() if r.ends_at else "further notice"
                refused[party] = Restricted(
                    f"Notices from this notifier are suspended until {until} "
                    f"(account restriction {restriction_id}: manifestly unfounded notices).",
                    "complainantId",
                )
    return refused
