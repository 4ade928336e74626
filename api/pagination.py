"""Keyset pagination over time-ordered ids: stable order, constant cost for any page depth."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from strawberry import relay

from domain.errors import InvalidInput

T = TypeVar("T")


def encode_cursor(value: UUID) -> str:
    return base64.urlsafe_b64encode(b"k:" + value.bytes).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> UUID | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError) as exc:
        raise InvalidInput("Malformed cursor.", "after") from exc
    if len(raw) != 18 or not raw.startswith(b"k:"):
        raise InvalidInput("Malformed cursor.", "after")
    return UUID(bytes=raw[2:])


def page_size(first: int | None, maximum: int, default: int = 50) -> int:
    size = default if first is None else first
    if size < 1 or size > maximum:
        raise InvalidInput(f"'first' must be between 1 and {maximum}.", "first")
    return size


async def keyset_connection(
    fetch: Callable[[UUID | None, int], Awaitable[Sequence[T]]],
    to_node: Callable[[T], Any],
    key: Callable[[T], UUID],
    first: int | None,
    after: str | None,
    maximum: int,
) -> Any:
    """Fetch one row more than asked to learn whether there is a next page."""
    size = page_size(first, maximum)
    after_id = decode_cursor(after)
    rows = list(await fetch(after_id, size + 1))
    has_next = len(rows) > size
    rows = rows[:size]
    edges = [relay.Edge(node=to_node(r), cursor=encode_cursor(key(r))) for r in rows]
    return relay.Connection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=has_next,
            has_previous_page=after_id is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
