"""Parsing and validation, remembered.

One extension does what strawberry's ``MaxTokensLimiter``, ``ParserCache`` and
``AddValidationRules`` do, plus a validation cache: strawberry runs every extension's hooks on
every request, and with four extensions for these steps their hook machinery cost more than a
``{ __typename }`` request's own work.

Parsing: the text is parsed with a token limit, and the result kept by text (LRU), so every
request with the same text gets the same document object.

Validation: strawberry's ``ValidationCache`` keys its LRU cache by the parsed document, and
graphql-core's AST nodes hash by walking their whole subtree: for the full-explanation query
that walk ran on every request. The same text gives the same document object, so its identity
is key enough: an entry keeps its document alive (the id cannot be reused while the entry
exists) and the validation rules it ran with.

Before graphql-core validates a document, ``graphql_api.limits`` measures it in linear time
(depth, aliases, fields and fragment spreads, fragments counted with their multiplicity); a
document over a limit is refused without further work. graphql-core's validation then runs
with a time budget, and without "Did you mean" suggestions outside dev (they would describe
the schema to a client that may not introspect it). Refusals are remembered like any result,
so a repeated hostile document costs a dictionary lookup.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from functools import cache, lru_cache
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode
from graphql.language.parser import parse
from graphql.validation import validate
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from graphql_api import turns
from graphql_api.limits import Limits, ValidationTimeout, measure_document, timeout_error

_Key = tuple[int, int, tuple[int, ...]]
# a validation's result: schema, document, rules, errors, cost, CPU seconds it took
_RESULTS: OrderedDict[_Key, tuple[object, object, tuple[Any, ...], list[Any], int, float]] = \
    OrderedDict()
_LOCK = threading.Lock()


@cache
def _parser(maxsize: int) -> Callable[..., Any]:
    """One LRU-cached parse per size, shared by every request and schema."""
    return lru_cache(maxsize=maxsize)(parse)


class DocumentCache(SchemaExtension):
    def __init__(self, max_tokens: int, rules: Sequence[Any], limits: Limits,
                 deadline: type[Any], seconds: float, hide_suggestions: bool,
                 maxsize: int = 256) -> None:
        super().__init__()
        self.max_tokens = max_tokens
        # strawberry's own rules (validate_document adds them) and the time budget last
        self.rules = (*rules, MaybeNullValidationRule, OneOfInputValidationRule, deadline)
        self.limits = limits
        self.seconds = seconds
        self.hide_suggestions = hide_suggestions
        self.maxsize = maxsize
        self.parse = _parser(maxsize)

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        ctx.parse_options["max_tokens"] = self.max_tokens
        ctx.graphql_document = self.parse(ctx.query, **ctx.parse_options)
        log = getattr(ctx.context, "log", None)
        if log is not None:
            log["operation"] = _operation_name(ctx.graphql_document, ctx.operation_name)
        yield

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        ctx.validation_rules = ctx.validation_rules + self.rules
        schema = ctx.schema._schema
        document = ctx.graphql_document
        assert document is not None, "on_parse made it"
        rules = tuple(ctx.validation_rules)
        key = (id(schema), id(document), tuple(map(id, rules)))
        with _LOCK:
            hit = _RESULTS.get(key)
            if hit is not None:
                _RESULTS.move_to_end(key)
        if hit is not None and hit[0] is schema and hit[1] is document and hit[2] == rules:
            ctx.pre_execution_errors = hit[3]
            cost, seconds = hit[4], hit[5]
        else:
            started = time.thread_time()
            errors, cost = measure_document(document, self.limits)
            if not errors:
                try:
                    errors = validate(schema, document, rules,
                                      hide_suggestions=self.hide_suggestions)
                except ValidationTimeout:
                    errors = [timeout_error(self.seconds)]
            seconds = time.thread_time() - started
            with _LOCK:
                _RESULTS[key] = (schema, document, rules, errors, cost, seconds)
                while len(_RESULTS) > self.maxsize:
                    _RESULTS.popitem(last=False)
            ctx.pre_execution_errors = errors
        log = getattr(ctx.context, "log", None)
        if log is not None:
            log["cost"] = cost  # reported in the response's extensions
        if not ctx.pre_execution_errors and _ambiguous(ctx):
            ctx.pre_execution_errors = [_NAME_NEEDED]
        if not ctx.pre_execution_errors and ctx.query is not None:
            # this text's later requests may run in the event loop (graphql_api.turns)
            turns.validated(schema, ctx.query, getattr(ctx, "_provided_operation_name", None),
                            document, seconds)
        yield


# The spec's GetOperation: several operations and no operationName is a request error
# (strawberry would run the first).
_NAME_NEEDED = GraphQLError(
    "Must provide operation name if query contains multiple operations.",
    extensions={"code": "OPERATION_NAME_REQUIRED"})


def _ambiguous(ctx: Any) -> bool:
    if getattr(ctx, "_provided_operation_name", None) is not None:
        return False
    document = ctx.graphql_document
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions) > 1


def _operation_name(document: Any, name: str | None) -> str | None:
    """The operation's name as a log shows it: a GraphQL name (letters, digits, _), cut at
    64 characters; anything else (an unknown operationName) is not echoed."""
    if name is None:
        return None
    for d in document.definitions:
        if isinstance(d, OperationDefinitionNode) and d.name and d.name.value == name:
            return name[:64]
    return "?"
