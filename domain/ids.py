"""Time-ordered identifiers: UUIDv7 keeps inserts append-only and gives keyset pagination a stable order."""

from __future__ import annotations

from uuid import UUID

from uuid_utils.compat import uuid7


def new_id() -> UUID:
    return uuid7()
