"""Serving plain data without per-field resolver work.

A full explanation is thousands of fields (a 5-member household: ~85 outcomes, each with
reasons, conditions and citations). Profiling showed graphql-core's per-field machinery
(resolve info, resolver call, completion) costing ~6 µs a field, twenty times the determination
itself. The engine's results are immutable plain data, so for the types listed in ``PLAIN`` this
execution context projects the selection straight from the data: fields are still collected by
graphql-core (fragments, aliases, ``@skip``/``@include``), arguments still coerced by it, and
leaves still serialised by the schema's own scalars and enums; only the per-field resolver and
completion calls are skipped. A type whose selection names a field not listed here (say a
field with its own resolver) is executed the ordinary way. ``tests/api/test_projection.py``
checks that both paths give identical responses for generated selections.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from enum import Enum
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from graphql.execution.values import get_argument_values
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

Getter = Callable[[Any, Mapping[str, Any]], Any]


def _arg(args: Mapping[str, Any], name: str) -> str | None:
    value = args.get(name)
    if value is None:
        return None
    return str(value.value if isinstance(value, Enum) else value)


def _lang(args: Mapping[str, Any]) -> str:
    return _arg(args, "lang") or "ZH"


def _status_filter(outcomes: Any, args: Mapping[str, Any]) -> list[Any]:
    status = _arg(args, "status")
    return [o for o in outcomes if status is None or o.status.value == status]


def _attr(name: str) -> Getter:
    return lambda source, args: getattr(source, name)


PLAIN: dict[str, dict[str, Getter]] = {
    "Determination": {
        "asOf": _attr("as_of"),
        "flaggedForMonitoring": _attr("flagged_for_monitoring"),
        "flaggedBy": _attr("flagged_by"),
        "programs": _attr("programs_all"),
        "outcomes": lambda d, args: _status_filter(d.outcomes(), args),
    },
    "ProgramResult": {
        "program": _attr("program"),
        "ruleSetVersion": _attr("version"),
        "outcomes": lambda p, args: _status_filter(p.outcomes_all, args),
    },
    "Outcome": {
        "code": _attr("code"),
        "title": lambda o, args: o.title(_lang(args)),
        "memberId": _attr("member_id"),
        "status": _attr("status"),
        "amount": _attr("amount"),
        "period": _attr("period"),
        "terms": _attr("terms"),
        "reasons": _attr("reasons"),
        "missingFacts": _attr("missing_facts"),
    },
    "Term": {"key": _attr("key"), "value": _attr("value"), "unit": _attr("unit")},
    "Reason": {
        "ruleId": _attr("rule_id"),
        "text": lambda r, args: r.text(_lang(args)),
        "citation": _attr("citation"),
        "conditions": _attr("conditions"),
    },
    "Citation": {name: _attr(name) for name in ("document", "clause", "quote", "url")},
    "ConditionCheck": {name: _attr(name) for name in ("expression", "actual", "expected",
                                                       "passed")},
    "RuleSetVersion": {
        "id": _attr("id"),
        "ruleSet": _attr("rule_set"),
        "version": _attr("version"),
        "status": _attr("status"),
        "effectiveFrom": _attr("effective_from"),
        "effectiveTo": _attr("effective_to"),
        "contentHash": _attr("content_hash"),
    },
}

_IDENTITY_SCALARS = {"String": str, "Boolean": bool, "ID": str}


def _constant(value: Any) -> Getter:
    return lambda source, args: value


def _same(value: Any) -> Any:
    return value


_Entry = tuple[str, Getter, Mapping[str, Any], Callable[[Any], Any]]

# Projected reasons are shared between requests: a reason object is the explainer's memoised
# value (the same object for every household with the same values), and its projection depends
# only on the selection (the plan's signature). Bounded; an entry keeps its reason alive so the
# id in its key is not reused.
SHARED_TYPES = frozenset({"Reason"})
_SHARED: dict[tuple[int, Hashable], tuple[Any, dict[str, Any]]] = {}
SHARED_LIMIT = 50_000
# The signature of a selection that includes an object served the ordinary way: such a
# projection depends on more than the selection, and is never shared.
_UNSHAREABLE: Hashable = object()


class _Plan:
    __slots__ = ("entries", "shared", "signature")

    def __init__(self, entries: list[_Entry], signature: Hashable, shared: bool):
        self.entries = entries
        self.signature = signature
        self.shared = shared


class ProjectingExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Plans per grouped field set (graphql-core memoises those by identity, so every item
        # of a list shares one); the entry keeps the set alive so its id is not reused.
        self._plans: dict[int, tuple[object, _Plan | None]] = {}

    def execute_fields(  # type: ignore[override]
        self, parent_type: GraphQLObjectType, source_value: Any, path: Any,
        grouped_field_set: dict[str, Any], position_context: Any,
    ) -> Any:
        plan = self._plan(parent_type, grouped_field_set)
        if plan is None:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set,
                                          position_context)
        return _run(plan, source_value)

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: dict[str, Any],
              ) -> _Plan | None:
        hit = self._plans.get(id(grouped_field_set))
        if hit is not None and hit[0] is grouped_field_set:
            return hit[1]
        plan = self._make_plan(parent_type, grouped_field_set)
        self._plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return plan

    def _make_plan(self, parent_type: GraphQLObjectType, grouped_field_set: dict[str, Any],
                   ) -> _Plan | None:
        getters = PLAIN.get(parent_type.name)
        if getters is None:
            return None
        entries: list[_Entry] = []
        signature: list[Hashable] = [parent_type.name]
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            name = node.name.value
            if name == "__typename":
                entries.append((response_name, _constant(parent_type.name), {}, _same))
                signature.append((response_name, name))
                continue
            getter = getters.get(name)
            if getter is None:
                return None  # not plain data: the whole object takes the ordinary path
            field_def = parent_type.fields[name]
            args = (get_argument_values(field_def, node, self.variable_values)
                    if field_def.args else {})
            completer = self._completer(field_def.type, field_details_list)
            if completer is None:
                return None
            complete, sub_signature = completer
            entries.append((response_name, getter, args, complete))
            signature.append((response_name, name, _frozen(args), sub_signature))
        if any(part is _UNSHAREABLE or (isinstance(part, tuple) and _UNSHAREABLE in part)
               for part in signature):
            return _Plan(entries, _UNSHAREABLE, False)
        return _Plan(entries, tuple(signature), parent_type.name in SHARED_TYPES)

    def _completer(self, gql_type: Any, field_details_list: Any,
                   ) -> tuple[Callable[[Any], Any], Hashable] | None:
        if isinstance(gql_type, GraphQLNonNull):
            gql_type = gql_type.of_type
        if isinstance(gql_type, GraphQLList):
            inner = self._completer(gql_type.of_type, field_details_list)
            if inner is None:
                return None
            item, sub = inner
            return (lambda value: None if value is None else [item(v) for v in value]), sub
        if isinstance(gql_type, GraphQLScalarType):
            serialize = gql_type.serialize
            plain = _IDENTITY_SCALARS.get(gql_type.name)
            if plain is not None:
                return (lambda value: value if value is None or type(value) is plain
                        else serialize(value)), None
            return (lambda value: None if value is None else serialize(value)), None
        if isinstance(gql_type, GraphQLEnumType):
            enum_serialize = gql_type.serialize
            return (lambda value: None if value is None else enum_serialize(value)), None
        if isinstance(gql_type, GraphQLObjectType):
            sub = self.collect_subfields(gql_type, field_details_list).grouped_field_set
            plan = self._plan(gql_type, sub)
            if plan is None:
                object_type = gql_type

                def complete_ordinary(value: Any) -> Any:
                    if value is None:
                        return None
                    return self.execute_fields(object_type, value, None, sub, None)

                return complete_ordinary, _UNSHAREABLE
            sub_plan = plan
            return (lambda value: None if value is None else _run(sub_plan, value)), \
                sub_plan.signature
        raise TypeError(f"no projection for {gql_type}")  # pragma: no cover


def _run(plan: _Plan, source: Any) -> dict[str, Any]:
    if plan.shared:
        key = (id(source), plan.signature)
        hit = _SHARED.get(key)
        if hit is not None and hit[0] is source:
            return hit[1]
    out = {name: complete(getter(source, args)) for name, getter, args, complete in plan.entries}
    if plan.shared:
        if len(_SHARED) >= SHARED_LIMIT:
            _SHARED.clear()
        _SHARED[key] = (source, out)
    return out


def _frozen(args: Mapping[str, Any]) -> Hashable:
    return tuple(sorted((k, v.value if isinstance(v, Enum) else v) for k, v in args.items()))
