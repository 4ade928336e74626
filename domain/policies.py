"""Policy versions as stored: a published version is immutable and decisions record its number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.policy import Policy, Regime

EU_MEMBER_STATES = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
})


class PolicyStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    id: UUID
    version: int
    status: PolicyStatus
    document: dict[str, object]
    based_on: str
    note: str | None
    created_at: datetime
    created_by: str
    published_at: datetime | None
    published_by: str | None


@dataclass(frozen=True, slots=True)
class PolicyInForce:
    """The published policy a use case decides under; its version goes into every decision."""

    version: int
    policy: Policy


def default_preset(holiday_country: str) -> str:
    """The regime a new tenant starts from, by its holiday calendar's country."""
    if holiday_country == "US":
        return Regime.US_DMCA.value
    if holiday_country in EU_MEMBER_STATES:
        return Regime.EU_DSA.value
    return Regime.CN_ECL.value
