"""Deadline arithmetic: Civil Code 201-203 counting, business/working days, DMCA 10-14, suspension."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import (
    DMCA_512G_RESTORE_WINDOW,
    ECL_43_DECLARATION_WINDOW,
    DayKind,
    Window,
    WindowRule,
    WorkingDayCalendar,
    compute_window,
    remaining,
    resume,
)
from domain.errors import ErrorCode, InvalidInput
from infra.calendars import HolidayCalendar, calendar_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
CN = calendar_for("CN")
US = calendar_for("US")


def utc(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


def local(s: str, tz: ZoneInfo) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=tz)


@dataclass(frozen=True)
class FakeCalendar:
    """Weekends (optionally) plus an explicit set of holidays, minus explicit make-up days."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    weekends: bool = True

    def is_rest_day(self, d: date) -> bool:
        if d in self.workdays:
            return False
        return d in self.holidays or (self.weekends and d.weekday() >= 5)


class AlwaysRest:
    def is_rest_day(self, d: date) -> bool:
        return True


NO_REST = FakeCalendar(weekends=False)
WEEKENDS = FakeCalendar()


def cal(days: int, roll: bool = True) -> WindowRule:
    return WindowRule(days, DayKind.calendar, roll)


def biz(days: int, kind: DayKind = DayKind.business) -> WindowRule:
    return WindowRule(days, kind, True)


# ---------------------------------------------------------------------------------------------
# the holiday data itself


@pytest.mark.parametrize(
    ("day", "rest"),
    [
        ("2026-09-20", False),  # Sunday, make-up working day for National Day
        ("2026-10-10", False),  # Saturday, make-up working day for National Day
        *[(f"2026-10-0{i}", True) for i in range(1, 8)],  # National Day golden week
        ("2026-10-08", False),
        ("2026-09-25", True),  # Mid-Autumn Festival (Friday)
        ("2026-09-19", True),  # ordinary Saturday
        ("2026-02-14", False),  # Saturday, make-up day for Spring Festival
        ("2026-02-17", True),  # Spring Festival
    ],
)
def test_china_2026_statutory_holidays_and_make_up_days(day: str, rest: bool) -> None:
    assert CN.is_rest_day(date.fromisoformat(day)) is rest


@pytest.mark.parametrize(
    ("day", "rest"),
    [
        ("2026-11-26", True),  # Thanksgiving
        ("2026-11-27", False),  # day after Thanksgiving: not a federal holiday
        ("2026-12-25", True),  # Christmas (Friday)
        ("2027-01-01", True),  # New Year's Day (Friday)
        ("2026-07-03", True),  # Independence Day observed (Friday)
        ("2027-12-31", True),  # New Year's Day 2028 (Saturday) observed on Friday 2027-12-31
        ("2026-11-28", True),  # Saturday
        ("2026-11-30", False),
    ],
)
def test_us_federal_holidays(day: str, rest: bool) -> None:
    assert US.is_rest_day(date.fromisoformat(day)) is rest


def test_calendar_for_is_cached_and_normalises_the_code() -> None:
    assert calendar_for("cn") is calendar_for(" CN ") is CN
    assert calendar_for("US", "CA") is not US
    assert repr(calendar_for("US", "CA")) == "HolidayCalendar('US', 'CA')"


@pytest.mark.parametrize(
    ("code", "sub", "field"),
    [("XX", None, "holidayCountry"), ("", None, "holidayCountry"), ("US", "ZZ", "holidaySubdivision")],
)
def test_unknown_holiday_calendar_is_invalid_input(code: str, sub: str | None, field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        HolidayCalendar(code, sub)
    assert exc.value.field == field
    with pytest.raises(InvalidInput):
        calendar_for(code, sub)


def test_generic_country_uses_its_own_holidays() -> None:
    de = calendar_for("DE")
    assert de.is_rest_day(date(2026, 10, 3))  # German Unity Day (Saturday anyway)
    assert de.is_rest_day(date(2026, 12, 25))
    assert not de.is_rest_day(date(2026, 10, 1))  # Chinese National Day is a German working day


# ---------------------------------------------------------------------------------------------
# the table of windows


@dataclass(frozen=True)
class Case:
    id: str
    calendar: WorkingDayCalendar
    tz: str
    start: datetime
    rule: WindowRule
    last_day: str
    ends_at: str
    earliest_end_at: str | None = None


CASES = [
    # PRC ECL 43: 15 calendar days, Civil Code 203 roll-over, National Day 2026
    Case(
        "cn-15d-last-day-oct1-rolls-to-oct8",
        CN,
        "Asia/Shanghai",
        local("2026-09-16T10:00", SHANGHAI),
        ECL_43_DECLARATION_WINDOW,
        "2026-10-08",
        "2026-10-08T16:00",
    ),
    Case(
        "cn-15d-last-day-oct7-rolls-to-oct8",
        CN,
        "Asia/Shanghai",
        local("2026-09-22T18:00", SHANGHAI),
        ECL_43_DECLARATION_WINDOW,
        "2026-10-08",
        "2026-10-08T16:00",
    ),
    Case(
        "cn-15d-ordinary",
        CN,
        "Asia/Shanghai",
        local("2026-03-02T09:00", SHANGHAI),
        ECL_43_DECLARATION_WINDOW,
        "2026-03-17",
        "2026-03-17T16:00",
    ),
    Case(
        "cn-15d-saturday-rolls-to-monday",
        CN,
        "Asia/Shanghai",
        local("2026-03-06T09:00", SHANGHAI),
        ECL_43_DECLARATION_WINDOW,
        "2026-03-23",
        "2026-03-23T16:00",
    ),
    Case(
        "cn-15d-saturday-without-roll-over",
        CN,
        "Asia/Shanghai",
        local("2026-03-06T09:00", SHANGHAI),
        cal(15, roll=False),
        "2026-03-21",
        "2026-03-21T16:00",
    ),
    Case(
        "cn-15d-ends-on-make-up-sunday-sep20",
        CN,
        "Asia/Shanghai",
        local("2026-09-05T09:00", SHANGHAI),
        ECL_43_DECLARATION_WINDOW,
        "2026-09-20",
        "2026-09-20T16:00",
    ),
    Case(
        "cn-15d-ends-on-make-up-saturday-oct10",
        CN,
        "Asia/Shanghai",
        local("2026-09-25T09:00", SHANGHAI),
        ECL_43_DECLARATION_WINDOW,
        "2026-10-10",
        "2026-10-10T16:00",
    ),
    # PRC working days (SPC Reply 2020: capped at 20 working days)
    Case(
        "cn-3-working-days-count-make-up-sunday-sep20",
        CN,
        "Asia/Shanghai",
        local("2026-09-18T09:00", SHANGHAI),
        biz(3, DayKind.working),
        "2026-09-22",
        "2026-09-22T16:00",
    ),
    Case(
        "cn-2-working-days-count-make-up-saturday-oct10",
        CN,
        "Asia/Shanghai",
        local("2026-10-08T09:00", SHANGHAI),
        biz(2, DayKind.working),
        "2026-10-10",
        "2026-10-10T16:00",
    ),
    Case(
        "cn-20-working-days-across-golden-week",
        CN,
        "Asia/Shanghai",
        local("2026-09-18T09:00", SHANGHAI),
        biz(20, DayKind.working),
        "2026-10-22",
        "2026-10-22T16:00",
    ),
    # US DMCA 512(g): not less than 10 nor more than 14 business days
    Case(
        "us-dmca-10-14-across-thanksgiving",
        US,
        "America/New_York",
        local("2026-11-16T10:00", NEW_YORK),
        DMCA_512G_RESTORE_WINDOW,
        "2026-12-07",
        "2026-12-08T05:00",
        "2026-12-02T05:00",
    ),
    Case(
        "us-dmca-10-14-across-christmas-and-new-year",
        US,
        "America/New_York",
        local("2026-12-18T12:00", NEW_YORK),
        DMCA_512G_RESTORE_WINDOW,
        "2027-01-11",
        "2027-01-12T05:00",
        "2027-01-06T05:00",
    ),
    Case(
        "us-10-business-days-across-dst-start",
        US,
        "America/New_York",
        utc("2026-03-03T04:30"),
        biz(10),
        "2026-03-16",
        "2026-03-17T04:00",
    ),
    Case(
        "us-same-instant-in-a-utc-tenant",
        US,
        "UTC",
        utc("2026-03-03T04:30"),
        biz(10),
        "2026-03-17",
        "2026-03-18T00:00",
    ),
    # tenant timezones around midnight: same UTC date, different local days
    Case(
        "shanghai-23:30-is-day-0",
        CN,
        "Asia/Shanghai",
        local("2026-03-09T23:30", SHANGHAI),
        ECL_43_DECLARATION_WINDOW,
        "2026-03-24",
        "2026-03-24T16:00",
    ),
    Case(
        "shanghai-00:30-next-day-is-day-0",
        CN,
        "Asia/Shanghai",
        local("2026-03-10T00:30", SHANGHAI),
        ECL_43_DECLARATION_WINDOW,
        "2026-03-25",
        "2026-03-25T16:00",
    ),
    Case(
        "new-york-23:30",
        US,
        "America/New_York",
        local("2026-03-02T23:30", NEW_YORK),
        ECL_43_DECLARATION_WINDOW,
        "2026-03-17",
        "2026-03-18T04:00",
    ),
    Case(
        "new-york-00:30-next-day",
        US,
        "America/New_York",
        local("2026-03-03T00:30", NEW_YORK),
        ECL_43_DECLARATION_WINDOW,
        "2026-03-18",
        "2026-03-19T04:00",
    ),
    # fake calendars
    Case(
        "fake-weekend-rolls-to-monday",
        WEEKENDS,
        "UTC",
        utc("2026-05-01T12:00"),
        cal(8),
        "2026-05-11",
        "2026-05-12T00:00",
    ),
    Case(
        "fake-holiday-then-weekend",
        FakeCalendar(frozenset({date(2026, 5, 8)})),
        "UTC",
        utc("2026-05-01T12:00"),
        cal(7),
        "2026-05-11",
        "2026-05-12T00:00",
    ),
    Case(
        "fake-make-up-saturday-counts",
        FakeCalendar(workdays=frozenset({date(2026, 5, 9)})),
        "UTC",
        utc("2026-05-07T12:00"),
        biz(2),
        "2026-05-09",
        "2026-05-10T00:00",
    ),
    Case(
        "zero-days-ends-at-end-of-day-0",
        NO_REST,
        "UTC",
        utc("2026-05-06T12:00"),
        cal(0),
        "2026-05-06",
        "2026-05-07T00:00",
    ),
    Case(
        "zero-days-on-a-saturday-rolls",
        WEEKENDS,
        "UTC",
        utc("2026-05-09T12:00"),
        cal(0),
        "2026-05-11",
        "2026-05-12T00:00",
    ),
    Case(
        "max-days-overrides-length",
        NO_REST,
        "UTC",
        utc("2026-05-06T12:00"),
        WindowRule(3, DayKind.calendar, True, max_days=5),
        "2026-05-11",
        "2026-05-12T00:00",
    ),
    Case(
        "min-days-without-max",
        NO_REST,
        "UTC",
        utc("2026-05-06T12:00"),
        WindowRule(5, DayKind.calendar, True, min_days=2),
        "2026-05-11",
        "2026-05-12T00:00",
        "2026-05-09T00:00",
    ),
    Case(
        "min-equals-max",
        WEEKENDS,
        "UTC",
        utc("2026-05-06T12:00"),
        WindowRule(1, DayKind.business, True, min_days=3, max_days=3),
        "2026-05-11",
        "2026-05-12T00:00",
        "2026-05-12T00:00",
    ),
    # DST exactly at midnight (Cuba): 24:00 that does not exist = the transition instant
    Case(
        "havana-spring-forward-at-midnight",
        NO_REST,
        "America/Havana",
        local("2026-03-05T12:00", ZoneInfo("America/Havana")),
        cal(2),
        "2026-03-07",
        "2026-03-08T05:00",
    ),
    Case(
        "havana-fall-back-at-01:00",
        NO_REST,
        "America/Havana",
        local("2026-10-29T12:00", ZoneInfo("America/Havana")),
        cal(2),
        "2026-10-31",
        "2026-11-01T04:00",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_window_table(case: Case) -> None:
    w = compute_window(case.start, case.rule, case.tz, case.calendar)
    assert w.last_day == date.fromisoformat(case.last_day)
    assert w.ends_at == utc(case.ends_at)
    assert w.earliest_end_at == utc(case.earliest_end_at or case.ends_at)
    assert w.starts_at == case.start
    assert w.starts_at.tzinfo is UTC
    assert w.ends_at.tzinfo is UTC
    assert w.earliest_end_at.tzinfo is UTC
    assert w.explanation
    assert all(isinstance(line, str) and line for line in w.explanation)


def test_midnight_shanghai_windows_are_a_day_apart_although_the_utc_date_is_the_same() -> None:
    before = local("2026-03-09T23:30", SHANGHAI)
    after = local("2026-03-10T00:30", SHANGHAI)
    assert before.astimezone(UTC).date() == after.astimezone(UTC).date() == date(2026, 3, 9)
    w1 = compute_window(before, ECL_43_DECLARATION_WINDOW, SHANGHAI, CN)
    w2 = compute_window(after, ECL_43_DECLARATION_WINDOW, SHANGHAI, CN)
    assert w2.ends_at - w1.ends_at == timedelta(days=1)
    # the same instants for a UTC tenant fall on one day and give one window
    u1 = compute_window(before, ECL_43_DECLARATION_WINDOW, "UTC", CN)
    u2 = compute_window(after, ECL_43_DECLARATION_WINDOW, "UTC", CN)
    assert u1.ends_at == u2.ends_at


def test_explanation_names_the_roll_over() -> None:
    w = compute_window(local("2026-09-16T10:00", SHANGHAI), ECL_43_DECLARATION_WINDOW, SHANGHAI, CN)
    text = "\n".join(w.explanation)
    assert "2026-09-16 (Wed)" in text
    assert "2026-10-01 (Thu) is a rest day" in text
    assert "2026-10-08 (Thu)" in text
    assert "art. 203" in text
    assert "2026-10-08T16:00:00Z" in text


def test_day_kind_is_a_str_enum_and_strings_are_coerced() -> None:
    assert DayKind.business == "business"
    assert WindowRule(3, "working", True).day_kind is DayKind.working  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# validation


def test_naive_start_is_rejected() -> None:
    with pytest.raises(InvalidInput) as exc:
        compute_window(datetime(2026, 3, 2, 9, 0), ECL_43_DECLARATION_WINDOW, SHANGHAI, CN)
    assert exc.value.field == "start"
    assert exc.value.code is ErrorCode.INVALID_INPUT


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"length_days": -1}, "lengthDays"),
        ({"length_days": True}, "lengthDays"),
        ({"length_days": 1.5}, "lengthDays"),
        ({"length_days": 100_000}, "lengthDays"),
        ({"length_days": 14, "min_days": -1}, "minDays"),
        ({"length_days": 14, "max_days": -3}, "maxDays"),
        ({"length_days": 14, "min_days": 15, "max_days": 14}, "minDays"),
        ({"length_days": 5, "min_days": 6}, "minDays"),
        ({"length_days": 5, "day_kind": "fortnightly"}, "dayKind"),
    ],
)
def test_invalid_rules_are_rejected(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        WindowRule(**kwargs)  # type: ignore[arg-type]
    assert exc.value.field == field


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "", "../etc/passwd", "America"])
def test_unknown_timezone_is_rejected(tz: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        compute_window(utc("2026-03-02T09:00"), ECL_43_DECLARATION_WINDOW, tz, CN)
    assert exc.value.field == "timezone"


def test_a_calendar_without_working_days_is_rejected_not_looped_forever() -> None:
    with pytest.raises(InvalidInput):
        compute_window(utc("2026-03-02T09:00"), biz(3), "UTC", AlwaysRest())
    with pytest.raises(InvalidInput):
        compute_window(utc("2026-03-02T09:00"), cal(3), "UTC", AlwaysRest())
    # without roll-over a calendar-day window does not need a working day
    assert compute_window(utc("2026-03-02T09:00"), cal(3, roll=False), "UTC", AlwaysRest()).last_day == date(
        2026, 3, 5
    )


# ---------------------------------------------------------------------------------------------
# suspension: pause and resume


def _cn_window() -> Window:
    # 2026-09-01 (Tue) → day 15 = 2026-09-16 (Wed), ends 2026-09-16T16:00Z
    return compute_window(local("2026-09-01T10:00", SHANGHAI), ECL_43_DECLARATION_WINDOW, SHANGHAI, CN)


def test_remaining_is_wall_clock_time_left_and_clamped() -> None:
    w = _cn_window()
    assert w.ends_at == utc("2026-09-16T16:00")
    assert remaining(w, utc("2026-09-06T16:00")) == timedelta(days=10)
    assert remaining(w, utc("2026-08-01T00:00")) == w.ends_at - w.starts_at  # paused before the start
    assert remaining(w, utc("2026-09-30T00:00")) == timedelta(0)  # paused after the end
    with pytest.raises(InvalidInput) as exc:
        remaining(w, datetime(2026, 9, 6))
    assert exc.value.field == "pausedAt"


def test_resume_keeps_the_remaining_time() -> None:
    w = _cn_window()
    # paused at 2026-09-07 00:00 local with 10 days left, resumed 2026-09-21 00:00 local
    r = resume(
        w,
        utc("2026-09-06T16:00"),
        utc("2026-09-20T16:00"),
        rule=ECL_43_DECLARATION_WINDOW,
        tz=SHANGHAI,
        calendar=CN,
    )
    assert r.ends_at == utc("2026-09-30T16:00")
    assert r.last_day == date(2026, 9, 30)
    assert r.starts_at == w.starts_at
    assert r.explanation[: len(w.explanation)] == w.explanation
    assert any("Suspended" in line for line in r.explanation)


def test_resume_re_applies_roll_over_on_the_new_end() -> None:
    w = _cn_window()
    # one day later: the new end would be 24:00 on 2026-10-01 (National Day) → rolls to 2026-10-08
    r = resume(
        w,
        utc("2026-09-06T16:00"),
        utc("2026-09-21T16:00"),
        rule=ECL_43_DECLARATION_WINDOW,
        tz=SHANGHAI,
        calendar=CN,
    )
    assert r.ends_at == utc("2026-10-08T16:00")
    assert r.last_day == date(2026, 10, 8)
    assert any("art. 203" in line for line in r.explanation[len(w.explanation) :])


def test_resume_without_roll_over_is_the_exact_instant() -> None:
    rule = cal(15, roll=False)
    w = compute_window(local("2026-09-01T10:00", SHANGHAI), rule, SHANGHAI, CN)
    r = resume(w, utc("2026-09-06T03:17"), utc("2026-09-21T11:05"), rule=rule, tz=SHANGHAI, calendar=CN)
    assert r.ends_at == w.ends_at + (utc("2026-09-21T11:05") - utc("2026-09-06T03:17"))
    assert r.ends_at - utc("2026-09-21T11:05") == remaining(w, utc("2026-09-06T03:17"))


def test_resume_moves_a_pending_minimum_and_keeps_a_reached_one() -> None:
    w = compute_window(local("2026-11-16T10:00", NEW_YORK), DMCA_512G_RESTORE_WINDOW, NEW_YORK, US)
    # paused before the minimum: both ends move by 7 days (Tue 12-08 → Tue 12-15 etc.)
    r = resume(
        w,
        utc("2026-11-20T05:00"),
        utc("2026-11-27T05:00"),
        rule=DMCA_512G_RESTORE_WINDOW,
        tz=NEW_YORK,
        calendar=US,
    )
    assert r.earliest_end_at == w.earliest_end_at + timedelta(days=7)
    assert r.ends_at == w.ends_at + timedelta(days=7)
    # paused after the minimum was reached: only the end moves
    r2 = resume(
        w,
        utc("2026-12-03T05:00"),
        utc("2026-12-04T05:00"),
        rule=DMCA_512G_RESTORE_WINDOW,
        tz=NEW_YORK,
        calendar=US,
    )
    assert r2.earliest_end_at == w.earliest_end_at
    assert r2.ends_at == w.ends_at + timedelta(days=1)


def test_resume_of_an_expired_window_changes_nothing_and_validates_order() -> None:
    w = _cn_window()
    assert (
        resume(
            w,
            utc("2026-09-20T00:00"),
            utc("2026-10-20T00:00"),
            rule=ECL_43_DECLARATION_WINDOW,
            tz=SHANGHAI,
            calendar=CN,
        )
        is w
    )
    with pytest.raises(InvalidInput) as exc:
        resume(
            w,
            utc("2026-09-06T00:00"),
            utc("2026-09-05T00:00"),
            rule=ECL_43_DECLARATION_WINDOW,
            tz=SHANGHAI,
            calendar=CN,
        )
    assert exc.value.field == "resumedAt"


# ---------------------------------------------------------------------------------------------
# properties

TENANT_ZONES = [
    "Asia/Shanghai",
    "America/New_York",
    "Europe/Berlin",
    "UTC",
    "Asia/Kolkata",
    "Pacific/Auckland",
]
CALENDARS: list[WorkingDayCalendar] = [CN, US, calendar_for("DE"), WEEKENDS, NO_REST]

starts = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2030, 12, 31),
    timezones=st.sampled_from([UTC, *(ZoneInfo(z) for z in TENANT_ZONES)]),
)


@st.composite
def rules(draw: st.DrawFn) -> WindowRule:
    kind = draw(st.sampled_from(list(DayKind)))
    length = draw(st.integers(0, 60))
    roll = draw(st.booleans())
    max_days = draw(st.none() | st.integers(0, 60))
    upper = max_days if max_days is not None else length
    min_days = draw(st.none() | st.integers(0, upper))
    return WindowRule(length, kind, roll, min_days, max_days)


def _rolls(rule: WindowRule) -> bool:
    return rule.roll_over_rest_days or rule.day_kind is not DayKind.calendar


def _day0(w: Window, tz: ZoneInfo) -> date:
    return w.starts_at.astimezone(tz).date()


def _working_days_between(first_exclusive: date, last_inclusive: date, calendar: WorkingDayCalendar) -> int:
    n, d = 0, first_exclusive
    while d < last_inclusive:
        d += timedelta(days=1)
        n += not calendar.is_rest_day(d)
    return n


PROPS = settings(max_examples=200, deadline=None)


@PROPS
@given(start=starts, rule=rules(), tz=st.sampled_from(TENANT_ZONES), calendar=st.sampled_from(CALENDARS))
def test_property_end_is_after_start_and_local_midnight(
    start: datetime, rule: WindowRule, tz: str, calendar: WorkingDayCalendar
) -> None:
    w = compute_window(start, rule, tz, calendar)
    zone = ZoneInfo(tz)
    assert start < w.earliest_end_at <= w.ends_at
    assert w.ends_at.tzinfo is UTC
    assert w.ends_at.astimezone(zone).time() == time(0)  # a day ends at 24:00 local
    assert (w.ends_at - timedelta(microseconds=1)).astimezone(zone).date() == w.last_day
    assert w.last_day >= _day0(w, zone) + timedelta(days=rule.end_days)


@PROPS
@given(start=starts, rule=rules(), tz=st.sampled_from(TENANT_ZONES), calendar=st.sampled_from(CALENDARS))
def test_property_roll_over_never_ends_on_a_rest_day(
    start: datetime, rule: WindowRule, tz: str, calendar: WorkingDayCalendar
) -> None:
    w = compute_window(start, rule, tz, calendar)
    zone = ZoneInfo(tz)
    if _rolls(rule):
        assert not calendar.is_rest_day(w.last_day)
        earliest_day = (w.earliest_end_at - timedelta(microseconds=1)).astimezone(zone).date()
        assert not calendar.is_rest_day(earliest_day)
    elif rule.day_kind is DayKind.calendar:
        assert w.last_day == _day0(w, zone) + timedelta(days=rule.end_days)


@PROPS
@given(
    start=starts,
    length=st.integers(1, 40),
    kind=st.sampled_from([DayKind.business, DayKind.working]),
    tz=st.sampled_from(TENANT_ZONES),
    calendar=st.sampled_from(CALENDARS),
)
def test_property_counted_business_days_equal_length(
    start: datetime, length: int, kind: DayKind, tz: str, calendar: WorkingDayCalendar
) -> None:
    rule = WindowRule(length, kind, False)
    w = compute_window(start, rule, tz, calendar)
    day0 = _day0(w, ZoneInfo(tz))
    assert _working_days_between(day0, w.last_day, calendar) == length
    assert not calendar.is_rest_day(w.last_day)  # the last counted day is a working day


@PROPS
@given(
    start=starts,
    rule=rules(),
    tz=st.sampled_from(TENANT_ZONES),
    calendar=st.sampled_from(CALENDARS),
    pause_frac=st.floats(0, 0.999),
    suspended=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
)
def test_property_resume_preserves_remaining_time(
    start: datetime,
    rule: WindowRule,
    tz: str,
    calendar: WorkingDayCalendar,
    pause_frac: float,
    suspended: timedelta,
) -> None:
    w = compute_window(start, rule, tz, calendar)
    paused_at = w.starts_at + (w.ends_at - w.starts_at) * pause_frac
    left = remaining(w, paused_at)
    # a pause with no suspended time changes nothing
    assert resume(w, paused_at, paused_at, rule=rule, tz=tz, calendar=calendar).ends_at == w.ends_at
    resumed_at = paused_at + suspended
    r = resume(w, paused_at, resumed_at, rule=rule, tz=tz, calendar=calendar)
    assert r.ends_at - resumed_at >= left
    assert r.earliest_end_at <= r.ends_at
    if _rolls(rule):
        assert not calendar.is_rest_day(r.last_day)
    else:
        assert r.ends_at - resumed_at == left
