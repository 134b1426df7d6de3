"""Validation results remembered by the document's identity.

strawberry's ``ValidationCache`` keys its LRU cache by the parsed document, and graphql-core's
AST nodes hash by walking their whole subtree: for the full-explanation query that walk ran on
every request. The parser cache hands every request with the same text the same document
object, so its identity is key enough: an entry keeps its document alive (the id cannot be
reused while the entry exists) and the validation rules it ran with.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

_Key = tuple[int, int, tuple[int, ...]]
_RESULTS: OrderedDict[_Key, tuple[object, object, tuple[Any, ...], list[Any]]] = OrderedDict()
_LOCK = threading.Lock()


class DocumentValidationCache(SchemaExtension):
    def __init__(self, maxsize: int = 256) -> None:
        super().__init__()
        self.maxsize = maxsize

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        schema = ctx.schema._schema
        document = ctx.graphql_document
        rules = tuple(ctx.validation_rules)
        key = (id(schema), id(document), tuple(map(id, rules)))
        with _LOCK:
            hit = _RESULTS.get(key)
            if hit is not None:
                _RESULTS.move_to_end(key)
        if hit is not None and hit[0] is schema and hit[1] is document and hit[2] == rules:
            ctx.pre_execution_errors = hit[3]
        else:
            errors = validate_document(schema, document, rules)  # type: ignore[arg-type]
            with _LOCK:
                _RESULTS[key] = (schema, document, rules, errors)
                while len(_RESULTS) > self.maxsize:
                    _RESULTS.popitem(last=False)
            ctx.pre_execution_errors = errors
        yield
