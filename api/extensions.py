"""Schema extensions: limits that keep the validation cache working, and one span per operation."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from domain.errors import DomainError

_tracer = trace.get_tracer("noticehub.graphql")


class OperationSpan(SchemaExtension):
    """One span per GraphQL operation (not per field: per-field spans make lists 5x slower).

    Follows the OTel GraphQL conventions; the document is not recorded because literals may carry
    personal data.
    """

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        op_type = ec.operation_type.value if ec.operation_type else "unknown"
        with _tracer.start_as_current_span(
            f"graphql.{op_type}",
            attributes={"graphql.operation.type": op_type, "graphql.operation.name": ec.operation_name or ""},
        ) as span:
            yield
            result = ec.result
            if result is not None and result.errors:
                span.set_status(Status(StatusCode.ERROR, "GraphQL errors"))
                span.set_attribute("graphql.error_count", len(result.errors))


def should_mask(error: GraphQLError) -> bool:
    """Mask only unexpected exceptions; our own typed errors and GraphQL validation errors pass."""
    original = error.original_error
    return not (original is None or isinstance(original, (GraphQLError, DomainError)))


def limit_rules(max_depth: int, max_aliases: int) -> list[type]:
    return list(QueryDepthLimiter(max_depth=max_depth).validation_rules) + list(
        MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules
    )


def build_extensions(max_depth: int, max_aliases: int, max_tokens: int, *, introspection: bool = True) -> list[object]:
    # The limiter rule classes are built once; a fresh class per request would defeat ValidationCache.
    rules = limit_rules(max_depth, max_aliases)
    extensions: list[object] = [
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: MaskErrors(should_mask_error=should_mask, error_message="Unexpected error."),
        OperationSpan,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return extensions
