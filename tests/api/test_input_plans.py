"""The plan-based input builder (api/inputs.py) must build exactly what strawberry's own conversion builds."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from graphql import GraphQLInputObjectType
from graphql.utilities import coerce_input_value
from strawberry.relay import GlobalID
from strawberry.relay.types import InvalidGlobalIDError
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_argument

from api.case_graphql import AcceptCaseInput, SubmitNoticesInput
from api.schema import schema
from domain.policy import MeasureType as DomainMeasureType

NOTICE = {
    "complainantId": "UGFydHk6MQ==", "ipRightId": "SXBSaWdodDox", "reasonCode": "counterfeit",
    "listingIds": ["TGlzdGluZzox"], "listingExternalIds": ["sku-1", "sku-2"],
    "evidence": [{"kind": "registration_certificate", "uri": "https://e.example/c.pdf"}, {"kind": "test_purchase"}],
    "statements": {"goodFaith": True}, "idempotencyKey": "k-1",
}


def _both(cls: type, value: dict[str, Any]) -> tuple[Any, Any]:
    graphql_type = schema._schema.get_type(cls.__strawberry_definition__.name)  # type: ignore[attr-defined]
    assert isinstance(graphql_type, GraphQLInputObjectType)
    coerced = coerce_input_value(value, graphql_type)
    definition = graphql_type.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    planned = convert_argument(coerced, cls, schema.schema_converter.scalar_registry, schema.config)
    builder, definition.from_input = definition.from_input, None
    try:
        reference = convert_argument(coerced, cls, schema.schema_converter.scalar_registry, schema.config)
    finally:
        definition.from_input = builder
    assert builder is not None, "the executor installed a plan for this type"
    return planned, reference


@pytest.mark.parametrize("notice", [NOTICE, {k: v for k, v in NOTICE.items() if k in
                                             ("complainantId", "ipRightId", "reasonCode")},
                                    dict(NOTICE, agentId=None, statements=None, signature="S")])
def test_nested_lists_optionals_and_defaults_match_strawberry(notice: dict[str, Any]) -> None:
    planned, reference = _both(SubmitNoticesInput, {"notices": [notice, notice]})
    assert planned == reference
    assert planned.notices[0] is not planned.notices[1]


def test_enums_dates_and_ids_match_strawberry() -> None:
    planned, reference = _both(AcceptCaseInput, {"caseId": "Q2FzZTox", "measures": [
        {"type": "REMOVE", "territorialScope": ["CN"], "endDate": "2027-01-31"}]})
    assert planned == reference
    assert planned.measures[0].type is DomainMeasureType.REMOVE
    assert planned.measures[0].end_date == date(2027, 1, 31)


def test_list_defaults_are_copies() -> None:
    first, _ = _both(SubmitNoticesInput, {"notices": [{"complainantId": "a", "ipRightId": "b", "reasonCode": "c"}]})
    first.notices[0].listing_external_ids.append("mutated")
    second, _ = _both(SubmitNoticesInput, {"notices": [{"complainantId": "a", "ipRightId": "b", "reasonCode": "c"}]})
    assert second.notices[0].listing_external_ids == []


def test_global_id_errors_are_strawberry_s() -> None:
    from api.inputs import _global_id

    assert _global_id("UGFydHk6MQ==", None) == GlobalID("Party", "1")  # type: ignore[arg-type]
    with pytest.raises(InvalidGlobalIDError):
        _global_id("not-an-id", None)  # type: ignore[arg-type]

