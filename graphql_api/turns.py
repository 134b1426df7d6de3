"""Short queries run in the event loop, one per turn of the loop, in the order they came.

A GraphQL operation handed to a thread of the pool shares the worker's interpreter lock with
the event loop and the other operations: the lock passes between them every few milliseconds
in no fixed order, an operation is overtaken by later ones, its answer waits for the loop to
get the lock back, and each hand-over costs CPU. Measured with ``bench/graphql_workers.py``
(docs/performance.md, issue 13): in threads the slowest 1 % of full explanations of
never-seen households waited two to three times the median.

So the operations that cannot wait on anything and whose work is bounded by the request's
limits run in the event loop itself: a query whose only root field is one ``evaluate``
(``__typename`` aside), with no ``whatWouldChange`` anywhere in the document (35-90 ms a
household), and whose text has already been validated once, in a thread, in under 5 ms of CPU
(graphql-core's validation may take up to ``POLICY_ENGINE_VALIDATION_SECONDS``; a text the
validation cache has since forgotten is validated again in the loop, in what it took before).
Its two reads of the database (the token generation, the catalog's stamp: primary-key reads
on a pooled connection) run in the loop too. Everything else (mutations, stored records,
previews, ``evaluateMany``, the first request of a text) runs in the pool as before.

``Turns`` runs one such operation per turn of the loop: between two of them the loop reads
new requests, answers ``/healthz`` and writes the answers already made, and the operations
start in the order their requests were read. An operation whose request was given up
(its task cancelled) is not run. ``POLICY_ENGINE_LOOP_QUERIES=false`` sends every operation to
the pool.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_operation_ast,
)

from policy.cache import BoundedCache

T = TypeVar("T")

# The one root field an operation in the loop may have, and the field that keeps a document
# out of it wherever it is selected.
LOOP_ROOT = "evaluate"
NOT_IN_LOOP = "whatWouldChange"

# A document whose validation took longer never runs in the loop.
VALIDATION_IN_LOOP_SECONDS = 0.005
# Per schema (graphql-core's, by id: an entry keeps it, so the id is not reused meanwhile),
# document text and operationName, whether a document that validated without errors may run
# in the loop: filled by graphql_api.validation_cache after each validation.
_IN_LOOP: BoundedCache[tuple[int, str, str | None], tuple[object, bool]] = BoundedCache(
    "graphql.loop_documents", 1024)


def loop_shaped(document: DocumentNode, operation_name: str | None) -> bool:
    """Whether the operation ``operation_name`` of ``document`` (the only one when None) is a
    query of at most one ``evaluate`` (and ``__typename``) at its root, and the document
    selects ``whatWouldChange`` nowhere."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return False
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    if _selects(document, NOT_IN_LOOP):
        return False
    roots: list[str] = []
    if not _root_fields(operation.selection_set, fragments, set(), roots):
        return False
    return roots.count(LOOP_ROOT) <= 1 and all(r in (LOOP_ROOT, "__typename") for r in roots)


def _root_fields(selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode],
                 seen: set[str], into: list[str]) -> bool:
    """The root fields' names (fragments opened, each once), into ``into``; False for a spread
    of a fragment the document does not define."""
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            into.append(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            if not _root_fields(selection.selection_set, fragments, seen, into):
                return False
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen:
                continue
            seen.add(name)
            fragment = fragments.get(name)
            if fragment is None or not _root_fields(fragment.selection_set, fragments, seen,
                                                    into):
                return False
    return True


def _selects(document: DocumentNode, name: str) -> bool:
    """Whether any selection set of the document (unused fragments included) has a field
    ``name``."""
    todo: list[SelectionSetNode] = [d.selection_set for d in document.definitions
                                    if isinstance(d, OperationDefinitionNode
                                                  | FragmentDefinitionNode)]
    while todo:
        for selection in todo.pop().selections:
            if isinstance(selection, FieldNode) and selection.name.value == name:
                return True
            inner = getattr(selection, "selection_set", None)
            if inner is not None:
                todo.append(inner)
    return False


def validated(schema: object, query: str, operation_name: str | None, document: DocumentNode,
              seconds: float) -> None:
    """Note a document text that validated against ``schema`` without errors in ``seconds``
    of CPU (graphql_api.validation_cache; called for every request that the validation cache
    answers too, so a text this memo has forgotten is noted again): it may run in the loop if
    it is loop-shaped and its validation, should it run again (the validation cache forgot
    it), is short."""
    key = (id(schema), query, operation_name)
    found = _IN_LOOP.get(key)
    if found is None or found[0] is not schema:
        _IN_LOOP.put(key, (schema, seconds < VALIDATION_IN_LOOP_SECONDS
                           and loop_shaped(document, operation_name)))


def in_loop(schema: object, query: str | None, operation_name: str | None) -> bool:
    """Whether this request's operation runs in the event loop: its text validated against
    ``schema`` before, and loop-shaped."""
    if query is None:
        return False
    found = _IN_LOOP.get((id(schema), query, operation_name))
    return found is not None and found[0] is schema and found[1]


class Turns:
    """Functions run in the event loop ``loop``, one per turn of the loop, in the order they
    were given; each in a copy of its caller's context (as ``anyio.to_thread`` runs them)."""

    __slots__ = ("_queue", "_scheduled", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._queue: deque[tuple[Callable[[], Any], asyncio.Future[Any],
                                 contextvars.Context]] = deque()
        self._scheduled = False

    def __len__(self) -> int:
        """Functions given and not yet started."""
        return len(self._queue)

    def run(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        """``fn()``'s result, once the functions given before it have run."""
        future: asyncio.Future[T] = self.loop.create_future()
        self._queue.append((fn, future, contextvars.copy_context()))
        if not self._scheduled:
            self._scheduled = True
            self.loop.call_soon(self._next)
        return future

    def _next(self) -> None:
        # One function per call; the next call is scheduled for the loop's next turn, after
        # the callbacks already due (the answer just made, requests read meanwhile).
        fn, future, context = self._queue.popleft()
        try:
            if not future.cancelled():
                try:
                    result = context.run(fn)
                except Exception as exc:  # the caller's to handle, as from a thread
                    future.set_exception(exc)
                else:
                    future.set_result(result)
        finally:
            if self._queue:
                self.loop.call_soon(self._next)
            else:
                self._scheduled = False
