"""Use cases for parties, IP rights and listings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from domain.errors import DomainError, FieldProblem, InvalidInput, NotFound
from domain.ids import new_id
from domain.ports import UnitOfWork
from domain.reference import (
    IpRight,
    IpRightInput,
    LegalStatusInput,
    Listing,
    ListingInput,
    Party,
    PartyInput,
    PartyKind,
    VerificationStatus,
    check_batch_size,
    listing_problems,
    validate_ip_right,
    validate_legal_status,
    validate_party,
)
from domain.tenancy import Principal, Role

WRITERS = (Role.INTEGRATION, Role.ADMIN)


async def upsert_party(uow: UnitOfWork, principal: Principal, data: PartyInput) -> Party:
    principal.require(*WRITERS)
    validate_party(data)
    return await uow.parties.upsert(data, new_id())


async def register_ip_right(uow: UnitOfWork, principal: Principal, data: IpRightInput) -> IpRight:
    principal.require(*WRITERS)
    validate_ip_right(data)
    [holder] = await uow.parties.get_many([data.holder_id])
    if holder is None:
        raise NotFound("Holder party", "holderId")
    if holder.kind is PartyKind.MERCHANT:
        raise InvalidInput("A right's holder must be a rights holder or agent, not a merchant.", "holderId")
    return await uow.ip_rights.register(data, new_id())


async def set_ip_right_verification(
    uow: UnitOfWork, principal: Principal, right_id: UUID, status: VerificationStatus
) -> IpRight:
    """A reviewer verifies a right once; every later notice relying on it reuses the result."""
    principal.require(Role.REVIEWER, Role.ADMIN)
    right = await uow.ip_rights.set_verification(right_id, status)
    if right is None:
        raise NotFound("IP right", "id")
    return right


async def set_ip_right_legal_status(
    uow: UnitOfWork, principal: Principal, right_id: UUID, data: LegalStatusInput
) -> IpRight:
    principal.require(Role.REVIEWER, Role.ADMIN, Role.INTEGRATION)
    validate_legal_status(data)
    right = await uow.ip_rights.set_legal_status(right_id, data)
    if right is None:
        raise NotFound("IP right", "id")
    # Cases relying on the right react to this (suspension of handling, rejection on invalidation).
    uow.outbox.add(
        "ip_right.legal_status_changed",
        {"ip_right_id": str(right.id), "legal_status": right.legal_status.value},
        ordering_key=str(right.id),
    )
    return right


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One batch item's outcome: the listing, or the error that kept it out. Others are unaffected."""

    index: int
    listing: Listing | None = None
    created: bool = False
    error: DomainError | None = None


async def upsert_listings(uow: UnitOfWork, principal: Principal, items: Sequence[ListingInput]) -> list[ItemResult]:
    principal.require(*WRITERS)
    check_batch_size(items)
    results: dict[int, ItemResult] = {}
    seen: dict[str, int] = {}
    valid: list[tuple[int, ListingInput]] = []
    for i, item in enumerate(items):
        problems = listing_problems(i, item)
        if item.external_id in seen:
            problems.append(FieldProblem("externalId", f"Duplicate of item {seen[item.external_id]} in this batch."))
        if problems:
            results[i] = ItemResult(i, error=InvalidInput.from_problems(problems))
            continue
        seen[item.external_id] = i
        valid.append((i, item))

    merchants = await uow.parties.ids_by_external_ref(sorted({item.merchant_ref for _, item in valid}))
    to_create: dict[str, tuple[UUID, str, str]] = {}
    rows: list[tuple[UUID, ListingInput, UUID]] = []
    row_index: list[int] = []
    for i, item in valid:
        found = merchants.get(item.merchant_ref)
        if found is not None and found[1] != PartyKind.MERCHANT.value:
            results[i] = ItemResult(i, error=InvalidInput("merchantRef names a party that is not a merchant.",
                                                          "merchantRef"))
            continue
        if found is None:
            if not item.merchant_display_name and item.merchant_ref not in to_create:
                results[i] = ItemResult(i, error=NotFound(
                    f"Merchant '{item.merchant_ref}' (give merchantDisplayName to create it)", "merchantRef"))
                continue
            created = to_create.setdefault(
                item.merchant_ref, (new_id(), item.merchant_ref, item.merchant_display_name or item.merchant_ref)
            )
            merchant_id = created[0]
        else:
            merchant_id = found[0]
        rows.append((new_id(), item, merchant_id))
        row_index.append(i)

    await uow.parties.insert_merchants(list(to_create.values()))
    if rows:
        for i, (listing, created_flag) in zip(row_index, await uow.listings.upsert_many(rows), strict=True):
            results[i] = ItemResult(i, listing=listing, created=created_flag)
    return [results[i] for i in range(len(items))]
