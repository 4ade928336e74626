"""Holiday calendars backed by the `holidays` library (implements domain.calendar.WorkingDayCalendar).

* CN: `holidays.China` — statutory holidays (public category) plus its `weekend_workdays`, the
  adjusted working days (调休) on which a Saturday or Sunday is worked; those are NOT rest days.
  The State Council publishes each year's schedule late in the previous year; for years the
  library has no official schedule for, it falls back to the fixed rules without make-up days.
* US: `holidays.US` without a subdivision = the federal public holidays (incl. observed days),
  which is what "business days" under DMCA 512(g) are usually read to exclude. With a
  subdivision, that state's public holidays count too.
* Any other country: that country's public holidays and its own weekend days.

Rest dates are precomputed lazily, one frozenset per year, so `is_rest_day` is a dict lookup and
a set membership test (it is called in tight loops by the deadline scheduler).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays
from holidays.holiday_base import HolidayBase

from domain.errors import InvalidInput

__all__ = ["HolidayCalendar", "calendar_for"]


@lru_cache(maxsize=1)
def _supported() -> dict[str, list[str]]:
    return dict(holidays.list_supported_countries())


class HolidayCalendar:
    """Weekends + public holidays of one country (optionally one subdivision), minus make-up working days."""

    __slots__ = ("_rest_by_year", "country_code", "subdivision")

    def __init__(self, country_code: str, subdivision: str | None = None) -> None:
        code = (country_code or "").strip().upper()
        supported = _supported()
        if code not in supported:
            raise InvalidInput(
                f"Unknown holiday calendar country {country_code!r}; use an ISO 3166 code such as CN or US.",
                "holidayCountry",
            )
        sub = subdivision.strip() if subdivision else None
        if sub:
            try:
                holidays.country_holidays(code, subdiv=sub, years=())
            except (NotImplementedError, ValueError, KeyError):
                raise InvalidInput(
                    f"Unknown subdivision {subdivision!r} for holiday calendar {code}.", "holidaySubdivision"
                ) from None
        self.country_code = code
        self.subdivision = sub or None
        self._rest_by_year: dict[int, frozenset[date]] = {}

    def __repr__(self) -> str:
        sub = f", {self.subdivision!r}" if self.subdivision else ""
        return f"HolidayCalendar({self.country_code!r}{sub})"

    def is_rest_day(self, d: date) -> bool:
        rest = self._rest_by_year.get(d.year)
        if rest is None:
            rest = self.rest_days(d.year)
        return d in rest

    def is_working_day(self, d: date) -> bool:
        return not self.is_rest_day(d)

    def rest_days(self, year: int) -> frozenset[date]:
        """All rest dates of `year` (weekends not worked + public holidays), computed once."""
        cached = self._rest_by_year.get(year)
        if cached is not None:
            return cached
        rest = frozenset(self._compute_year(year))
        # A plain dict store is atomic under the GIL; two threads racing compute the same set.
        self._rest_by_year[year] = rest
        return rest

    def _compute_year(self, year: int) -> set[date]:
        # Neighbouring years too: observed days can cross New Year (US: Sat 2028-01-01 is observed
        # on Fri 2027-12-31), and some calendars attach them to the year of the holiday itself.
        years = [y for y in (year - 1, year, year + 1) if date.min.year <= y <= date.max.year]
        hs: HolidayBase = holidays.country_holidays(self.country_code, subdiv=self.subdivision, years=years)
        first = date(year, 1, 1)
        days = (date(year, 12, 31) - first).days + 1
        return {d for d in (first + timedelta(days=i) for i in range(days)) if not hs.is_working_day(d)}


@lru_cache(maxsize=256)
def _calendar_for(code: str, subdivision: str | None) -> HolidayCalendar:
    return HolidayCalendar(code, subdivision)


def calendar_for(country_code: str, subdivision: str | None = None) -> HolidayCalendar:
    """The shared (cached) calendar for a tenant's holiday country.

    Unknown country → InvalidInput(field="holidayCountry"); unknown subdivision → "holidaySubdivision".
    """
    code = (country_code or "").strip().upper()
    sub = subdivision.strip() if subdivision else None
    return _calendar_for(code, sub or None)
