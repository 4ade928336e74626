"""The transparency report (DSA Art 15 and 24) for a period, as data and as CSV.

The period is `from`..`to` inclusive, in whole days of the tenant's timezone. What is counted, and by
which timestamp:
- notices received in the period, by right type and by source (`trusted`: the platform's trusted
  notifier programme at the time of the notice; everything else `other`);
- measures applied in the period, by type;
- declarations (counter-notices / complaints against a takedown) received in the period, by status;
- case outcomes (rejected, restored, upheld, settled, withdrawn) reached in the period;
- account suspensions (and terminations) imposed in the period, by reason: manifestly illegal content
  = `repeat_infringer`, manifestly unfounded notices = `unfounded_notices`; unfounded complaints are
  not tracked, so always 0;
- appeals (internal complaints against decisions) filed in the period, by status;
- the share of automated decisions among the moderation decisions taken in the period
  (domain.transparency.MODERATION_KINDS);
- time from notice to action for notices received in the period that led to an applied measure:
  received_at -> the first applied_at of any of its measures; median and p90 (percentile_cont);
- notices received in the period handled (first review decision: measures requested or rejected)
  within the review SLA of the policy version they were received under.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.dates import day_end, day_start
from domain.errors import InvalidInput
from domain.ports import UnitOfWork
from domain.tenancy import Principal, Role
from domain.transparency import TransparencyReport, report_rows

REPORT_READERS = (Role.ADMIN, Role.AUDITOR)
MAX_PERIOD_DAYS = 3660


def period_bounds(period_from: date, period_to: date, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) of the inclusive day range in the timezone."""
    zone = ZoneInfo(timezone)
    start, end = day_start(period_from, zone, "from"), day_end(period_to, zone, "to")
    if period_to < period_from:
        raise InvalidInput("'to' must not be before 'from'.", "to")
    if (period_to - period_from).days >= MAX_PERIOD_DAYS:
        raise InvalidInput(f"A report covers at most {MAX_PERIOD_DAYS} days.", "to")
    return start, end


async def transparency_report(uow: UnitOfWork, principal: Principal, period_from: date,
                              period_to: date) -> TransparencyReport:
    principal.require(*REPORT_READERS)
    tenant = await uow.tenants.get_current()
    start, end = period_bounds(period_from, period_to, tenant.timezone)
    sla_hours = (await uow.policies.in_force()).policy.notices.review_sla_hours
    figures = await uow.reports.figures(start, end, sla_hours)
    return TransparencyReport(period_from, period_to, tenant.timezone, sla_hours, figures)


def report_csv(report: TransparencyReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("section", "key", "value"))
    writer.writerows(report_rows(report))
    return out.getvalue()
