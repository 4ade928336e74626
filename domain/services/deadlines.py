"""What happens when a durable deadline comes due: the kind -> use case table the scheduler uses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class DueDeadline:
    id: UUID
    kind: str
    subject_id: UUID
    due_at: datetime
    payload: Mapping[str, Any]


DeadlineHandler = Callable[[UnitOfWork, Sequence[DueDeadline]], Awaitable[None]]

DEADLINE_HANDLERS: dict[str, DeadlineHandler] = {}
