"""The one way GraphQL operations run: documents parsed and validated once, executed by graphql-core.

Strawberry builds the schema and its resolvers; running an operation through `strawberry.Schema.execute`
adds an extension runner (hook objects, context managers) that cost about twice graphql-core's own
execution for small operations. Everything those extensions did for us fits in one place here: a
cache of parsed, validated documents (limits are validation rules, so a cached document has passed
them), one span's attributes per operation, logging and masking of unexpected errors. An expected error
the field's payload union has no member for is raised as a top-level typed error (api.errors). Input text
holding NUL is refused by coercion and validation (api.text_input) before anything runs.
See docs/decisions/0010-graphql-core-execution.md.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard, cast

import strawberry
from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    execute,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

from api.errors import listed_errors_only
from api.inputs import plan_input_conversion
from api.text_input import NulInLiterals, refuse_nul
from domain.errors import DomainError

log = logging.getLogger("noticehub.graphql")
_tracer = trace.get_tracer("noticehub.graphql")
_CACHEABLE_CHARS = 16_384  # larger documents (rare, and a way to fill memory) are prepared every time
# strawberry's check is cheaper than inspect.isawaitable for the common plain values.
_is_awaitable = cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", optimized_is_awaitable)


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int
    max_aliases: int
    max_tokens: int
    introspection: bool


def limit_rules(max_depth: int, max_aliases: int) -> list[type[ASTValidationRule]]:
    """Depth and alias limits as plain validation rules, built once (a new class per request would
    make every document look new to a cache)."""
    return list(QueryDepthLimiter(max_depth=max_depth).validation_rules) + list(
        MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules
    )


@dataclass(frozen=True, slots=True)
class _Prepared:
    document: DocumentNode | None
    errors: Sequence[GraphQLError]
    operation_types: dict[str | None, str]  # operation name (None: the only one) -> query/mutation/...


class Executor:
    def __init__(self, schema: strawberry.Schema, limits: Limits, cache_size: int = 512) -> None:
        self.schema = schema
        self.graphql_schema = schema._schema
        plan_input_conversion(schema)
        refuse_nul(self.graphql_schema)
        listed_errors_only(self.graphql_schema)
        self.limits = limits
        self.rules = [*specified_rules, *limit_rules(limits.max_depth, limits.max_aliases), NulInLiterals]
        if not limits.introspection:
            self.rules.append(NoSchemaIntrospectionCustomRule)
        self.cache_size = cache_size
        self._cache: OrderedDict[str, _Prepared] = OrderedDict()

    def prepare(self, query: str) -> _Prepared:
        """Parse and validate once per distinct document (LRU); errors are cached too."""
        cached = self._cache.get(query)
        if cached is not None:
            self._cache.move_to_end(query)
            return cached
        try:
            document = parse(query, max_tokens=self.limits.max_tokens)
        except GraphQLError as error:
            prepared = _Prepared(None, [error], {})
        else:
            errors = validate(self.graphql_schema, document, self.rules)
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            types: dict[str | None, str] = {
                (op.name.value if op.name else None): op.operation.value for op in operations
            }
            if len(operations) == 1:
                types[None] = operations[0].operation.value
            prepared = _Prepared(None if errors else document, errors, types)
        if len(query) <= _CACHEABLE_CHARS:  # bounded memory: 512 entries of at most 16k characters
            self._cache[query] = prepared
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return prepared

    async def run(
        self, query: str, context: Any, variables: dict[str, Any] | None = None, operation_name: str | None = None
    ) -> dict[str, Any]:
        """Execute and return the response body (`data`, and `errors` when any)."""
        prepared = self.prepare(query)
        op_type = prepared.operation_types.get(operation_name, "unknown")
        attributes = {"graphql.operation.type": op_type, "graphql.operation.name": operation_name or ""}
        current = trace.get_current_span()
        # Over HTTP the request's SERVER span is the operation's span (one operation per request):
        # a child span per operation would cost more than this query's execution.
        if current.is_recording() and getattr(current, "kind", None) is trace.SpanKind.SERVER:
            current.set_attributes(attributes)
            return await self._run(prepared, current, context, variables, operation_name)
        with _tracer.start_as_current_span(f"graphql.{op_type}", attributes=attributes) as span:
            return await self._run(prepared, span, context, variables, operation_name)

    async def _run(self, prepared: _Prepared, span: trace.Span, context: Any, variables: dict[str, Any] | None,
                   operation_name: str | None) -> dict[str, Any]:
        if prepared.document is None:
            errors: Sequence[GraphQLError] = prepared.errors
            data = None
        else:
            outcome = execute(self.graphql_schema, prepared.document, context_value=context,
                              variable_values=variables, operation_name=operation_name,
                              executor_class=self.schema.execution_context_class,
                              is_awaitable=_is_awaitable)
            result = cast(ExecutionResult, await outcome if _is_awaitable(outcome) else outcome)
            data, errors = result.data, result.errors or ()
        body: dict[str, Any] = {"data": data}
        if errors:
            span.set_status(Status(StatusCode.ERROR, "GraphQL errors"))
            span.set_attribute("graphql.error_count", len(errors))
            body["errors"] = [_visible(error).formatted for error in errors]
        return body


def _visible(error: GraphQLError) -> GraphQLError:
    """Our typed errors and GraphQL's own pass as they are; anything unexpected is logged with its
    traceback and reaches the client only as "Unexpected error."."""
    original = error.original_error
    if original is None or isinstance(original, (GraphQLError, DomainError)):
        log.debug("graphql error: %s", error.message)
        return error
    log.error("unexpected error in GraphQL execution", exc_info=original)
    return GraphQLError("Unexpected error.", nodes=error.nodes, source=error.source, positions=error.positions,
                        path=error.path, original_error=None)
