"""Expected errors are data: each DomainError becomes a typed member of the mutation's payload union.

Permission and authentication failures are not data; they become top-level GraphQL errors with an
`extensions.code`. So does an expected error that the mutation's union has no member for (e.g. the
Conflict any unit of work raises on a deadlock, infra.db): `listed_errors_only` checks this where the
union's type is resolved, the one place that knows the field's union, so no union has to list every error.
Anything else is unexpected and is masked by api.executor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLAbstractType, GraphQLError, GraphQLSchema, GraphQLTypeResolver, GraphQLUnionType
from strawberry.types.base import get_object_definition

from domain.errors import DomainError, ErrorCode

ErrorCodeEnum = strawberry.enum(ErrorCode, name="ErrorCode", description="Stable machine-readable error codes.")


@strawberry.type(description="One problem with one input field.")
class FieldProblem:
    field: str = strawberry.field(description="Dotted path of the field, e.g. `items.3.url`.")
    message: str
    code: str


@strawberry.interface(description="An expected failure: nothing was written.")
class Error:
    code: ErrorCodeEnum  # type: ignore[valid-type]
    message: str
    field: str | None = strawberry.field(description="The input field at fault, when there is one.")


@strawberry.type(description="The input failed validation; `problems` lists every problem found.")
class InvalidInputError(Error):
    problems: list[FieldProblem]


@strawberry.type(description="Something the input refers to does not exist in this tenant.")
class NotFoundError(Error):
    pass


@strawberry.type(description="The change conflicts with the current state (duplicate, concurrent change).")
class ConflictError(Error):
    pass


@strawberry.type(description="The idempotencyKey was used before with a different payload.")
class IdempotencyKeyReusedError(Error):
    pass


@strawberry.type(description="A size or count limit was exceeded.")
class LimitExceededError(Error):
    pass


@strawberry.type(description="The subject's current state does not allow this action.")
class InvalidTransitionError(Error):
    pass


@strawberry.type(description="The tenant's policy does not allow this.")
class PolicyViolationError(Error):
    problems: list[FieldProblem]


@strawberry.type(description="The party is under an account restriction.")
class RestrictedError(Error):
    pass


_TYPE_FOR_CODE: dict[ErrorCode, type] = {
    ErrorCode.INVALID_INPUT: InvalidInputError,
    ErrorCode.NOT_FOUND: NotFoundError,
    ErrorCode.CONFLICT: ConflictError,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: IdempotencyKeyReusedError,
    ErrorCode.LIMIT_EXCEEDED: LimitExceededError,
    ErrorCode.INVALID_TRANSITION: InvalidTransitionError,
    ErrorCode.POLICY_VIOLATION: PolicyViolationError,
    ErrorCode.RESTRICTED: RestrictedError,
}

TOP_LEVEL_CODES = {ErrorCode.UNAUTHENTICATED, ErrorCode.FORBIDDEN}


def to_graphql_error(exc: DomainError) -> Any:
    """Map a DomainError to its payload type; permission failures are re-raised as top-level errors."""
    if exc.code in TOP_LEVEL_CODES:
        raise top_level(exc) from exc
    cls = _TYPE_FOR_CODE[exc.code]
    kwargs: dict[str, Any] = {"code": exc.code, "message": exc.message, "field": exc.field}
    if cls in (InvalidInputError, PolicyViolationError):
        kwargs["problems"] = [FieldProblem(field=p.field, message=p.message, code=p.code) for p in exc.problems] or [
            FieldProblem(field=exc.field or "input", message=exc.message, code="invalid")
        ]
    return cls(**kwargs)


def top_level(exc: DomainError) -> GraphQLError:
    return GraphQLError(exc.message, extensions={"code": exc.code.value})


def unlisted_error(value: Any, union: GraphQLUnionType) -> GraphQLError | None:
    """The top-level error for an error member that `union` does not list (None when it lists it, or when
    `value` is no error): its code and field in `extensions`, like FORBIDDEN, instead of a union that
    cannot be resolved and reaches the client as "Unexpected error."."""
    if not isinstance(value, Error):
        return None
    name = get_object_definition(type(value), strict=True).name
    if any(member.name == name for member in union.types):
        return None
    code = ErrorCode(value.code)
    extensions: dict[str, Any] = {"code": code.value}
    if value.field is not None:
        extensions["field"] = value.field
    return GraphQLError(value.message, extensions=extensions)


def listed_errors_only(schema: GraphQLSchema) -> None:
    """Every payload union of `schema` raises an error it has no member for as a top-level error."""
    for graphql_type in schema.type_map.values():
        if not isinstance(graphql_type, GraphQLUnionType):
            continue
        resolve = graphql_type.resolve_type
        if resolve is not None and not getattr(resolve, "listed_errors_only", False):  # once per schema
            graphql_type.resolve_type = _resolve_listed(resolve)


def _resolve_listed(resolve: GraphQLTypeResolver) -> GraphQLTypeResolver:
    def resolve_type(value: Any, info: Any, abstract_type: GraphQLAbstractType) -> Any:
        if isinstance(abstract_type, GraphQLUnionType) and (error := unlisted_error(value, abstract_type)) is not None:
            raise error
        return resolve(value, info, abstract_type)

    resolve_type.listed_errors_only = True  # type: ignore[attr-defined]
    return resolve_type


T = TypeVar("T")


async def payload(call: Callable[[], Awaitable[T]]) -> T | Any:
    """Run a use case; expected errors become payload members."""
    try:
        return await call()
    except DomainError as exc:
        return to_graphql_error(exc)


async def query(call: Callable[[], Awaitable[T]]) -> T:
    """Run a read; expected errors become top-level errors with a code (queries have no payload union)."""
    try:
        return await call()
    except DomainError as exc:
        raise top_level(exc) from exc


def enum_value(value: Enum) -> Any:
    return value
