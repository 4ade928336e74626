"""The single table mapping outbox topics to what workers do with them.

Each handler runs inside the tenant transaction that also records the message as processed, so an
effect happens once even when the broker delivers twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from infra.db import PgUnitOfWork

Handler = Callable[[PgUnitOfWork, str, Mapping[str, Any]], Awaitable[None]]

HANDLERS: dict[str, tuple[Handler, ...]] = {}


def handlers_for(topic: str) -> tuple[Handler, ...]:
    return HANDLERS.get(topic, ())
