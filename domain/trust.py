"""Repeat infringers, abusive notifiers and trusted notifiers: pure rules over counts and strikes.

Every rule returns what it decided and the figures it saw, so the decision record can show them
(DSA Art 23(3): absolute numbers, relative proportion, within a time frame).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from domain.policy import AbusiveNotifierPolicy, RepeatInfringerPolicy, TrustPolicy


class RestrictionKind(StrEnum):
    WARNING = "warning"
    SUSPENSION = "suspension"
    TERMINATION = "termination"


class RestrictionReason(StrEnum):
    REPEAT_INFRINGER = "repeat_infringer"
    UNFOUNDED_NOTICES = "unfounded_notices"


@dataclass(frozen=True, slots=True)
class Strike:
    weight: float
    recorded_at: datetime
    voided: bool = False


@dataclass(frozen=True, slots=True)
class RestrictionRecord:
    kind: RestrictionKind
    reason: RestrictionReason
    starts_at: datetime
    ends_at: datetime | None
    ended_at: datetime | None

    def active_at(self, now: datetime) -> bool:
        return self.ended_at is None and self.starts_at <= now and (self.ends_at is None or now < self.ends_at)


@dataclass(frozen=True, slots=True)
class Escalation:
    """What a rule decided: nothing, or a restriction of `kind` until `ends_at`, with the figures."""

    kind: RestrictionKind | None
    ends_at: datetime | None
    rule_id: str
    inputs: dict[str, Any]


def strike_total(strikes: Iterable[Strike], now: datetime, window_days: int) -> float:
    since = now - timedelta(days=window_days)
    return round(sum(s.weight for s in strikes if not s.voided and s.recorded_at > since), 6)


def strike_weight(policy: RepeatInfringerPolicy, right_type: str) -> float:
    for key, weight in policy.severity.items():
        if key.value == right_type:
            return float(weight)
    return 1.0


def _warned_since(history: Sequence[RestrictionRecord], reason: RestrictionReason, since: datetime) -> bool:
    return any(r.kind is RestrictionKind.WARNING and r.reason is reason and r.starts_at > since for r in history)


def _suspended_now(history: Sequence[RestrictionRecord], reason: RestrictionReason, now: datetime) -> bool:
    return any(r.reason is reason and r.kind is not RestrictionKind.WARNING and r.active_at(now) for r in history)


def repeat_infringer(
    policy: RepeatInfringerPolicy, strikes: Sequence[Strike], history: Sequence[RestrictionRecord], now: datetime
) -> Escalation:
    """Strikes in the window reach the threshold: warn first (DSA Art 23(1)), then suspend, then terminate."""
    total = strike_total(strikes, now, policy.window_days)
    since = now - timedelta(days=policy.window_days)
    warned = _warned_since(history, RestrictionReason.REPEAT_INFRINGER, since)
    inputs: dict[str, Any] = {
        "strikes_in_window": total,
        "threshold": policy.strikes,
        "window_days": policy.window_days,
        "termination_strikes": policy.termination_strikes,
        "warned_in_window": warned,
    }
    rule = "suspension.repeat_infringer"
    if not policy.enabled or total < policy.strikes or _suspended_now(history, RestrictionReason.REPEAT_INFRINGER, now):
        return Escalation(None, None, rule, inputs)
    if policy.termination_strikes is not None and total >= policy.termination_strikes and warned:
        return Escalation(RestrictionKind.TERMINATION, None, rule, inputs)
    if policy.warning_first and not warned:
        return Escalation(RestrictionKind.WARNING, None, rule, inputs)
    return Escalation(RestrictionKind.SUSPENSION, now + timedelta(days=policy.suspension_days), rule, inputs)


@dataclass(frozen=True, slots=True)
class NotifierRecord:
    """A notifier's record over a window (cases are per listing; notices per submission)."""

    notices: int = 0
    cases: int = 0
    accepted: int = 0
    rejected: int = 0
    unfounded: int = 0
    successful_declarations: int = 0
    withdrawn: int = 0

    @property
    def decided(self) -> int:
        return self.accepted + self.rejected

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.decided if self.decided else None

    @property
    def unfounded_ratio(self) -> float | None:
        return self.unfounded / self.decided if self.decided else None

    @property
    def successful_declaration_rate(self) -> float | None:
        return self.successful_declarations / self.accepted if self.accepted else None

    def figures(self) -> dict[str, Any]:
        return {
            "notices": self.notices,
            "cases": self.cases,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "unfounded": self.unfounded,
            "successful_declarations": self.successful_declarations,
            "withdrawn": self.withdrawn,
            "acceptance_rate": self.acceptance_rate,
            "unfounded_ratio": self.unfounded_ratio,
            "successful_declaration_rate": self.successful_declaration_rate,
        }


# The notifier record's figures the abuse and trust rules read (`decided` is accepted + rejected). A
# transaction that moves none of them (a notice received, cases opened) cannot help cross a threshold.
NOTIFIER_RULE_INPUTS = frozenset({"accepted", "rejected", "unfounded", "successful_declarations"})


def abusive_notifier(
    policy: AbusiveNotifierPolicy, record: NotifierRecord, history: Sequence[RestrictionRecord], now: datetime
) -> Escalation:
    """DSA Art 23(2): frequent manifestly unfounded notices -> warning, then suspension of processing."""
    since = now - timedelta(days=policy.window_days)
    warned = _warned_since(history, RestrictionReason.UNFOUNDED_NOTICES, since)
    ratio = record.unfounded_ratio
    inputs = {
        **record.figures(),
        "min_notices": policy.min_notices,
        "max_unfounded_ratio": policy.unfounded_ratio,
        "window_days": policy.window_days,
        "warned_in_window": warned,
    }
    rule = "suspension.abusive_notifier"
    if (
        not policy.enabled
        or record.decided < policy.min_notices
        or ratio is None
        or ratio < policy.unfounded_ratio
        or _suspended_now(history, RestrictionReason.UNFOUNDED_NOTICES, now)
    ):
        return Escalation(None, None, rule, inputs)
    if policy.warning_first and not warned:
        return Escalation(RestrictionKind.WARNING, None, rule, inputs)
    return Escalation(RestrictionKind.SUSPENSION, now + timedelta(days=policy.suspension_days), rule, inputs)


@dataclass(frozen=True, slots=True)
class TrustChange:
    trusted: bool
    changed: bool
    rule_id: str
    inputs: dict[str, Any]


def trust(
    policy: TrustPolicy, record: NotifierRecord, trusted_now: bool, removed_at: datetime | None, now: datetime
) -> TrustChange:
    """Alibaba good-faith / Amazon Project Zero style: enough notices, high acceptance, few successful
    counter-notices over the window; falling below removes trust; after removal a cool-off applies."""
    rate, declared = record.acceptance_rate, record.successful_declaration_rate
    inputs = {
        **record.figures(),
        "min_notices": policy.min_notices,
        "min_acceptance_rate": policy.min_acceptance_rate,
        "max_successful_declaration_rate": policy.max_successful_declaration_rate,
        "window_days": policy.window_days,
    }
    meets = (
        policy.enabled
        and record.decided >= policy.min_notices
        and rate is not None
        and rate >= policy.min_acceptance_rate
        and (
            policy.max_successful_declaration_rate is None
            or (declared or 0.0) <= policy.max_successful_declaration_rate
        )
    )
    cooling = removed_at is not None and now < removed_at + timedelta(days=policy.cooloff_days)
    inputs["in_cooloff"] = cooling
    should = meets and (trusted_now or not cooling)
    return TrustChange(should, should != trusted_now, "trust.rolling_window", inputs)


def window_start(now: datetime, days: int) -> date:
    return (now - timedelta(days=days)).date()
