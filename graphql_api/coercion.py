"""When variables do not coerce, the household validation's problems too.

graphql-core coerces an operation's variables before anything runs: a household given in a
variable with an unknown key, a value outside an enum (``HouseholdFactsInput``) or a value of
the wrong type is refused with graphql-core's ``BAD_USER_INPUT`` errors, one per problem it
finds, and the household validation never sees it, so its other problems (negative money, a
birth date after ``asOf``, contradictory facts) would wait for the next try. Here, when the
variables do not coerce, each household a root field's argument takes from a variable
(``evaluate``'s and ``householdSave``'s ``household`` or ``facts``, ``evaluateMany``'s items)
is validated as household JSON (``policy.facts.parse_household``, which reports every problem
at once) as of the field's ``asOf`` (the item's for ``evaluateMany``; today where the field
takes none), and the answer gets one more error, ``INVALID_FACTS``, whose ``extensions.errors``
list every problem with its field path (``facts.members[0].relation``,
``items[2].facts.annualNetIncome``) and code, as an ``INVALID_FACTS`` of the evaluation does.
graphql-core's own errors come first, unchanged.

Authentication first, then the role, then validation: a caller who may not run the operation
at all learns nothing from its variables. When they do not coerce, a caller without a valid
token (anonymous outside ``dev``, or for a mutation or subscription in any environment, or an
unknown or revoked token) gets ``UNAUTHENTICATED`` alone, and a caller whose role may not run a
root field that takes a household (``householdSave`` for any role but a caseworker) gets that
field's ``FORBIDDEN`` alone, instead of the coercion errors and the household's problems.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLSchema,
    OperationType,
    StringValueNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
)

from graphql_api.errors import service_error
from graphql_api.variables import CompiledVariablesExecutionContext
from graphql_api.what_if import WhatIfCount, counting, what_if_refusal
from policy.errors import FactsInvalid, FieldError
from policy.facts import parse_household
from services.auth import INVALID_ROLE, Policy, Principal
from services.errors import ServiceError

HOUSEHOLD_TYPES = frozenset({"HouseholdInput", "HouseholdFactsInput"})
_ITEM_FIELDS = ("household", "facts")
# The root fields that take households, with the access check each resolver makes first.
_ACCESS: dict[str, Callable[[Policy, Principal], None]] = {
    "evaluate": Policy.evaluate,
    "evaluateMany": Policy.evaluate,
    "householdSave": Policy.write_households,
}


class HouseholdCheckingExecutionContext(CompiledVariablesExecutionContext):
    """The execution context that adds the household validation's problems to the errors of
    variables that do not coerce, and refuses an operation that asks ``whatWouldChange`` of
    more households than ``max_what_if_items`` (``graphql_api.what_if``) before it runs; while
    it runs, whatever the route, ``whatWouldChange`` is computed for at most that many."""

    @classmethod
    def build(cls, schema: GraphQLSchema, document: DocumentNode, root_value: Any = None,
              context_value: Any = None, raw_variable_values: dict[str, Any] | None = None,
              operation_name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        built = super().build(schema, document, root_value, context_value,
                              raw_variable_values, operation_name, *args, **kwargs)
        if isinstance(built, list):
            refused = refusal(document, operation_name, context_value)
            if refused is not None:
                return [refused]
        if isinstance(built, list) and raw_variable_values:
            today = getattr(context_value, "today", None) or date.today()
            problems = household_problems(schema, document, operation_name,
                                          raw_variable_values, today)
            if problems:
                return [*built, invalid_facts(problems)]
        if not isinstance(built, list):
            app = getattr(context_value, "app", None)
            limit = getattr(getattr(app, "settings", None), "max_what_if_items", None)
            if limit is not None:
                refused = what_if_refusal(built, limit)
                if refused is not None:
                    return [refused]
        return built

    def execute_operation(self, serially: bool | None = None) -> Any:
        # One count an execution: a request's operation, or one event of a subscription
        # (graphql-core builds an executor for each and runs this).
        limit = getattr(getattr(getattr(self.context_value, "app", None), "settings", None),
                        "max_what_if_items", None)
        if limit is None:
            return super().execute_operation(serially)
        count = WhatIfCount(limit)
        with counting(count):
            result = super().execute_operation(serially)
        if self.is_awaitable(result):
            return self._counted_while(result, count)
        return result

    async def _counted_while(self, result: Any, count: WhatIfCount) -> Any:
        with counting(count):
            return await result


def refusal(document: DocumentNode, operation_name: str | None,
            context: Any) -> GraphQLError | None:
    """The access refusal that answers an operation whose variables do not coerce, if the
    caller may not run it (None: the coercion errors are theirs to see)."""
    principal = getattr(context, "principal", None)
    app = getattr(context, "app", None)
    operation = get_operation_ast(document, operation_name)
    if not isinstance(principal, Principal) or app is None or operation is None:
        return None
    policy: Policy = app.policy
    authorization: str = getattr(context, "authorization", "")
    if (operation.operation is OperationType.SUBSCRIPTION and principal.anonymous
            and authorization):
        return None  # its token is looked up when it starts (graphql_api.warning._subscriber)
    try:
        # Anonymous callers may run queries (evaluate, rule sets) in dev only.
        anonymous_allowed = policy.dev and operation.operation is OperationType.QUERY
        if principal.role == INVALID_ROLE or (principal.anonymous and not anonymous_allowed):
            policy.require_token(principal)
        for node in operation.selection_set.selections:
            if isinstance(node, FieldNode) and node.name.value in _ACCESS:
                _ACCESS[node.name.value](policy, principal)
    except ServiceError as exc:
        return service_error(exc)
    return None


def invalid_facts(problems: list[FieldError]) -> GraphQLError:
    """The problems as the API's ``INVALID_FACTS`` error."""
    return GraphQLError(
        f"the household facts are not valid: {len(problems)} problems",
        extensions={"code": "INVALID_FACTS", "params": {"count": len(problems)},
                    "errors": [{"field": e.field, "code": e.code, "message": e.message}
                               for e in problems]})


def household_problems(schema: GraphQLSchema, document: DocumentNode,
                       operation_name: str | None, raw: dict[str, Any],
                       today: date) -> list[FieldError]:
    """Every problem of the households the operation's root fields take from variables."""
    operation = get_operation_ast(document, operation_name)
    root = schema.get_root_type(operation.operation) if operation is not None else None
    if operation is None or root is None:
        return []
    problems: list[FieldError] = []
    for node in operation.selection_set.selections:
        if not isinstance(node, FieldNode) or node.name.value not in root.fields:
            continue
        field = root.fields[node.name.value]
        given = {a.name.value: a.value for a in node.arguments or ()}
        as_of = _date(given.get("asOf"), raw) or today
        for name, value in given.items():
            if not isinstance(value, VariableNode) or name not in field.args:
                continue
            data = raw.get(value.name.value)
            named = get_named_type(field.args[name].type)
            if named.name in HOUSEHOLD_TYPES:
                problems += _problems(data, as_of, name)
            elif isinstance(named, GraphQLInputObjectType) and isinstance(data, list):
                problems += _item_problems(named, data, name, today)
    return problems


def _item_problems(item_type: GraphQLInputObjectType, items: list[Any], argument: str,
                   today: date) -> Iterator[FieldError]:
    """The households of a list of items (``EvaluateItem``: ``household`` or ``facts``, each
    as of the item's ``asOf``)."""
    held = [f for f in _ITEM_FIELDS if f in item_type.fields
            and get_named_type(item_type.fields[f].type).name in HOUSEHOLD_TYPES]
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        as_of = _iso(item.get("asOf")) or today
        for name in held:
            if name in item and item[name] is not None:
                yield from _problems(item[name], as_of, f"{argument}[{i}].{name}")


def _problems(data: Any, as_of: date, prefix: str) -> list[FieldError]:
    if data is None:
        return []
    try:
        parse_household(data, as_of)
    except FactsInvalid as exc:
        return [FieldError(f"{prefix}.{e.field}" if e.field != "household" else prefix,
                           e.code, e.message) for e in exc.errors]
    return []


def _date(value: Any, raw: dict[str, Any]) -> date | None:
    if isinstance(value, StringValueNode):
        return _iso(value.value)
    if isinstance(value, VariableNode):
        return _iso(raw.get(value.name.value))
    return None


def _iso(text: Any) -> date | None:
    try:
        return date.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None
