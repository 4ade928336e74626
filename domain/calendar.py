"""Deadline arithmetic: waiting windows counted in calendar, business or working days.

Pure: standard library only (plus domain.errors). The holiday data comes in through the
`WorkingDayCalendar` protocol; `infra.calendars.HolidayCalendar` is the real implementation.

Semantics (the same for every regime; the policy picks the numbers):

* **Day 0 is the local date of `start`** in the tenant's timezone and is not counted
  (PRC Civil Code art. 201: "开始的当日不计入"). Counting starts with the next local day.
* **Calendar days**: day N is day 0 + N days. With `roll_over_rest_days`, a last day that is a
  rest day (weekend or statutory holiday, per the calendar) moves forward to the next working day
  (Civil Code art. 203). Make-up working days (e.g. China's 调休 Saturdays and Sundays) are
  working days, so a period ending on one does not roll over.
* **Business / working days**: only days the calendar reports as not rest days are counted; day N
  is the N-th such day after day 0. The two kinds compute identically against the tenant's
  calendar; they differ only in vocabulary (US/EU "business days", PRC "工作日") and in the
  explanation text. Such a window always ends on a working day, so roll-over is moot for it.
* **A day ends at 24:00 local time**: a window whose last day is D ends at local midnight at the
  start of D + 1, converted to UTC (Civil Code art. 203(2)). Business hours are not modelled.
  Where local midnight does not exist (a DST jump at 00:00), the day ends at the transition
  instant, i.e. the first instant of the next local day.
* **Minimum / maximum (DMCA 512(g)(2)(C))**: "not less than 10, nor more than 14, business days
  after receipt". When `max_days` is set it **overrides** `length_days`: `ends_at` is the end of
  day `max_days`. `earliest_end_at` is the end of day `min_days` (the conservative reading: the
  full minimum has elapsed before the measure may lift). Without `min_days`,
  `earliest_end_at == ends_at`. Roll-over (for calendar-day rules) applies to both ends.
* **Suspension (Beijing guideline art. 25)**: while a case is suspended the window does not run.
  `remaining()` is the wall-clock time left at the pause; `resume()` re-anchors the window so
  that the same wall-clock time remains after `resumed_at`, then re-applies the roll-over to the
  new end (a resumed window never ends on a rest day when the rule rolls over, or when it
  counts business/working days). The resumed end is an exact instant, not rounded to 24:00.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import InvalidInput

__all__ = [
    "DMCA_512G_RESTORE_WINDOW",
    "ECL_43_DECLARATION_WINDOW",
    "MAX_CONSECUTIVE_REST_DAYS",
    "MAX_WINDOW_DAYS",
    "DayKind",
    "Window",
    "WindowRule",
    "WorkingDayCalendar",
    "compute_window",
    "remaining",
    "resume",
    "to_zone",
]

#: Upper bound on any window length (about ten years); longer is certainly a policy error.
MAX_WINDOW_DAYS = 3660
#: A calendar reporting more consecutive rest days than this is broken (guards endless loops).
MAX_CONSECUTIVE_REST_DAYS = 366

_ONE_DAY = timedelta(days=1)
_EPSILON = timedelta(microseconds=1)
_MAX_LISTED_REST_DAYS = 20
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # not strftime: locale-independent


class DayKind(StrEnum):
    """How the days of a window are counted. (A `str` enum: values are the wire names.)"""

    calendar = "calendar"
    business = "business"
    working = "working"


class WorkingDayCalendar(Protocol):
    """A tenant's holiday calendar."""

    def is_rest_day(self, d: date) -> bool:
        """True for weekends and statutory/public holidays, False for working days.

        Adjusted working days (e.g. China's make-up Saturdays/Sundays) are NOT rest days.
        """
        ...


@dataclass(frozen=True)
class WindowRule:
    """How long a window is and how its days are counted.

    * `length_days`: number of days after day 0 (ignored when `max_days` is set).
    * `day_kind`: calendar, business or working days.
    * `roll_over_rest_days`: Civil Code art. 203 — a calendar-day period whose last day is a rest
      day ends at the end of the next working day.
    * `min_days` / `max_days`: DMCA-style "not less than / not more than" bounds; `max_days`
      overrides `length_days`.

    Invalid rules raise `InvalidInput` at construction (fields `lengthDays`, `dayKind`,
    `minDays`, `maxDays`).
    """

    length_days: int
    day_kind: DayKind = DayKind.calendar
    roll_over_rest_days: bool = True
    min_days: int | None = None
    max_days: int | None = None

    def __post_init__(self) -> None:
        try:
            kind = DayKind(self.day_kind)
        except ValueError:
            raise InvalidInput(
                f"dayKind must be one of {', '.join(k.value for k in DayKind)}.", field="dayKind"
            ) from None
        object.__setattr__(self, "day_kind", kind)
        _check_days(self.length_days, "lengthDays")
        if self.min_days is not None:
            _check_days(self.min_days, "minDays")
        if self.max_days is not None:
            _check_days(self.max_days, "maxDays")
        upper = self.max_days if self.max_days is not None else self.length_days
        if self.min_days is not None and self.min_days > upper:
            bound = "maxDays" if self.max_days is not None else "lengthDays"
            raise InvalidInput(f"minDays ({self.min_days}) must not exceed {bound} ({upper}).", "minDays")

    @property
    def end_days(self) -> int:
        """The day number the window ends on: `max_days` when set, else `length_days`."""
        return self.max_days if self.max_days is not None else self.length_days


@dataclass(frozen=True)
class Window:
    """A computed window.

    `starts_at`, `earliest_end_at` and `ends_at` are aware UTC datetimes; `last_day` is the local
    date (tenant timezone) of the window's last day; `explanation` says how it was computed, in
    plain sentences, for the decision record.
    """

    starts_at: datetime
    earliest_end_at: datetime
    ends_at: datetime
    last_day: date
    explanation: tuple[str, ...]


# ---------------------------------------------------------------------------------------------
# public functions


def to_zone(tz: ZoneInfo | str) -> ZoneInfo:
    """A ZoneInfo from an IANA name (or a ZoneInfo); unknown names raise InvalidInput(timezone)."""
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):
        raise InvalidInput(
            f"Unknown timezone {tz!r}; use an IANA name such as Asia/Shanghai.", "timezone"
        ) from None


def compute_window(
    start: datetime, rule: WindowRule, tz: ZoneInfo | str, calendar: WorkingDayCalendar
) -> Window:
    """The window that opens at `start` (an aware instant) under `rule`, in the tenant's `tz`.

    See the module docstring for the counting rules.
    """
    zone = to_zone(tz)
    _check_aware(start, "start")
    if not isinstance(rule, WindowRule):
        raise InvalidInput("rule must be a WindowRule.", "rule")
    try:
        local_start = start.astimezone(zone)
        day0 = local_start.date()
        unit = _unit(rule.day_kind)
        explanation = [
            f"Start {_iso(start)} is {_day(day0)} in {_zone_name(zone)}; "
            "the start day (day 0) is not counted, counting begins the next day (cf. Civil Code art. 201).",
        ]
        if rule.max_days is not None and rule.max_days != rule.length_days:
            explanation.append(f"maxDays ({rule.max_days}) overrides lengthDays ({rule.length_days}).")
        last_day = _nth_day(day0, rule.end_days, rule, calendar, explanation, "The window")
        ends_at = _end_of_day(last_day, zone)
        if rule.min_days is not None:
            earliest_day = _nth_day(day0, rule.min_days, rule, calendar, explanation, "The minimum period")
            earliest_end_at = _end_of_day(earliest_day, zone)
            explanation.append(
                f"Not before the end of {_day(earliest_day)} ({_iso(earliest_end_at)}, "
                f"{rule.min_days} {unit}) and not after the end of {_day(last_day)} "
                f"({_iso(ends_at)}, {rule.end_days} {unit})."
            )
        else:
            earliest_end_at = ends_at
            explanation.append(
                f"The window ends at 24:00 on {_day(last_day)} {_zone_name(zone)} = {_iso(ends_at)}."
            )
    except OverflowError:
        raise InvalidInput("The window falls outside the supported date range.", "start") from None
    return Window(
        starts_at=start.astimezone(UTC),
        earliest_end_at=earliest_end_at,
        ends_at=ends_at,
        last_day=last_day,
        explanation=tuple(explanation),
    )


def remaining(window: Window, paused_at: datetime) -> timedelta:
    """Wall-clock time left in `window` at `paused_at` (never negative).

    Pausing before the window starts leaves the whole window; pausing after it ended leaves zero.
    """
    _check_aware(paused_at, "pausedAt")
    at = max(paused_at, window.starts_at)
    return max(window.ends_at - at, timedelta(0))


def resume(
    window: Window,
    paused_at: datetime,
    resumed_at: datetime,
    *,
    rule: WindowRule,
    tz: ZoneInfo | str,
    calendar: WorkingDayCalendar,
) -> Window:
    """The window after a suspension from `paused_at` to `resumed_at` (suspension time not consumed).

    * The end moves so that `remaining(window, paused_at)` is left after `resumed_at`; an
      `earliest_end_at` still in the future at the pause moves by the same amount, one already
      reached stays.
    * Roll-over is re-applied on the new end(s): when `rule.roll_over_rest_days` is on, or the rule
      counts business/working days, a new end whose local day is a rest day moves to 24:00 of the
      next working day. Otherwise the new end is the exact instant (not rounded to 24:00).
    * A window that had already ended at the pause is returned unchanged (nothing left to resume).
    * `starts_at` is kept; the explanation gets the suspension appended.
    """
    zone = to_zone(tz)
    _check_aware(paused_at, "pausedAt")
    _check_aware(resumed_at, "resumedAt")
    if resumed_at < paused_at:
        raise InvalidInput("resumedAt must not be before pausedAt.", "resumedAt")
    if paused_at >= window.ends_at:
        return window
    pause_from = max(paused_at, window.starts_at)
    shift = max(resumed_at - pause_from, timedelta(0))
    left = window.ends_at - pause_from
    roll = rule.roll_over_rest_days or rule.day_kind is not DayKind.calendar
    explanation = list(window.explanation)
    explanation.append(
        f"Suspended from {_iso(paused_at)} to {_iso(resumed_at)} (Beijing guideline art. 25): "
        f"{_duration(left)} remained; the window is re-anchored on the resumption."
    )
    try:
        ends_at = _rolled_end(window.ends_at + shift, zone, calendar, roll, explanation, "The window")
        earliest_end_at = window.earliest_end_at
        if earliest_end_at > pause_from:
            earliest_end_at = _rolled_end(
                earliest_end_at + shift, zone, calendar, roll, explanation, "The minimum period"
            )
        earliest_end_at = min(earliest_end_at, ends_at)
    except OverflowError:
        raise InvalidInput("The window falls outside the supported date range.", "resumedAt") from None
    last_day = _local_last_day(ends_at, zone)
    explanation.append(f"The window now ends at {_iso(ends_at)} (last day {_day(last_day)}).")
    return Window(
        starts_at=window.starts_at,
        earliest_end_at=earliest_end_at,
        ends_at=ends_at,
        last_day=last_day,
        explanation=tuple(explanation),
    )


# ---------------------------------------------------------------------------------------------
# internals


def _check_days(value: object, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field} must be a whole number of days.", field)
    if value < 0:
        raise InvalidInput(f"{field} must not be negative.", field)
    if value > MAX_WINDOW_DAYS:
        raise InvalidInput(f"{field} must be at most {MAX_WINDOW_DAYS} days.", field)


def _check_aware(value: object, field: str) -> None:
    if not isinstance(value, datetime):
        raise InvalidInput(f"{field} must be a datetime.", field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{field} must be timezone-aware (naive datetimes are ambiguous).", field)


def _end_of_day(d: date, zone: ZoneInfo) -> datetime:
    """24:00 local on `d` as UTC: local midnight opening d + 1 (fold=0 resolves a DST gap at 00:00
    to the transition instant, i.e. the first instant of the next day)."""
    return datetime.combine(d + _ONE_DAY, time(0), tzinfo=zone).astimezone(UTC)


def _local_last_day(end: datetime, zone: ZoneInfo) -> date:
    """The local day an end instant closes: an end at 24:00 belongs to the day before."""
    return (end - _EPSILON).astimezone(zone).date()


def _nth_day(
    day0: date,
    n: int,
    rule: WindowRule,
    calendar: WorkingDayCalendar,
    explanation: list[str],
    what: str,
) -> date:
    """Day `n` after `day0` counted per `rule`, with roll-over applied."""
    unit = _unit(rule.day_kind)
    if rule.day_kind is DayKind.calendar or n == 0:
        day = day0 + timedelta(days=n)
        explanation.append(f"{what}: {n} {unit} after {_day(day0)} is {_day(day)}.")
    else:
        day = day0
        counted = 0
        skipped: list[date] = []
        run = 0
        while counted < n:
            day += _ONE_DAY
            if calendar.is_rest_day(day):
                skipped.append(day)
                run += 1
                if run > MAX_CONSECUTIVE_REST_DAYS:
                    raise _broken_calendar()
            else:
                counted += 1
                run = 0
        explanation.append(
            f"{what}: the {_ordinal(n)} {unit[:-1]} after {_day(day0)} is {_day(day)}"
            f"{_skipped_text(skipped)}."
        )
    if (rule.roll_over_rest_days or rule.day_kind is not DayKind.calendar) and calendar.is_rest_day(day):
        rolled, rest = _next_working_day(day, calendar)
        explanation.append(
            f"{_day(day)} is a rest day; the period ends on the next working day {_day(rolled)} "
            f"(Civil Code art. 203){_skipped_text(rest, prefix='rest days')}."
        )
        day = rolled
    return day


def _rolled_end(
    end: datetime,
    zone: ZoneInfo,
    calendar: WorkingDayCalendar,
    roll: bool,
    explanation: list[str],
    what: str,
) -> datetime:
    if not roll:
        return end
    day = _local_last_day(end, zone)
    if not calendar.is_rest_day(day):
        return end
    rolled, rest = _next_working_day(day, calendar)
    new_end = _end_of_day(rolled, zone)
    explanation.append(
        f"{what}'s new end falls on {_day(day)}, a rest day; it ends at 24:00 on the next working day "
        f"{_day(rolled)} = {_iso(new_end)} (Civil Code art. 203){_skipped_text(rest, prefix='rest days')}."
    )
    return new_end


def _next_working_day(day: date, calendar: WorkingDayCalendar) -> tuple[date, list[date]]:
    """The first working day after `day` (itself a rest day), and the rest days in between."""
    rest = [day]
    while True:
        day += _ONE_DAY
        if not calendar.is_rest_day(day):
            return day, rest
        rest.append(day)
        if len(rest) > MAX_CONSECUTIVE_REST_DAYS:
            raise _broken_calendar()


def _broken_calendar() -> InvalidInput:
    return InvalidInput(
        f"The holiday calendar has no working day within {MAX_CONSECUTIVE_REST_DAYS} days.", "holidayCountry"
    )


def _unit(kind: DayKind) -> str:
    return {DayKind.calendar: "calendar days", DayKind.business: "business days"}.get(kind, "working days")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _day(d: date) -> str:
    return f"{d.isoformat()} ({_WEEKDAYS[d.weekday()]})"


def _iso(dt: datetime) -> str:
    if dt.utcoffset() == timedelta(0):
        return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return dt.isoformat()


def _zone_name(zone: ZoneInfo) -> str:
    return zone.key or str(zone)


def _duration(delta: timedelta) -> str:
    total = int(delta.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    return f"{days}d {hours}h {minutes}m"


def _skipped_text(days: Iterable[date], prefix: str = "skipping rest days") -> str:
    listed = list(days)
    if not listed:
        return ""
    if len(listed) > _MAX_LISTED_REST_DAYS:
        return f", {prefix}: {len(listed)} days from {listed[0].isoformat()} to {listed[-1].isoformat()}"
    return f", {prefix}: {', '.join(d.isoformat() for d in listed)}"


# ---------------------------------------------------------------------------------------------
# presets (defined last: WindowRule validation uses the helpers above)

#: PRC E-Commerce Law art. 43(2): 15 days after the forwarded declaration reaches the rights
#: holder, Civil Code 201-203 counting.
ECL_43_DECLARATION_WINDOW = WindowRule(15, DayKind.calendar, roll_over_rest_days=True)
#: US DMCA 512(g)(2)(C): restore not less than 10 nor more than 14 business days after receipt.
DMCA_512G_RESTORE_WINDOW = WindowRule(14, DayKind.business, True, min_days=10, max_days=14)
