"""An expected error the mutation's payload union has no member for is a top-level typed error, not a union
that cannot be resolved ("Unexpected error.")."""

from __future__ import annotations

from typing import Annotated

import strawberry
from graphql import GraphQLUnionType, graphql

from api import errors as e
from domain.errors import Conflict, DomainError, InvalidInput


@strawberry.type
class Done:
    ok: bool


Payload = Annotated[Done | e.InvalidInputError, strawberry.union("NarrowPayload")]
RAISES: list[DomainError] = []


@strawberry.type
class Query:
    ping: bool = True


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def act(self) -> Payload:
        async def run() -> Done:
            raise RAISES[0]

        return await e.payload(run)


def _schema() -> strawberry.Schema:
    schema = strawberry.Schema(query=Query, mutation=Mutation, types=[e.ConflictError])
    e.listed_errors_only(schema._schema)
    e.listed_errors_only(schema._schema)  # idempotent: a second Executor on the same schema wraps nothing twice
    return schema


def test_unlisted_error_only_for_an_error_member_the_union_lacks() -> None:
    union = _schema()._schema.type_map["NarrowPayload"]
    assert isinstance(union, GraphQLUnionType)
    conflict = e.to_graphql_error(Conflict("Try again.", field="items"))
    error = e.unlisted_error(conflict, union)
    assert error is not None
    assert (error.message, error.extensions) == ("Try again.", {"code": "CONFLICT", "field": "items"})
    assert e.unlisted_error(e.to_graphql_error(InvalidInput("Bad.", field="x")), union) is None  # a member
    assert e.unlisted_error(Done(ok=True), union) is None  # not an error


async def test_through_graphql_a_listed_error_is_data_an_unlisted_one_top_level() -> None:
    schema = _schema()._schema
    RAISES[:] = [InvalidInput("Bad.", field="x")]
    listed = await graphql(schema, "mutation { act { __typename ... on Error { code } } }")
    assert listed.errors is None and listed.data == {"act": {"__typename": "InvalidInputError", "code": "INVALID_INPUT"}}

    RAISES[:] = [Conflict("Try again.")]
    unlisted = await graphql(schema, "mutation { act { __typename } }")
    assert unlisted.data is None and unlisted.errors is not None
    [error] = unlisted.errors
    assert error.message == "Try again." and error.path == ["act"]
    assert error.formatted["extensions"] == {"code": "CONFLICT"}
    assert isinstance(error.original_error, e.GraphQLError)  # passes api.executor's _visible unmasked
