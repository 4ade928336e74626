"""Schema extensions: limits that keep the validation cache working, one span per operation, masking."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
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
    """One span per GraphQL operation, never per field (per-field spans make lists 5x slower), and
    masking of unexpected errors, in one extension: every extension hook costs per request.

    Over HTTP the operation runs inside the request's SERVER span, one operation per request, so
    that span is the operation's span: it gets the OTel GraphQL attributes instead of a child span
    being created (a span costs ~30 us here). Elsewhere (workers, tests) a span is started. The
    document is never recorded: literals may carry personal data.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [_masked(e) if should_mask(e) else e for e in errors]  # type: ignore[union-attr]

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        op_type = ec.operation_type.value if ec.operation_type else "unknown"
        attributes = {"graphql.operation.type": op_type, "graphql.operation.name": ec.operation_name or ""}
        current = trace.get_current_span()
        if current.is_recording() and getattr(current, "kind", None) is trace.SpanKind.SERVER:
            current.set_attributes(attributes)
            yield
            self._record_errors(current)
            return
        with _tracer.start_as_current_span(f"graphql.{op_type}", attributes=attributes) as span:
            yield
            self._record_errors(span)

    def _record_errors(self, span: trace.Span) -> None:
        result = self.execution_context.result
        if result is not None and result.errors:
            span.set_status(Status(StatusCode.ERROR, "GraphQL errors"))
            span.set_attribute("graphql.error_count", len(result.errors))


def should_mask(error: GraphQLError) -> bool:
    """Mask only unexpected exceptions; our own typed errors and GraphQL validation errors pass."""
    original = error.original_error
    return not (original is None or isinstance(original, (GraphQLError, DomainError)))


def _masked(error: GraphQLError) -> GraphQLError:
    return GraphQLError("Unexpected error.", nodes=error.nodes, source=error.source, positions=error.positions,
                        path=error.path, original_error=None)


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
        OperationSpan,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return extensions
