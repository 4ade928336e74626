"""Input objects built from a conversion plan made once per input type.

Strawberry turns a coerced GraphQL input value into its input classes field by field, resolving
each field's annotation and GraphQL name again for every value: ~0.4 ms per notice in a
1,000-notice `submitNotices` call, more than the use case itself. Strawberry's documented hook for
integrations, `StrawberryObjectDefinition.from_input`, lets a type build its own values; here every
input type of a schema gets a builder that resolves its fields once and then only copies values.
Types the plan does not understand (e.g. `Maybe`) fall back to strawberry's own conversion.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any

import strawberry
from graphql import GraphQLInputObjectType
from strawberry.relay import GlobalID
from strawberry.relay.types import GlobalIDValueError, InvalidGlobalIDError
from strawberry.scalars import is_scalar
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryObjectDefinition,
    StrawberryOptional,
    StrawberryType,
    has_object_definition,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.scalar import ScalarDefinition, ScalarWrapper
from strawberry.types.unset import UNSET

Convert = Callable[[Any, InputContext], Any]


def _same(value: Any, context: InputContext) -> Any:
    return value


def _global_id(value: Any, context: InputContext) -> Any:
    try:
        return GlobalID.from_id(value)
    except GlobalIDValueError as error:  # as strawberry reports it
        raise InvalidGlobalIDError(f'Value cannot represent a GlobalID: "{value}".') from error


class _Planner:
    def __init__(self, schema: strawberry.Schema) -> None:
        self.scalars: Mapping[object, ScalarWrapper | ScalarDefinition] = schema.schema_converter.scalar_registry
        self.name_of = schema.config.name_converter.from_field
        self.plans: dict[type, tuple[tuple[str, str, Convert], ...]] = {}
        self.implicit_none: dict[type, tuple[str, ...]] = {}

    def install(self, definition: StrawberryObjectDefinition) -> None:
        definition.from_input = self.build

    def build(self, cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
        plan = self.plans.get(cls)
        if plan is None:
            plan = self._plan(cls)
        kwargs: dict[str, Any] = dict.fromkeys(self.implicit_none[cls])
        for graphql_name, python_name, convert in plan:
            if graphql_name in value:
                item = value[graphql_name]
                kwargs[python_name] = None if item is None else (UNSET if item is UNSET else convert(item, context))
        return cls(**kwargs)

    def _plan(self, cls: type) -> tuple[tuple[str, str, Convert], ...]:
        definition: StrawberryObjectDefinition = cls.__strawberry_definition__  # type: ignore[attr-defined]
        plan = tuple(
            (self.name_of(f), f.python_name, self._converter(f.resolve_type(type_definition=definition)))
            for f in definition.fields
        )
        # Like strawberry: nullable fields without a default start as None (required ones are present).
        self.implicit_none[cls] = tuple(f.python_name for f in definition.fields
                                        if f.default_value is MISSING and f.default_factory is MISSING)
        self.plans[cls] = plan
        return plan

    def _converter(self, type_: StrawberryType | type) -> Convert:
        if isinstance(type_, StrawberryMaybe):
            return lambda value, context: context.convert(value, type_)
        if isinstance(type_, StrawberryOptional):
            return self._converter(type_.of_type)  # None is handled by the caller and the list builder
        if isinstance(type_, StrawberryList):
            inner = self._converter(type_.of_type)
            if inner is _same:
                return lambda value, context: list(value)  # a copy: graphql-core shares defaults
            return lambda value, context: [None if v is None else inner(v, context) for v in value]
        if type_ is GlobalID:
            return _global_id
        if is_scalar(type_, self.scalars) or isinstance(type_, StrawberryEnumDefinition) or has_enum_definition(type_):
            return _same  # graphql-core has parsed the value already
        if has_object_definition(type_) and type_.__strawberry_definition__.from_input == self.build:
            builder = self.build
            return lambda value, context: builder(type_, value, context)
        return lambda value, context: context.convert(value, type_)


def plan_input_conversion(schema: strawberry.Schema) -> None:
    """Give every input type of `schema` a plan-based builder (see the module docstring)."""
    planner = _Planner(schema)
    for graphql_type in schema._schema.type_map.values():
        if isinstance(graphql_type, GraphQLInputObjectType):
            definition = (graphql_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if isinstance(definition, StrawberryObjectDefinition) and definition.from_input is None:
                planner.install(definition)
