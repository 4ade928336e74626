"""The days and instants callers may give: 2000-01-01 to 2100-12-31.

Report periods, record filters and pagination cursors come from outside. Nothing the system records falls
outside this range (a sandbox clock runs at most ten years ahead), and at the ends of the calendar the
arithmetic breaks: 9999-12-31 has no next day, and 0001-01-01 at +14:00 is in year 0 in UTC, which
PostgreSQL cannot take. Every entry point checks here, so each refuses such input the same typed way.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from domain.errors import InvalidInput

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


def check_day(day: date, field: str) -> date:
    """`day` if it is within the range, else InvalidInput on `field`."""
    if not EARLIEST <= day <= LATEST:
        raise InvalidInput(f"'{field}' must be a date between {EARLIEST.isoformat()} and {LATEST.isoformat()}.",
                           field)
    return day


def day_start(day: date, zone: tzinfo, field: str) -> datetime:
    """The first instant of `day` in `zone`: where an inclusive day range starts."""
    return datetime.combine(check_day(day, field), time(), zone)


def day_end(day: date, zone: tzinfo, field: str) -> datetime:
    """The first instant after `day` in `zone`: where an inclusive day range ends (exclusive bound)."""
    return datetime.combine(check_day(day, field) + timedelta(days=1), time(), zone)


def is_supported_instant(at: datetime) -> bool:
    """Timezone-aware and on a UTC day within the range. A naive time is ambiguous, and one near the ends
    of the calendar may not even convert to UTC (OverflowError)."""
    if at.utcoffset() is None:
        return False
    try:
        day = at.astimezone(UTC).date()
    except OverflowError:
        return False
    return EARLIEST <= day <= LATEST
