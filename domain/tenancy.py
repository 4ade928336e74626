"""Tenants, API keys and the principal a request acts as."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import FieldProblem, Forbidden, InvalidInput


class Role(StrEnum):
    INTEGRATION = "integration"
    REVIEWER = "reviewer"
    ADMIN = "admin"
    AUDITOR = "auditor"


class TenantMode(StrEnum):
    LIVE = "live"
    SANDBOX = "sandbox"


@dataclass(frozen=True, slots=True)
class Tenant:
    id: UUID
    slug: str
    name: str
    timezone: str
    holiday_country: str
    mode: TenantMode
    clock_offset: timedelta
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: UUID
    tenant_id: UUID
    name: str
    prefix: str
    roles: tuple[Role, ...]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a tenant's API key, or the platform operator (no tenant)."""

    tenant_id: UUID | None
    key_id: UUID | None
    roles: frozenset[Role]
    is_operator: bool = False

    def require(self, *any_of: Role) -> None:
        if self.is_operator or not self.roles.intersection(any_of):
            names = ", ".join(r.value for r in any_of)
            raise Forbidden(f"This operation needs an API key with one of the roles: {names}.")

    @property
    def actor(self) -> str:
        return f"apikey:{self.key_id}" if self.key_id else "operator"


#: How far a sandbox test clock may run ahead in total: far enough for any window or retention period a
#: policy sets, and far from the end of the calendar (advanced without limit, `now` overflows).
MAX_CLOCK_OFFSET = timedelta(days=10 * 366)

KEY_PREFIX = "nhk_"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def generate_api_key() -> tuple[str, bytes, str]:
    """Return (secret shown once, stored hash, display prefix). 256-bit secrets need no slow hash."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    return secret, hash_api_key(secret), secret[:12]


def hash_api_key(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def validate_new_tenant(slug: str, name: str, timezone: str, holiday_country: str) -> None:
    problems: list[FieldProblem] = []
    if not _SLUG.match(slug):
        problems.append(FieldProblem("slug", "Use 2-63 lowercase letters, digits or dashes."))
    if not 1 <= len(name.strip()) <= 200:
        problems.append(FieldProblem("name", "Name must be 1-200 characters."))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(FieldProblem("timezone", f"Unknown IANA timezone '{timezone}'."))
    if not _COUNTRY.match(holiday_country):
        problems.append(FieldProblem("holidayCountry", "Use an ISO 3166-1 alpha-2 code such as CN or US."))
    if problems:
        raise InvalidInput.from_problems(problems)


def advanced_clock_offset(current: timedelta, by_seconds: float) -> timedelta:
    """The test clock's offset after moving it `by_seconds` forward, within MAX_CLOCK_OFFSET in total."""
    if not 0 < by_seconds <= MAX_CLOCK_OFFSET.total_seconds():  # `not` also refuses NaN
        raise InvalidInput("Advance by a positive duration of at most ten years.", "seconds")
    offset = current + timedelta(seconds=by_seconds)
    if offset > MAX_CLOCK_OFFSET:
        raise InvalidInput(f"The test clock runs at most ten years ahead in total; it is {current.days} days "
                           f"ahead already.", "seconds")
    return offset


def validate_key_name(name: str, roles: tuple[Role, ...]) -> None:
    problems: list[FieldProblem] = []
    if not 1 <= len(name.strip()) <= 100:
        problems.append(FieldProblem("name", "Name must be 1-100 characters."))
    if not roles:
        problems.append(FieldProblem("roles", "Give the key at least one role."))
    if problems:
        raise InvalidInput.from_problems(problems)
