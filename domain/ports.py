"""What the use cases need from the outside world, as Protocols. infra/ provides the real ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from domain.clock import Clock
from domain.reference import (
    IpRight,
    IpRightInput,
    LegalStatusInput,
    Listing,
    ListingInput,
    Party,
    PartyInput,
    VerificationStatus,
)
from domain.tenancy import ApiKey, Role, Tenant


class TenantRepository(Protocol):
    async def insert(self, tenant: Tenant) -> None: ...
    async def get_current(self) -> Tenant: ...
    async def set_clock_offset(self, offset_seconds: float) -> Tenant: ...


class ApiKeyRepository(Protocol):
    async def insert(self, key: ApiKey, key_hash: bytes) -> None: ...
    async def get(self, key_id: UUID) -> ApiKey | None: ...
    async def revoke(self, key_id: UUID, at: datetime) -> ApiKey | None: ...
    async def list(self, after: UUID | None, first: int) -> list[ApiKey]: ...


class PartyRepository(Protocol):
    async def upsert(self, data: PartyInput, new_id: UUID) -> Party: ...
    async def get_many(self, ids: Sequence[UUID]) -> list[Party | None]: ...
    async def list(self, after: UUID | None, first: int, kind: str | None, external_ref: str | None) -> list[Party]: ...
    async def ids_by_external_ref(self, refs: Sequence[str]) -> dict[str, tuple[UUID, str]]: ...
    async def insert_merchants(self, rows: Sequence[tuple[UUID, str, str]]) -> None: ...


class IpRightRepository(Protocol):
    async def register(self, data: IpRightInput, new_id: UUID) -> IpRight: ...
    async def get_many(self, ids: Sequence[UUID]) -> list[IpRight | None]: ...
    async def list(self, after: UUID | None, first: int, holder_id: UUID | None) -> list[IpRight]: ...
    async def set_verification(self, right_id: UUID, status: VerificationStatus) -> IpRight | None: ...
    async def set_legal_status(self, right_id: UUID, data: LegalStatusInput) -> IpRight | None: ...


class ListingRepository(Protocol):
    async def upsert_many(self, rows: Sequence[tuple[UUID, ListingInput, UUID]]) -> list[tuple[Listing, bool]]: ...
    async def get_many(self, ids: Sequence[UUID]) -> list[Listing | None]: ...
    async def list(self, after: UUID | None, first: int, merchant_id: UUID | None) -> list[Listing]: ...


class Outbox(Protocol):
    def add(self, topic: str, payload: Mapping[str, Any], ordering_key: str | None = None) -> UUID: ...


class IdempotencyStore(Protocol):
    async def get(self, operation: str, key: str) -> tuple[bytes, Any] | None: ...
    async def put(self, operation: str, key: str, request_hash: bytes, result: Any) -> None: ...


class UnitOfWork(Protocol):
    """One transaction scoped to one tenant. Leaving the context without error commits."""

    tenant_id: UUID
    clock: Clock
    tenants: TenantRepository
    api_keys: ApiKeyRepository
    parties: PartyRepository
    ip_rights: IpRightRepository
    listings: ListingRepository
    outbox: Outbox
    idempotency: IdempotencyStore


class OperatorUnitOfWork(Protocol):
    """A transaction that may create a tenant and then act inside it."""

    clock: Clock
    tenants: TenantRepository

    async def enter_tenant(self, tenant_id: UUID) -> UnitOfWork: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, tenant_id: UUID) -> AbstractAsyncContextManager[UnitOfWork]: ...
    def operator(self) -> AbstractAsyncContextManager[OperatorUnitOfWork]: ...


__all__ = ["Role"]
