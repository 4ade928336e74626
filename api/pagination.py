"""Keyset pagination over time-ordered ids: stable order, constant cost for any page depth.

The one place cursors are encoded and decoded. A cursor comes back from the client, so decoding trusts
nothing: each part is checked for what the query will bind it to (type, integer range, a supported
instant), and anything else is the same typed "Malformed cursor." on `after`, never an error from the
database driver.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import orjson
from strawberry import relay

from domain.dates import is_supported_instant
from domain.errors import InvalidInput

T = TypeVar("T")

_SEQ = re.compile(r"[0-9]{1,18}")  # ASCII digits only ("²".isdigit() is true), always within a bigint


def _malformed() -> InvalidInput:
    return InvalidInput("Malformed cursor.", "after")


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError) as exc:
        raise _malformed() from exc


def encode_cursor(value: UUID) -> str:
    return _encode(b"k:" + value.bytes)


def decode_cursor(cursor: str | None) -> UUID | None:
    if cursor is None:
        return None
    raw = _decode(cursor)
    if len(raw) != 18 or not raw.startswith(b"k:"):
        raise _malformed()
    return UUID(bytes=raw[2:])


def encode_seq_cursor(seq: int) -> str:
    """A cursor over a sequence number (e.g. the decision log's `seq`)."""
    return str(seq)


def decode_seq_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not _SEQ.fullmatch(cursor):
        raise _malformed()
    return int(cursor)


def encode_parts_cursor(parts: Sequence[str | int | None]) -> str:
    """A cursor over several sort keys (orders other than by id), as a JSON array."""
    return _encode(orjson.dumps(list(parts)))


def decode_parts_cursor(cursor: str, count: int) -> list[Any]:
    """The `count` raw parts of a cursor made by encode_parts_cursor; check each with the cursor_* below."""
    try:
        parts = orjson.loads(_decode(cursor))
    except orjson.JSONDecodeError as exc:
        raise _malformed() from exc
    if not isinstance(parts, list) or len(parts) != count:
        raise _malformed()
    return parts


def cursor_int(part: Any, low: int, high: int) -> int:
    """An integer part that fits what the query binds it to (not a float, not a bool)."""
    if type(part) is not int or not low <= part <= high:
        raise _malformed()
    return part


def cursor_instant(part: Any) -> datetime:
    """A timestamp part: ISO 8601 with an offset, within the supported range (domain.dates)."""
    try:
        at = datetime.fromisoformat(part)
    except (TypeError, ValueError) as exc:
        raise _malformed() from exc
    if not is_supported_instant(at):
        raise _malformed()
    return at


def cursor_uuid(part: Any) -> UUID:
    if not isinstance(part, str):
        raise _malformed()
    try:
        return UUID(part)
    except ValueError as exc:
        raise _malformed() from exc


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
