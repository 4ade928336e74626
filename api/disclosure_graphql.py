"""Reviewer actions on public disclosure records: manual redaction and withdrawal (both decisions)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api import errors as e
from domain.errors import InvalidInput
from domain.services import disclosures as disclosure_service


def _uuid(value: strawberry.ID) -> Any:
    from uuid import UUID

    try:
        return UUID(str(value))
    except ValueError as exc:
        raise InvalidInput(f"'{value}' is not a disclosure id.", "id") from exc


@strawberry.input
class WithdrawDisclosureInput:
    id: strawberry.ID = strawberry.field(description="The public record's id (as shown on the public page).")
    reason: str


@strawberry.input
class RedactDisclosureInput:
    id: strawberry.ID
    field: str = strawberry.field(description="A free-text field of the record: explanation, listing_title, "
                                  "merchant_name or notifier_name (where the record has it).")
    text: str = strawberry.field(description="The exact passage to hide; every occurrence is replaced. It must not "
                                 "overlap a [redacted:…] marker already in the field.")
    reason: str = ""


@strawberry.type
class DisclosureWithdrawn:
    id: strawberry.ID


@strawberry.type
class DisclosureRedacted:
    id: strawberry.ID
    record: JSON


DisclosureWithdrawPayload = Annotated[DisclosureWithdrawn | e.InvalidInputError | e.NotFoundError | e.ConflictError,
                                      strawberry.union("DisclosureWithdrawPayload")]
DisclosureRedactPayload = Annotated[DisclosureRedacted | e.InvalidInputError | e.NotFoundError,
                                    strawberry.union("DisclosureRedactPayload")]


@strawberry.type
class DisclosureMutation:
    @strawberry.mutation(description="Reviewers: withdraw a public record; it disappears from pages, API and exports.")
    async def withdraw_disclosure(self, info: Info, input: WithdrawDisclosureInput) -> DisclosureWithdrawPayload:
        ctx = info.context

        async def run() -> DisclosureWithdrawn:
            async with ctx.uow() as uow:
                await disclosure_service.withdraw_disclosure(uow, ctx.principal, _uuid(input.id), input.reason)
            return DisclosureWithdrawn(id=input.id)

        return await e.payload(run)

    @strawberry.mutation(description="Reviewers: hide a passage of a public record the patterns missed.")
    async def redact_disclosure(self, info: Info, input: RedactDisclosureInput) -> DisclosureRedactPayload:
        ctx = info.context

        async def run() -> DisclosureRedacted:
            async with ctx.uow() as uow:
                record = await disclosure_service.redact_disclosure(uow, ctx.principal, _uuid(input.id), input.field,
                                                                     input.text, input.reason)
            return DisclosureRedacted(id=input.id, record=dict(record))  # type: ignore[arg-type]

        return await e.payload(run)
