"""Per-request context: the principal, the database, and one set of DataLoaders per request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from uuid import UUID

from starlette.requests import Request
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from api.errors import payload
from api.pagination import keyset_connection
from domain.errors import Forbidden
from domain.reference import IpRight, Listing, Party
from domain.tenancy import Principal
from infra.db import Database
from infra.settings import Settings

T = TypeVar("T")
S = TypeVar("S")


@dataclass
class Context:
    request: Request
    response: Any
    principal: Principal
    db: Database
    settings: Settings
    _loaders: dict[str, DataLoader[Any, Any]] = field(default_factory=dict)

    @property
    def tenant_id(self) -> UUID:
        if self.principal.tenant_id is None:
            raise Forbidden("This operation needs a tenant API key.")
        return self.principal.tenant_id

    def uow(self) -> Any:
        """A unit of work for this request's tenant (the tenant comes from the key, never the payload)."""
        tenant_id = self.tenant_id  # refuse operator keys before touching the database
        return self.db.uow(tenant_id)

    async def connection(self, read: Callable[[Any, UUID | None, int], Awaitable[Sequence[T]]],
                         to_node: Callable[[T], Any], first: int | None, after: str | None,
                         key: Callable[[T], UUID] = lambda row: row.id) -> Any:  # type: ignore[attr-defined]
        """A keyset-paginated connection (api/pagination.py) whose page is read in one unit of work."""
        async def fetch(after_id: UUID | None, limit: int) -> Sequence[T]:
            async with self.uow() as uow:
                return await read(uow, after_id, limit)

        return await keyset_connection(fetch, to_node, key, first, after, self.settings.max_page_size)

    async def mutate(self, use_case: Callable[[Any], Awaitable[T]], success: Callable[[T], S]) -> S | Any:
        """The shape of most mutations: one use case in one unit of work, its result mapped to the payload's
        success member. Expected errors, ids that do not decode included, become payload error members."""
        async def run() -> S:
            async with self.uow() as uow:
                result = await use_case(uow)
            return success(result)

        return await payload(run)

    def _loader(self, name: str, fetch: Any) -> DataLoader[Any, Any]:
        loader = self._loaders.get(name)
        if loader is None:
            tenant_id, db = self.tenant_id, self.db

            async def load(ids: Sequence[UUID]) -> list[Any]:
                async with db.uow(tenant_id) as uow:
                    return list(await fetch(uow, list(ids)))

            loader = self._loaders[name] = DataLoader(load_fn=load)
        return loader

    @property
    def parties(self) -> DataLoader[UUID, Party | None]:
        return self._loader("parties", lambda uow, ids: uow.parties.get_many(ids))

    @property
    def ip_rights(self) -> DataLoader[UUID, IpRight | None]:
        return self._loader("ip_rights", lambda uow, ids: uow.ip_rights.get_many(ids))

    @property
    def listings(self) -> DataLoader[UUID, Listing | None]:
        return self._loader("listings", lambda uow, ids: uow.listings.get_many(ids))


def request_context(info: Info) -> Context:
    """The resolver's view of this request's Context (strawberry types `info.context` loosely)."""
    return cast(Context, info.context)
