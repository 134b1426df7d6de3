"""A bound on the households one request asks ``whatWouldChange`` of through ``evaluateMany``.

``Outcome.whatWouldChange`` evaluates the household again for every candidate value of every
input fact an outcome reads (``engine.whatif``): about 40 ms of CPU a household when every
outcome asks it, fifty times what its determination costs. The document limits
(``graphql_api.limits``) count the fields of a document, not the items of a variable, so an
``evaluateMany`` of ``max_batch_items`` households that selects it would ask for minutes of
work in one request (about 20 s at 500).

Before anything is executed, the operation's selection is walked as graphql-core will execute
it (fragments and inline fragments expanded, ``@skip``/``@include`` applied, fields of one
response name merged): every ``evaluateMany`` field (each alias its own) whose selection
reaches ``Outcome.whatWouldChange`` adds its number of items. More than ``max_what_if_items``
in all and the operation is refused as a whole with ``WHAT_IF_LIMIT`` (field ``items``):
nothing is evaluated. A caller who may not evaluate at all is told that first. One household
(``evaluate``) is not counted: its cost is that of one household.

The walk visits each field of the expanded selection once: its work is bounded by the
document limits (``max_fields``).

That walk sees only ``evaluateMany``. Every other route to a determination's outcomes (a
record's ``replay``, ``householdDetermine`` under aliases, an alert's ``reevaluation``,
``nodes``, pages of records under pages of households) is bounded while the operation runs:
each operation executed (one a request; one a subscription's event) has a ``WhatIfCount``,
current in the thread that executes it (``counting``), and ``outcome_changes`` asks it before
computing what would grant an outcome (``admit``). The count is of distinct determinations
(households) computed for; past ``max_what_if_items`` each further one is refused with
``WHAT_IF_LIMIT``, the limit and the households asked so far in the message, instead of being
computed. A selection without ``whatWouldChange`` never reaches the count.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    OperationType,
    VariableNode,
    get_named_type,
)
from graphql.execution.collect_fields import FieldDetails, collect_fields, collect_subfields

from graphql_api.errors import service_error
from policy.errors import FieldError
from services.errors import InvalidInput, ServiceError

BATCH_FIELD = "evaluateMany"
_ASKED = ("Outcome", "whatWouldChange")
CODE = "WHAT_IF_LIMIT"


def what_if_items(executor: Any) -> int:
    """The households the executor's operation asks ``whatWouldChange`` of through
    ``evaluateMany`` (summed over its aliases)."""
    operation = executor.operation
    schema: GraphQLSchema = executor.schema
    root = schema.query_type
    if operation.operation is not OperationType.QUERY or root is None \
            or BATCH_FIELD not in root.fields:
        return 0
    if not any(not isinstance(s, FieldNode) or s.name.value == BATCH_FIELD
               for s in operation.selection_set.selections):
        return 0  # the common case, told from the root selection alone
    grouped = collect_fields(schema, executor.fragments, executor.variable_values, root,
                             operation, executor.hide_suggestions).grouped_field_set
    total = 0
    for details in grouped.values():
        node = details[0].node
        if node.name.value != BATCH_FIELD:
            continue
        walk = _Walk(executor)
        if walk.reaches(root.fields[BATCH_FIELD].type, details):
            total += _items(node, executor.variable_values.coerced)
    return total


def _items(node: FieldNode, variables: dict[str, Any]) -> int:
    """How many items the field's ``items`` argument holds (its value as coerced: a single
    item given where a list is expected is a list of one)."""
    value = next((a.value for a in node.arguments or () if a.name.value == "items"), None)
    if value is None or isinstance(value, NullValueNode):
        return 0
    if isinstance(value, VariableNode):
        given = variables.get(value.name.value)
        if given is None:
            return 0
        return len(given) if isinstance(given, list | tuple) else 1
    if isinstance(value, ListValueNode):
        return len(value.values)
    return 1 if isinstance(value, ObjectValueNode) else 0


class _Walk:
    """Whether a selection reaches ``Outcome.whatWouldChange``, as it will be executed."""

    def __init__(self, executor: Any):
        self.executor = executor
        self.schema: GraphQLSchema = executor.schema

    def reaches(self, gql_type: Any, details: list[FieldDetails]) -> bool:
        named = get_named_type(gql_type)
        if isinstance(named, GraphQLObjectType):
            types: tuple[GraphQLObjectType, ...] = (named,)
        elif isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
            types = tuple(self.schema.get_possible_types(named))
        else:
            return False
        for object_type in types:
            sub = collect_subfields(self.schema, self.executor.fragments,
                                    self.executor.variable_values, self.executor.operation,
                                    object_type, details,
                                    self.executor.hide_suggestions).grouped_field_set
            for inner in sub.values():
                name = inner[0].node.name.value
                if (object_type.name, name) == _ASKED:
                    return True
                field = object_type.fields.get(name)
                if field is not None and self.reaches(field.type, inner):
                    return True
        return False


def what_if_refusal(executor: Any, limit: int) -> GraphQLError | None:
    """The refusal of an operation that asks ``whatWouldChange`` of more than ``limit``
    households through ``evaluateMany`` (None: within the limit)."""
    count = what_if_items(executor)
    if count <= limit:
        return None
    context = executor.context_value
    app, principal = getattr(context, "app", None), getattr(context, "principal", None)
    if app is not None and principal is not None:
        try:  # a caller who may not evaluate learns that, not the limit
            app.policy.evaluate(principal)
        except ServiceError as exc:
            return service_error(exc)
    msg = (f"whatWouldChange is computed for at most {limit} households of evaluateMany a "
           f"request; this one asks it for {count}: ask for fewer items, or leave "
           "whatWouldChange out")
    error = service_error(InvalidInput(msg, [FieldError("items", CODE, msg)], code=CODE))
    assert error.extensions is not None
    error.extensions["params"] = {"max": limit, "count": count}
    return error


class WhatIfCount:
    """The determinations (households) one operation has computed ``whatWouldChange`` for, at
    most ``limit``. Thread-safe: the lock is taken only when it is computed."""

    __slots__ = ("_admitted", "_lock", "_seen", "limit")

    def __init__(self, limit: int):
        self.limit = limit
        self._lock = threading.Lock()
        # id -> (the determination, kept so that its id is not reused; whether admitted)
        self._seen: dict[int, tuple[object, bool]] = {}
        self._admitted = 0

    def admit(self, determination: object) -> None:
        """Returns when ``whatWouldChange`` may be computed for ``determination`` (asking again
        for one admitted costs nothing more: the engine remembers its work by determination);
        raises ``WHAT_IF_LIMIT`` past the limit."""
        key = id(determination)
        with self._lock:
            seen = self._seen.get(key)
            if seen is None or seen[0] is not determination:
                admitted = self._admitted < self.limit
                self._admitted += admitted
                seen = self._seen[key] = (determination, admitted)
            if seen[1]:
                return
            asked = len(self._seen)
        raise over_the_limit(self.limit, asked)


def over_the_limit(limit: int, asked: int) -> GraphQLError:
    """The error of a ``whatWouldChange`` refused while the operation runs: the limit and the
    households asked so far, nothing of the household itself."""
    msg = (f"whatWouldChange is computed for at most {limit} households a request; this one "
           f"has asked it for {asked} so far: ask for fewer households (records, aliases, "
           "items), or leave whatWouldChange out")
    return GraphQLError(msg, extensions={"code": CODE, "params": {"max": limit, "count": asked}})


_CURRENT: ContextVar[WhatIfCount | None] = ContextVar("what_if_count", default=None)


@contextmanager
def counting(count: WhatIfCount) -> Iterator[None]:
    """``count`` is the current operation's while the block runs (in this thread or task)."""
    token = _CURRENT.set(count)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def admit(determination: object) -> None:
    """``WhatIfCount.admit`` of the operation being executed (none outside an operation: the
    command line and the engine's own callers are not limited)."""
    count = _CURRENT.get()
    if count is not None:
        count.admit(determination)
