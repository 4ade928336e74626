"""Writes that nothing in the transaction reads back before COMMIT, sent as one statement.

The tail of a notice intake used to be one round trip per kind of row (idempotency keys, outbox messages,
notifier counters); each costs a statement span, a protocol exchange and an event-loop turn. Staged here,
they go out together as data-modifying CTEs of the statement that locks the decision chain head, when the
unit of work flushes. PostgreSQL runs every data-modifying CTE exactly once whether or not the outer query
reads it; the hot rows they touch (a notifier's counters of the day) stay locked until COMMIT, as before.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import asyncpg

from domain.errors import DomainError

_PLACEHOLDER = re.compile(r"\$(\d+)")
WRITTEN = "{WRITTEN}"  # in a final query: true once every staged write has run (see `combine`)


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

    async def flush(
        self, conn: asyncpg.Connection, final: str | None = None, *final_args: Any
    ) -> asyncpg.Record | None:
        """Send the staged writes with `final` as the statement's own query (numbered from $1; e.g. one that
        locks a row and returns it), and return that query's first row. Where `final` says {WRITTEN} (a
        condition), the staged writes complete before it runs; see `combine`."""
        parts, conflicts = self._parts, self._conflicts
        self._parts, self._conflicts = [], {}
        if not parts:
            return await conn.fetchrow(final.replace(WRITTEN, "true"), *final_args) if final is not None else None
        sql, args = combine(parts, final or "SELECT 1", *final_args)
        try:
            return await conn.fetchrow(sql, *args)
        except asyncpg.UniqueViolationError as exc:
            mapped = conflicts.get(exc.constraint_name or "")
            if mapped is None:
                raise
            raise mapped from exc


def combine(parts: Sequence[tuple[str, Sequence[Any]]], final: str, *final_args: Any) -> tuple[str, list[Any]]:
    """Write-only statements (each numbered from $1) as data-modifying CTEs in front of `final`.

    PostgreSQL runs CTEs the outer query does not read after it, so a row lock the outer query takes would
    be held while they run. Where `final` has the condition WRITTEN, it is replaced by one that reads every
    CTE (each returns a row per row written), so they finish first: the decision chain head is locked
    after the transaction's other rows are written, not before."""
    args: list[Any] = list(final_args)
    for _, part_args in parts:
        args.extend(part_args)
    return _combined_text(tuple((sql, len(part_args)) for sql, part_args in parts), final, len(final_args)), args


@functools.lru_cache(maxsize=256)
def _combined_text(parts: tuple[tuple[str, int], ...], final: str, offset: int) -> str:
    """The statement text depends only on which statements, with how many arguments, go out together: a
    few shapes, each renumbered once (and prepared once per connection by asyncpg)."""
    ctes: list[str] = []
    for n, (sql, count) in enumerate(parts):
        ctes.append(f"w{n} AS ({_renumber(sql, offset)} RETURNING 1)")
        offset += count
    written = " AND ".join(f"(SELECT count(*) FROM w{n}) >= 0" for n in range(len(parts)))
    return f"WITH {', '.join(ctes)} {final.replace(WRITTEN, written)}"


def _renumber(sql: str, offset: int) -> str:
    return _PLACEHOLDER.sub(lambda m: f"${int(m.group(1)) + offset}", sql)
