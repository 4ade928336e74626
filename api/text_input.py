"""NUL (U+0000) in input text is refused where the text enters, with a typed error naming the field.

PostgreSQL stores no NUL in text or jsonb: such a value used to travel to the database and fail there as
"Unexpected error." (and fail a whole batch). Here it is refused before any use case runs:

- GraphQL variables: by the String and ID scalars' input coercion. graphql-core 3.3 reserves the names of
  its built-in scalars (`GraphQLNamedType.reserved_types`: "Redefinition of reserved type 'String'"), so
  neither strawberry's `scalar_overrides` nor a copy can give a schema a String of its own; the built-in
  scalars' coercion is replaced instead, once per process (which serves only our schemas). The check is one
  `in` per string: `submitNotices` coerces ~10,000 strings a call.
- JSON variables (policy documents): by the schema's own JSON scalar, which is walked for NUL in keys and values.
- Literals in a document, of any type: by a validation rule, so once per distinct document (documents are
  validated once and cached, api.executor).
- The public HTTP routes' path and query parameters: `check_parameters`.

Errors carry `extensions.code` INVALID_INPUT and say where the NUL is, as graphql-core words its own
coercion errors ("Variable '$input' has invalid value at .notices[3].explanation: ...").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    ArgumentNode,
    ASTValidationRule,
    GraphQLError,
    GraphQLID,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    ListValueNode,
    Node,
    ObjectFieldNode,
    StringValueNode,
    VariableDefinitionNode,
    value_from_ast_untyped,
)
from graphql.pyutils import print_path_list
from starlette.requests import Request

from domain.errors import NUL_IN_TEXT, ErrorCode, InvalidInput

NUL = "\x00"
_MARK = "_refuses_nul"  # set on installed coercers, so installing twice changes nothing

Coercer = Callable[[Any], Any]


def _refused(message: str = NUL_IN_TEXT, node: Node | None = None) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": ErrorCode.INVALID_INPUT.value})


def _text_coercer(builtin: Coercer) -> Coercer:
    """graphql-core's own coercion (and its errors for non-strings), refusing strings that hold a NUL."""

    def coerce(value: Any) -> Any:
        if value.__class__ is str and NUL not in value:  # the common case: as cheap as the built-in check
            return value
        coerced = builtin(value)
        if isinstance(coerced, str) and NUL in coerced:
            raise _refused()
        return coerced

    setattr(coerce, _MARK, True)
    return coerce


def _nul_path(value: Any) -> list[str | int] | None:
    """Where the first NUL is in a JSON value (a key or a string), or None. Iterative: JSON nests deeply."""
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return path
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and NUL in key:
                    return [*path, key.replace(NUL, "\\u0000")]
                stack.append((child, [*path, key]))
        elif isinstance(item, list):
            stack.extend((child, [*path, n]) for n, child in enumerate(item))
    return None


def _json_coercer(builtin: Coercer) -> Coercer:
    def coerce(value: Any) -> Any:
        path = _nul_path(value)
        if path is not None:
            where = ".".join(map(str, path))
            raise _refused(f"{NUL_IN_TEXT} Found at '{where}'." if where else NUL_IN_TEXT)
        return builtin(value)

    setattr(coerce, _MARK, True)
    return coerce


def _install(scalar: GraphQLScalarType, wrap: Callable[[Coercer], Coercer]) -> Coercer | None:
    """Wrap the scalar's variable coercion; returns the built-in one (None when installed already)."""
    builtin = scalar.coerce_input_value
    if getattr(builtin, _MARK, False):
        return None
    scalar.coerce_input_value = wrap(builtin)  # graphql-core 3.3 coerces only through this (parse_value is unused)
    return builtin


def refuse_nul(schema: GraphQLSchema) -> None:
    """Make variable coercion refuse NUL in String, ID and this schema's JSON values."""
    _install(GraphQLString, _text_coercer)  # their literals have coercers of their own, left as they are
    _install(GraphQLID, _text_coercer)
    json = schema.type_map.get("JSON")
    if isinstance(json, GraphQLScalarType) and (builtin := _install(json, _json_coercer)) is not None:
        # By default a JSON literal is coerced through coerce_input_value too; NulInLiterals reports its strings
        # (naming the argument), so here it is coerced as before, or every NUL would be reported twice.
        json.coerce_input_literal = lambda node: builtin(value_from_ast_untyped(node))


class NulInLiterals(ASTValidationRule):
    """A string literal holding a NUL (in an argument, a default value or a JSON literal) is refused."""

    def enter_string_value(self, node: StringValueNode, _key: Any, parent: Any, path: Any, ancestors: Any) -> None:
        if NUL in node.value:
            self.report_error(_refused(_literal_message([*ancestors, parent, node], list(path)), node))


def _literal_message(nodes: list[Any], keys: list[Any]) -> str:
    """Where the literal is, in graphql-core's words: "Argument 'input' has invalid value at .items[0].name".

    `nodes` runs from the document to the literal; `keys[n]` is the key in `nodes[n]` that leads to `nodes[n + 1]`.
    """
    subject, where = "", list[str | int]()
    for n, node in enumerate(nodes):
        if isinstance(node, ArgumentNode):
            subject, where = f"Argument '{node.name.value}' has invalid value", []
        elif isinstance(node, VariableDefinitionNode):
            subject, where = f"Variable '${node.variable.name.value}' has invalid default value", []
        elif isinstance(node, ObjectFieldNode):
            where.append(node.name.value)
        elif isinstance(node, ListValueNode):
            where.append(keys[n + 1])  # the index of the item within `values`, next in the visitor's path
    return f"{subject}{print_path_list(where)}: {NUL_IN_TEXT}" if subject else NUL_IN_TEXT


def check_parameters(request: Request) -> None:
    """A NUL in a path or query parameter is an input error naming the parameter (before any lookup)."""
    for name, value in (*request.path_params.items(), *request.query_params.multi_items()):
        if isinstance(value, str) and NUL in value:
            raise InvalidInput(f"Parameter '{name}': {NUL_IN_TEXT}", name)
