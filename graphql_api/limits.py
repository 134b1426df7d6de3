"""Limits on a document's size and shape, checked in time linear in the document.

A fragment may be spread many times, and fragments may spread fragments: expanding every
spread to measure a document (as strawberry's depth and alias limiters do) costs 2^N for
``fragment F0 { ...F1 ...F1 } fragment F1 { ...F2 ...F2 } ...``. Here each fragment is measured
once and its figures are counted as many times as it is spread (its multiplicity), so the
figures are those of the expanded document while the work is that of the written one:

- depth: the deepest nesting of fields with a selection (introspection fields do not count),
  as strawberry's ``QueryDepthLimiter`` measures it;
- aliases: aliased fields of the expanded document (``MaxAliasesLimiter``'s count);
- fields: field selections of the expanded document, a bound on the work execution can do;
- spreads: fragment spreads as written, a cap that keeps every fragment chain short.

Whatever passes these checks goes on to graphql-core's validation, which gets a time budget
(``Deadline``): a document that still takes too long to validate is refused, not waited for.
"""

from __future__ import annotations

import gc
import threading
import time
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

# Counts saturate here: a document whose expanded size is beyond any limit needs no exact
# figure, and the numbers stay small.
_SATURATED = 1 << 40


@dataclass(frozen=True)
class Limits:
    max_depth: int
    max_aliases: int
    max_fields: int
    max_spreads: int


@dataclass(frozen=True)
class _Figures:
    depth: int = 0
    aliases: int = 0
    fields: int = 0


_ZERO = _Figures()


def _error(message: str, code: str, nodes: Any = None,
           params: dict[str, Any] | None = None) -> GraphQLError:
    extensions: dict[str, Any] = {"code": code}
    if params:
        extensions["params"] = params  # for the Chinese message (graphql_api.messages)
    return GraphQLError(message, nodes, extensions=extensions)


def check_document(document: DocumentNode, limits: Limits) -> list[GraphQLError]:
    """The limits ``document`` breaks (empty: none), in time linear in its size."""
    return measure_document(document, limits)[0]


def measure_document(document: DocumentNode, limits: Limits) -> tuple[list[GraphQLError], int]:
    """The limits ``document`` breaks, and its cost: the field selections of its largest
    operation once fragments are expanded (what execution may have to resolve), the figure
    ``max_fields`` bounds and responses report in ``extensions.cost``."""
    fragments: dict[str, FragmentDefinitionNode] = {}
    operations: list[OperationDefinitionNode] = []
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            fragments.setdefault(definition.name.value, definition)
        elif isinstance(definition, OperationDefinitionNode):
            operations.append(definition)
    spreads = _count_spreads(document)
    if spreads > limits.max_spreads:
        # Checked first: it also bounds how long a chain of fragments (and the recursion
        # below) can be.
        return [_error(f"the document has {spreads} fragment spreads; at most "
                       f"{limits.max_spreads} are allowed", "QUERY_TOO_COMPLEX")], 0
    measure = _Measure(fragments)
    errors: list[GraphQLError] = []
    cost = 0
    for operation in operations:
        figures = measure.selection_set(operation.selection_set)
        cost = max(cost, figures.fields)
        name = operation.name.value if operation.name else "anonymous"
        if figures.depth > limits.max_depth:
            errors.append(_error(f"'{name}' exceeds maximum operation depth of "
                                 f"{limits.max_depth}", "QUERY_TOO_DEEP", [operation],
                                 {"max": limits.max_depth}))
        if figures.aliases > limits.max_aliases:
            errors.append(_error(f"{_shown(figures.aliases)} aliases found. Allowed: "
                                 f"{limits.max_aliases}", "TOO_MANY_ALIASES", [operation],
                                 {"max": limits.max_aliases}))
        if figures.fields > limits.max_fields:
            errors.append(_error(
                f"'{name}' selects {_shown(figures.fields)} fields once its fragments are "
                f"expanded; at most {limits.max_fields} are allowed", "QUERY_TOO_COMPLEX",
                [operation]))
    return errors, cost


def _shown(count: int) -> str:
    return f"more than {_SATURATED}" if count >= _SATURATED else str(count)


def _count_spreads(document: DocumentNode) -> int:
    count = 0
    stack: list[Any] = [d.selection_set for d in document.definitions
                        if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)]
    while stack:
        selection_set = stack.pop()
        if selection_set is None:
            continue
        for selection in selection_set.selections:
            if isinstance(selection, FragmentSpreadNode):
                count += 1
            else:
                stack.append(selection.selection_set)
    return count


class _Measure:
    """Figures of selection sets, each fragment measured once (memo)."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]):
        self.fragments = fragments
        self.memo: dict[str, _Figures] = {}
        self.open: set[str] = set()

    def fragment(self, name: str) -> _Figures:
        known = self.memo.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self.open:
            # An unknown fragment or a cycle: graphql-core's validation reports it.
            return _ZERO
        self.open.add(name)
        figures = self.selection_set(definition.selection_set)
        self.open.discard(name)
        self.memo[name] = figures
        return figures

    def selection_set(self, selection_set: SelectionSetNode | None) -> _Figures:
        if selection_set is None:
            return _ZERO
        depth = aliases = fields = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                inner = self.selection_set(selection.selection_set)
                fields += 1 + inner.fields
                aliases += (selection.alias is not None) + inner.aliases
                if selection.selection_set is not None \
                        and not selection.name.value.startswith("__"):
                    depth = max(depth, 1 + inner.depth)
            else:
                if isinstance(selection, FragmentSpreadNode):
                    inner = self.fragment(selection.name.value)
                elif isinstance(selection, InlineFragmentNode):
                    inner = self.selection_set(selection.selection_set)
                else:  # pragma: no cover - graphql-core has no other selection
                    continue
                fields += inner.fields
                aliases += inner.aliases
                depth = max(depth, inner.depth)
        return _Figures(depth, min(aliases, _SATURATED), min(fields, _SATURATED))


class ValidationTimeout(Exception):
    """Validation went past its time budget."""


class _CollectionTime(threading.local):
    """CPU time this thread has spent in garbage collections (a collection runs in the thread
    whose allocation triggered it)."""

    spent = 0.0
    started = 0.0


_COLLECTIONS = _CollectionTime()


def _time_collection(phase: str, _info: dict[str, Any]) -> None:
    if phase == "start":
        _COLLECTIONS.started = time.thread_time()
    else:
        _COLLECTIONS.spent += time.thread_time() - _COLLECTIONS.started


gc.callbacks.append(_time_collection)


def _validation_time() -> float:
    """This thread's CPU time less what it spent collecting garbage."""
    return time.thread_time() - _COLLECTIONS.spent


def deadline_rule(seconds: float) -> type[ValidationRule]:
    """A validation rule that stops validation once it has run ``seconds`` of this thread's CPU
    time: it looks at the clock every 64 nodes the validator enters. CPU time, not wall time,
    so an ordinary query on a loaded machine is never refused for waiting its turn; and not the
    time of a garbage collection that happens to run during it (a full collection of a large
    process can take longer than the whole budget, whatever the document)."""

    class Deadline(ValidationRule):
        def __init__(self, context: ValidationContext):
            super().__init__(context)
            self.until = _validation_time() + seconds
            self.nodes = 0

        def enter(self, *_args: Any) -> None:
            self.nodes += 1
            if not self.nodes & 63 and _validation_time() > self.until:
                raise ValidationTimeout

    return Deadline


def timeout_error(seconds: float) -> GraphQLError:
    return _error(f"validating the document took longer than {seconds:g} s; simplify it",
                  "QUERY_TOO_COMPLEX")
