"""The one range of days and instants callers may give (domain.dates)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from domain.dates import EARLIEST, LATEST, check_day, day_end, day_start, is_supported_instant
from domain.errors import ErrorCode, InvalidInput

KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # +14:00


def test_days_at_the_ends_of_the_range_are_accepted() -> None:
    assert check_day(EARLIEST, "from") == date(2000, 1, 1)
    assert check_day(LATEST, "to") == date(2100, 12, 31)
    assert day_start(EARLIEST, KIRITIMATI, "from") == datetime(2000, 1, 1, tzinfo=KIRITIMATI)
    assert day_end(LATEST, UTC, "to") == datetime(2101, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("day", [date.min, date(1999, 12, 31), date(2101, 1, 1), date.max])
def test_days_outside_the_range_are_invalid_input_on_their_field(day: date) -> None:
    for check in (lambda: check_day(day, "publishedTo"), lambda: day_start(day, KIRITIMATI, "publishedTo"),
                  lambda: day_end(day, KIRITIMATI, "publishedTo")):  # never OverflowError for date.max + 1 day
        with pytest.raises(InvalidInput) as raised:
            check()
        assert (raised.value.code, raised.value.field) == (ErrorCode.INVALID_INPUT, "publishedTo")
        assert raised.value.message == "'publishedTo' must be a date between 2000-01-01 and 2100-12-31."


@pytest.mark.parametrize(("at", "supported"), [
    (datetime(2026, 5, 1, 12, tzinfo=timezone(timedelta(hours=8))), True),
    (datetime(2000, 1, 1, tzinfo=UTC), True),
    (datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC), True),
    (datetime(2026, 5, 1, 12), False),  # naive: which instant is it?
    (datetime(2101, 1, 1, tzinfo=UTC), False),
    (datetime(2100, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))), False),  # 2101-01-01 in UTC
    (datetime(2000, 1, 1, 5, tzinfo=timezone(timedelta(hours=14))), False),  # 1999-12-31 in UTC
    (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))), False),  # year 0 in UTC: OverflowError
    (datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-12))), False),  # year 10000 in UTC
])
def test_supported_instants_are_timezone_aware_and_within_the_range(at: datetime, supported: bool) -> None:
    assert is_supported_instant(at) is supported
