"""Writes that nothing in the transaction reads back before COMMIT, sent as one statement.

The tail of a notice intake used to be one round trip per kind of row (idempotency keys, outbox messages,
notifier counters); each costs a statement span, a protocol exchange and an event-loop turn. Staged here,
they go out together as data-modifying CTEs when the unit of work flushes. PostgreSQL runs every
data-modifying CTE exactly once whether or not the outer query reads it.
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg

from domain.errors import DomainError

_PLACEHOLDER = re.compile(r"\$(\d+)")


class WriteBatch:
    def __init__(self) -> None:
        self._parts: list[tuple[str, tuple[Any, ...]]] = []
        self._conflicts: dict[str, DomainError] = {}

    def add(self, sql: str, *args: Any, conflict: tuple[str, DomainError] | None = None) -> None:
        """`sql` is one INSERT/UPDATE/DELETE without RETURNING, numbered from $1; `conflict` maps a unique
        constraint's name to the typed error its violation means."""
        self._parts.append((sql, args))
        if conflict is not None:
            self._conflicts[conflict[0]] = conflict[1]

    def __bool__(self) -> bool:
        return bool(self._parts)

    async def flush(self, conn: asyncpg.Connection, final: str = "SELECT 1") -> None:
        """Send the staged writes; `final` is the statement's own query (e.g. a NOTIFY for the relay)."""
        parts, conflicts = self._parts, self._conflicts
        self._parts, self._conflicts = [], {}
        if not parts:
            return
        ctes: list[str] = []
        args: list[Any] = []
        for n, (sql, part_args) in enumerate(parts):
            ctes.append(f"w{n} AS ({_renumber(sql, len(args))})")
            args.extend(part_args)
        try:
            await conn.execute(f"WITH {', '.join(ctes)} {final}", *args)
        except asyncpg.UniqueViolationError as exc:
            mapped = conflicts.get(exc.constraint_name or "")
            if mapped is None:
                raise
            raise mapped from exc


def _renumber(sql: str, offset: int) -> str:
    return _PLACEHOLDER.sub(lambda m: f"${int(m.group(1)) + offset}", sql)
