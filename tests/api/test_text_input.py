"""NUL refused where GraphQL coerces and validates input (api/text_input.py), without a database."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLError, GraphQLID, GraphQLScalarType, GraphQLString, parse, validate

from api.schema import executor, schema
from api.text_input import NulInLiterals, _nul_path, refuse_nul
from domain.errors import NUL_IN_TEXT


def _refusal(call: Any) -> GraphQLError:
    with pytest.raises(GraphQLError) as caught:
        call()
    assert caught.value.extensions == {"code": "INVALID_INPUT"}
    return caught.value


def test_graphql_core_reserves_string_so_the_built_in_scalars_are_wrapped() -> None:
    """Why the built-ins are changed in place: a schema cannot have a String of its own."""
    with pytest.raises(TypeError, match="reserved"):
        GraphQLScalarType("String")
    assert executor.graphql_schema.type_map["String"] is GraphQLString


def test_string_and_id_refuse_nul_and_keep_their_own_coercion() -> None:
    plain = "plain text"
    assert GraphQLString.coerce_input_value(plain) is plain
    assert GraphQLID.coerce_input_value(7) == "7"
    assert _refusal(lambda: GraphQLString.coerce_input_value("a\x00b")).message == NUL_IN_TEXT
    assert _refusal(lambda: GraphQLID.coerce_input_value("\x00")).message == NUL_IN_TEXT
    with pytest.raises(GraphQLError, match="non string value"):
        GraphQLString.coerce_input_value(12)


def test_installing_again_does_not_wrap_twice() -> None:
    before = (GraphQLString.coerce_input_value, schema._schema.type_map["JSON"].coerce_input_value)  # type: ignore[union-attr]
    refuse_nul(schema._schema)
    assert (GraphQLString.coerce_input_value, schema._schema.type_map["JSON"].coerce_input_value) == before  # type: ignore[union-attr]


def test_json_values_are_walked_for_nul_in_keys_and_strings() -> None:
    json = schema._schema.type_map["JSON"]
    assert isinstance(json, GraphQLScalarType)
    document = {"a": [1, {"b": "ok"}], "c": True}
    assert json.coerce_input_value(document) is document
    assert _nul_path({"a": [1, {"b": "x\x00"}]}) == ["a", 1, "b"]
    assert _nul_path({"k\x00": 1}) == ["k\\u0000"]
    assert _nul_path("\x00") == []
    deep: Any = "\x00"
    for _ in range(5000):  # deeper than the interpreter's recursion limit
        deep = [deep]
    assert _nul_path(deep) == [0] * 5000
    message = _refusal(lambda: json.coerce_input_value({"rules": [{"note": "\x00"}]})).message
    assert message == f"{NUL_IN_TEXT} Found at 'rules.0.note'."


async def test_a_nul_variable_refuses_the_operation_before_any_resolver_runs() -> None:
    item = {"complainantId": "UGFydHk6MQ==", "ipRightId": "SXBSaWdodDox", "reasonCode": "r"}
    variables = {"i": {"notices": [item, {**item, "evidence": [{"kind": "k", "description": "a\x00"}]}]}}
    body = await executor.run("mutation($i: SubmitNoticesInput!) { submitNotices(input: $i) { __typename } }",
                              None, variables)  # no context: nothing may need one
    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"] == f"Variable '$i' has invalid value at .notices[1].evidence[0].description: {NUL_IN_TEXT}"
    assert error["extensions"] == {"code": "INVALID_INPUT"}


@pytest.mark.parametrize(("literal", "message"), [
    ('{ parties(after: "\\u0000") { edges { cursor } } }', "Argument 'after' has invalid value: "),
    ('{ parties(filter: {externalRef: "a\\u0000"}) { edges { cursor } } }',
     "Argument 'filter' has invalid value at .externalRef: "),
    ('mutation { upsertListings(input: {items: [{externalId: "e", url: "u", title: "t", merchantRef: "m"},'
     ' {externalId: "e", url: "u", title: "\\u0000", merchantRef: "m"}]}) { __typename } }',
     "Argument 'input' has invalid value at .items[1].title: "),
    ('{ validatePolicy(document: {a: {b: ["x", "\\u0000"]}}) { field } }',
     "Argument 'document' has invalid value at .a.b[1]: "),
    ('query($a: String = "\\u0000") { parties(after: $a) { edges { cursor } } }',
     "Variable '$a' has invalid default value: "),
])
def test_a_nul_literal_is_one_validation_error_naming_where_it_is(literal: str, message: str) -> None:
    [error] = executor.prepare(literal).errors
    assert error.message == message + NUL_IN_TEXT
    assert error.extensions == {"code": "INVALID_INPUT"}
    assert error.locations


def test_literals_without_nul_pass_the_rule() -> None:
    document = parse('{ parties(filter: {externalRef: "a\\u0001b"}) { edges { cursor } } }')
    assert validate(schema._schema, document, [NulInLiterals]) == []
