"""The one error model: every expected failure is a DomainError with a stable code.

The API maps these to typed GraphQL error objects (expected errors are data); anything that is
not a DomainError is unexpected and gets masked.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

# PostgreSQL stores no NUL in text or jsonb: text holding one is refused where it enters (api.text_input),
# and the database's refusal is mapped to InvalidInput with this message (infra.db).
NUL_IN_TEXT = "Text must not contain NUL (U+0000) characters."


class ErrorCode(StrEnum):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    POLICY_VIOLATION = "POLICY_VIOLATION"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    RESTRICTED = "RESTRICTED"


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one input field; `field` is a dotted path such as `items.3.url`."""

    field: str
    message: str
    code: str = "invalid"


@dataclass
class DomainError(Exception):
    code: ErrorCode
    message: str
    field: str | None = None
    problems: tuple[FieldProblem, ...] = ()

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def _summary(problems: tuple[FieldProblem, ...]) -> str:
    summary = "; ".join(f"{p.field}: {p.message}" for p in problems[:5])
    if len(problems) > 5:
        summary += f"; and {len(problems) - 5} more"
    return summary


class InvalidInput(DomainError):
    def __init__(self, message: str, field: str | None = None, problems: tuple[FieldProblem, ...] = ()):
        super().__init__(ErrorCode.INVALID_INPUT, message, field, problems)

    @classmethod
    def from_problems(cls, problems: list[FieldProblem] | tuple[FieldProblem, ...]) -> InvalidInput:
        problems = tuple(problems)
        return cls(_summary(problems) or "Invalid input.", problems[0].field if problems else None, problems)


@dataclass
class Problems:
    """Collects a validator's field problems, with a path prefix such as `items.3.`; raises them all at once."""

    prefix: str = ""
    items: list[FieldProblem] = dataclasses.field(default_factory=list)

    def add(self, name: str, message: str, code: str = "invalid") -> None:
        self.items.append(FieldProblem(f"{self.prefix}{name}", message, code))

    def text(self, name: str, value: str, max_len: int) -> None:
        """Required text: not blank, at most `max_len` characters."""
        if not value or not value.strip():
            self.add(name, "Must not be empty.")
        else:
            self.at_most(name, value, max_len)

    def at_most(self, name: str, value: str | None, max_len: int) -> None:
        """Optional text: at most `max_len` characters (what the database and the public record can hold)."""
        if value is not None and len(value) > max_len:
            self.add(name, f"Must be at most {max_len} characters.")

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidInput.from_problems(self.items)


class NotFound(DomainError):
    def __init__(self, what: str, field: str | None = None):
        super().__init__(ErrorCode.NOT_FOUND, f"{what} not found.", field)


class Conflict(DomainError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(ErrorCode.CONFLICT, message, field)


class IdempotencyKeyReused(DomainError):
    def __init__(self) -> None:
        super().__init__(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "This idempotencyKey was already used with a different payload.",
            "idempotencyKey",
        )


class LimitExceeded(DomainError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(ErrorCode.LIMIT_EXCEEDED, message, field)


class InvalidTransition(DomainError):
    def __init__(self, state: str, event: str):
        super().__init__(
            ErrorCode.INVALID_TRANSITION, f"A case in state '{state}' cannot take event '{event}'.", None
        )
        self.state = state
        self.event = event


class PolicyViolation(DomainError):
    def __init__(self, message: str, field: str | None = None, problems: tuple[FieldProblem, ...] = ()):
        super().__init__(ErrorCode.POLICY_VIOLATION, message, field, problems)

    @classmethod
    def from_problems(cls, problems: list[FieldProblem] | tuple[FieldProblem, ...]) -> PolicyViolation:
        problems = tuple(problems)
        return cls(_summary(problems) or "Not allowed by the policy.", problems[0].field if problems else None,
                   problems)


class Unauthenticated(DomainError):
    def __init__(self, message: str = "A valid API key is required (Authorization: Bearer <key>)."):
        super().__init__(ErrorCode.UNAUTHENTICATED, message)


class Forbidden(DomainError):
    def __init__(self, message: str):
        super().__init__(ErrorCode.FORBIDDEN, message)
