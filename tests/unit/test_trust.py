"""Pure rules of issue 5: strikes, thresholds, warnings first, trust entry and exit, paused windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.calendar import DayKind, Window, WindowRule, compute_window, remaining, resume
from domain.policy import AbusiveNotifierPolicy, RepeatInfringerPolicy, RightType, TrustPolicy
from domain.trust import (
    NotifierRecord,
    RestrictionKind,
    RestrictionReason,
    RestrictionRecord,
    Strike,
    abusive_notifier,
    repeat_infringer,
    strike_total,
    strike_weight,
    trust,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def strikes(*ages_days: float, voided: int = 0) -> list[Strike]:
    out = [Strike(1.0, NOW - timedelta(days=a)) for a in ages_days]
    return [Strike(s.weight, s.recorded_at, voided=i < voided) for i, s in enumerate(out)]


def warning(days_ago: float, reason: RestrictionReason = RestrictionReason.REPEAT_INFRINGER) -> RestrictionRecord:
    return RestrictionRecord(RestrictionKind.WARNING, reason, NOW - timedelta(days=days_ago), None, None)


def test_strikes_outside_the_window_or_voided_do_not_count() -> None:
    assert strike_total(strikes(1, 2, 400), NOW, 365) == 2
    assert strike_total(strikes(1, 2, 3, voided=2), NOW, 365) == 1


def test_severity_weights_per_right_type() -> None:
    policy = RepeatInfringerPolicy(severity={RightType.TRADEMARK: 2.0})
    assert strike_weight(policy, "trademark") == 2.0
    assert strike_weight(policy, "patent") == 1.0


@pytest.mark.parametrize(
    ("ages", "history", "expected"),
    [
        ((1, 2), [], None),  # below the threshold
        ((1, 2, 3), [], RestrictionKind.WARNING),  # DSA Art 23: a prior warning first
        ((1, 2, 3), [warning(10)], RestrictionKind.SUSPENSION),
        ((1, 2, 3), [warning(400)], RestrictionKind.WARNING),  # a warning outside the window is stale
        ((1, 2, 3, 4, 5), [warning(10)], RestrictionKind.TERMINATION),
    ],
)
def test_repeat_infringer_escalates(ages: tuple[float, ...], history: list[RestrictionRecord],
                                    expected: RestrictionKind | None) -> None:
    policy = RepeatInfringerPolicy(strikes=3, window_days=365, warning_first=True, suspension_days=14,
                                   termination_strikes=5)
    result = repeat_infringer(policy, strikes(*ages), history, NOW)
    assert result.kind is expected
    assert result.inputs["strikes_in_window"] == len(ages)
    if expected is RestrictionKind.SUSPENSION:
        assert result.ends_at == NOW + timedelta(days=14)


def test_an_active_suspension_is_not_stacked() -> None:
    active = RestrictionRecord(RestrictionKind.SUSPENSION, RestrictionReason.REPEAT_INFRINGER,
                               NOW - timedelta(days=1), NOW + timedelta(days=5), None)
    result = repeat_infringer(RepeatInfringerPolicy(strikes=1), strikes(1, 2), [warning(2), active], NOW)
    assert result.kind is None


def test_abusive_notifier_needs_volume_and_ratio() -> None:
    policy = AbusiveNotifierPolicy(min_notices=10, unfounded_ratio=0.5, warning_first=True, suspension_days=30)
    few = NotifierRecord(accepted=1, rejected=5, unfounded=5)
    assert abusive_notifier(policy, few, [], NOW).kind is None  # only 6 decided
    many = NotifierRecord(accepted=4, rejected=8, unfounded=6)
    assert abusive_notifier(policy, many, [], NOW).kind is RestrictionKind.WARNING
    warned = [warning(3, RestrictionReason.UNFOUNDED_NOTICES)]
    suspended = abusive_notifier(policy, many, warned, NOW)
    assert suspended.kind is RestrictionKind.SUSPENSION
    assert suspended.inputs["unfounded_ratio"] == 0.5
    fine = NotifierRecord(accepted=10, rejected=2, unfounded=1)
    assert abusive_notifier(policy, fine, warned, NOW).kind is None


def test_trust_entry_and_exit_alibaba_thresholds() -> None:
    policy = TrustPolicy(enabled=True, window_days=90, min_notices=20, min_acceptance_rate=0.9,
                         max_successful_declaration_rate=0.05, cooloff_days=90)
    good = NotifierRecord(accepted=19, rejected=1)
    enter = trust(policy, good, trusted_now=False, removed_at=None, now=NOW)
    assert (enter.trusted, enter.changed) == (True, True)
    countered = NotifierRecord(accepted=19, rejected=1, successful_declarations=2)  # 10.5 % > 5 %
    leave = trust(policy, countered, trusted_now=True, removed_at=None, now=NOW)
    assert (leave.trusted, leave.changed) == (False, True)
    cooling = trust(policy, good, trusted_now=False, removed_at=NOW - timedelta(days=30), now=NOW)
    assert (cooling.trusted, cooling.inputs["in_cooloff"]) == (False, True)
    too_few = trust(policy, NotifierRecord(accepted=5), trusted_now=False, removed_at=None, now=NOW)
    assert too_few.trusted is False
    disabled = trust(TrustPolicy(enabled=False), good, trusted_now=False, removed_at=None, now=NOW)
    assert disabled.trusted is False


def test_suspended_window_pauses_and_resumes_with_the_time_left() -> None:
    class NoRestDays:
        def is_rest_day(self, d: object) -> bool:
            return False

    rule = WindowRule(length_days=15, day_kind=DayKind.calendar, roll_over_rest_days=True)
    window: Window = compute_window(NOW, rule, "Asia/Shanghai", NoRestDays())
    paused_at = NOW + timedelta(days=5)
    left = remaining(window, paused_at)
    assert left == window.ends_at - paused_at
    resumed_at = paused_at + timedelta(days=40)  # suspended for 40 days: none of it is consumed
    resumed = resume(window, paused_at, resumed_at, rule=rule, tz="Asia/Shanghai", calendar=NoRestDays())
    assert resumed.ends_at == resumed_at + left
