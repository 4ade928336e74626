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


def register(table: Mapping[str, tuple[Handler, ...]]) -> None:
    """Add handlers after any already registered for the same topics."""
    for topic, handlers in table.items():
        HANDLERS[topic] = HANDLERS.get(topic, ()) + tuple(handlers)


from workers.notification_handlers import notification_handlers  # noqa: E402 - needs Handler above

register(notification_handlers())  # webhooks fan-out, emails to parties, delivery triggers, metrics

from workers.statement_handlers import statement_handlers  # noqa: E402 - needs Handler above

register(statement_handlers())  # DSA statements of reasons: queue, end dates, submission passes
