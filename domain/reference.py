"""Reference data the marketplace keeps in sync: parties, IP rights and listings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import Final
from urllib.parse import urlsplit
from uuid import UUID

from domain.errors import FieldProblem, InvalidInput, Problems


class PartyKind(StrEnum):
    RIGHTS_HOLDER = "rights_holder"
    AGENT = "agent"
    MERCHANT = "merchant"


class RightType(StrEnum):
    TRADEMARK = "trademark"
    PATENT = "patent"
    DESIGN = "design"
    COPYRIGHT = "copyright"
    GEOGRAPHICAL_INDICATION = "geographical_indication"
    TRADE_SECRET = "trade_secret"


class VerificationStatus(StrEnum):
    UNVERIFIED = "unverified"
    VERIFIED = "verified"
    REJECTED = "rejected"


class LegalStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    INVALIDATION_PENDING = "invalidation_pending"
    INVALIDATED = "invalidated"


@dataclass(frozen=True, slots=True)
class PersonalData:
    """Never disclosed, never exported, never put in spans."""

    legal_name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    id_number: str | None = None


@dataclass(frozen=True, slots=True)
class Party:
    id: UUID
    kind: PartyKind
    external_ref: str
    display_name: str
    country: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Invalidation:
    """An invalidation request an IP office accepted, and its outcome once the office decided it."""

    office: str
    case_number: str
    accepted_at: date
    outcome: str | None = None
    decided_at: datetime | None = None

    @property
    def pending(self) -> bool:
        return self.outcome is None


@dataclass(frozen=True, slots=True)
class IpRight:
    id: UUID
    holder_id: UUID
    type: RightType
    registration_number: str
    jurisdiction: str
    title: str | None
    classes: tuple[str, ...]
    valid_from: date | None
    valid_until: date | None
    verification_status: VerificationStatus
    legal_status: LegalStatus
    invalidation: Invalidation | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Listing:
    id: UUID
    external_id: str
    url: str
    merchant_id: UUID
    title: str
    markets: tuple[str, ...]
    restriction_state: str
    created_at: datetime
    updated_at: datetime


# ----- inputs and their validation -------------------------------------------------------------

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_BATCH = 1000
MAX_NAME = 300  # a display name, legal name, merchant name, court or authority
MAX_REF = 200  # an external reference or id
MAX_TITLE = 500
MAX_CODE = 100  # a short code: registration number, Nice class, reason code, evidence kind, channel
# Personal data is kept (never disclosed), so it is bounded like everything kept: a legal name as a display
# name, an email address by RFC 5321's path limit, the rest by what a postal address or an id can need.
_PERSONAL_LIMITS = (("legalName", "legal_name", MAX_NAME), ("email", "email", 254), ("phone", "phone", 50),
                    ("address", "address", 1000), ("idNumber", "id_number", 100))


class Unsent(Enum):
    """A field an update did not send: the stored value is kept (a field sent as None is cleared).

    The domain's own marker, so that use cases and repositories need not know how the API tells a left-out
    field from an explicit null."""

    UNSENT = "unsent"


UNSENT: Final = Unsent.UNSENT
PERSONAL_DATA_FIELDS = tuple(attribute for _, attribute, _ in _PERSONAL_LIMITS)  # = the columns


@dataclass(frozen=True, slots=True)
class PersonalDataInput:
    """What an upsert says about a party's personal data, field by field (UNSENT: keep what is stored)."""

    legal_name: str | Unsent | None = UNSENT
    email: str | Unsent | None = UNSENT
    phone: str | Unsent | None = UNSENT
    address: str | Unsent | None = UNSENT
    id_number: str | Unsent | None = UNSENT


@dataclass(frozen=True, slots=True)
class PartyInput:
    """Creates a party, or updates the one with this external_ref: kind and names are always given; country
    and personal data change only where sent (personal_data None clears all of it)."""

    kind: PartyKind
    external_ref: str
    display_name: str
    country: str | Unsent | None = UNSENT
    personal_data: PersonalDataInput | Unsent | None = UNSENT

    def personal_data_sent(self) -> dict[str, str | None]:
        """The personal data fields to write, by attribute (= column) name: none when personal_data was not
        sent, all of them (as None) when it was sent as null."""
        if self.personal_data is None:
            return dict.fromkeys(PERSONAL_DATA_FIELDS)
        if self.personal_data is UNSENT:
            return {}
        values = {name: getattr(self.personal_data, name) for name in PERSONAL_DATA_FIELDS}
        return {name: value for name, value in values.items() if value is not UNSENT}


@dataclass(frozen=True, slots=True)
class IpRightInput:
    holder_id: UUID
    type: RightType
    registration_number: str
    jurisdiction: str
    title: str | None = None
    classes: tuple[str, ...] = ()
    valid_from: date | None = None
    valid_until: date | None = None


@dataclass(frozen=True, slots=True)
class ListingInput:
    external_id: str
    url: str
    merchant_ref: str
    title: str
    markets: tuple[str, ...] = ()
    merchant_display_name: str | None = None


@dataclass(frozen=True, slots=True)
class LegalStatusInput:
    legal_status: LegalStatus
    invalidation: Invalidation | None = None


def check_country(p: Problems, name: str, code: str | None) -> None:
    """ISO 3166-1 alpha-2, upper case, as everywhere a country is stored (jurisdictions, markets, scopes)."""
    if code is not None and not _COUNTRY.match(code):
        p.add(name, f"'{code}' is not an ISO 3166-1 alpha-2 country code.")


def is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def validate_party(data: PartyInput) -> None:
    p = Problems()
    p.text("externalRef", data.external_ref, MAX_REF)
    p.text("displayName", data.display_name, MAX_NAME)
    if data.country is not UNSENT:
        check_country(p, "country", data.country)
    personal = data.personal_data_sent()
    for name, attribute, max_len in _PERSONAL_LIMITS:
        p.at_most(f"personalData.{name}", personal.get(attribute), max_len)
    email = personal.get("email")
    if email is not None and not _EMAIL.match(email):
        p.add("personalData.email", "Not an email address.")
    p.raise_if_any()


def validate_ip_right(data: IpRightInput) -> None:
    p = Problems()
    p.text("registrationNumber", data.registration_number, MAX_CODE)
    p.at_most("title", data.title, MAX_TITLE)
    if not (_COUNTRY.match(data.jurisdiction) or data.jurisdiction in {"EU", "WO"}):
        p.add("jurisdiction", "Use an ISO country code, EU (EUIPO) or WO (WIPO).")
    if data.valid_from and data.valid_until and data.valid_from > data.valid_until:
        p.add("validUntil", "Must not be before validFrom.")
    if len(data.classes) > 45:
        p.add("classes", "At most 45 classes.")
    for n, cls in enumerate(data.classes):
        p.text(f"classes.{n}", cls, MAX_CODE)
    p.raise_if_any()


def validate_legal_status(data: LegalStatusInput) -> None:
    p = Problems()
    pending = data.legal_status is LegalStatus.INVALIDATION_PENDING
    if pending and data.invalidation is None:
        p.add("invalidation", "An invalidation-pending right needs the office, case number and acceptance date.")
    if data.invalidation is not None:
        p.text("invalidation.office", data.invalidation.office, 200)
        p.text("invalidation.caseNumber", data.invalidation.case_number, 100)
    p.raise_if_any()


def listing_problems(index: int, item: ListingInput) -> list[FieldProblem]:
    """Problems of one batch item, with paths relative to the item (the batch reports per item)."""
    p = Problems()
    p.text("externalId", item.external_id, MAX_REF)
    p.text("title", item.title, MAX_TITLE)
    p.text("merchantRef", item.merchant_ref, MAX_REF)
    if item.merchant_display_name:  # names the merchant party it creates: held to a party's display name
        p.text("merchantDisplayName", item.merchant_display_name, MAX_NAME)
    if len(item.url) > 2048 or not is_web_url(item.url):
        p.add("url", "Must be an http(s) URL of at most 2048 characters.")
    for i, market in enumerate(item.markets):
        check_country(p, f"markets.{i}", market)
    return p.items


def check_batch_size(items: Sequence[object], field_name: str = "items") -> None:
    if not items:
        raise InvalidInput(f"Give at least one item in '{field_name}'.", field_name)
    if len(items) > MAX_BATCH:
        raise InvalidInput(f"At most {MAX_BATCH} items per call; got {len(items)}.", field_name)
