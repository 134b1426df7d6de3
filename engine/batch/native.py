"""The project's strict readers of JSON Lines and CSV blocks (``engine/batch/_lines.c``,
compiled when the project is installed; docs/decisions/0014-strict-json-lines-reader.md), and
their columns as Arrow arrays. ``reader`` is None where the module is not compiled (a source
tree run without installing): the callers then read as before, with Arrow's or polars'
readers."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

reader: ModuleType | None
try:
    from engine.batch import _lines as reader
except ImportError:  # pragma: no cover - a source tree run without installing the project
    reader = None

# The readers' kinds of value, by the layout's column kinds: the CSV reader's, and the JSON
# Lines reader's (which reads dates itself, as Arrow's date32).
KINDS: dict[str, int] = {"id": 0, "text": 0, "date": 0, "enum": 0, "bool": 1, "money": 2,
                         "integer": 3}
LINES_KINDS: dict[str, int] = {**KINDS, "date": 4, "enum": 5}
# Enums of more values than the JSON Lines reader takes are read as texts.
MAX_ENUM_VALUES: int = getattr(reader, "MAX_ENUM_VALUES", 0)
ARROW: dict[str, pa.DataType] = {
    "id": pa.string(), "text": pa.string(), "bool": pa.bool_(), "money": pa.float64(),
    "integer": pa.int64(), "date": pa.string(), "enum": pa.string(),
}
# A column of values (no views) as a reader writes it: a date's is days, not its text.
_VALUES = {**ARROW, "date": pa.date32(), "enum": pa.uint32()}


def arrow_column(kind: str, rows: int, data: bytes | memoryview,
                 views: bytes | memoryview | None, valid: bytes | memoryview) -> pa.Array:
    """One of a reader's columns as an Arrow array (its buffers taken as they are, not copied):
    its values, as bytes, and a byte a row
    saying whether the value is there. A text column is Arrow's string views (``views``, 16
    bytes a row, texts of up to 12 bytes in the view itself, longer ones in ``data``), the
    layout polars keeps its texts in: polars takes it as it is, where Arrow's plain strings
    would be copied into views (about a third of a CSV block's reading)."""
    present = np.frombuffer(valid, dtype=np.bool_)[:rows]  # (the CSV reader's may be longer)
    nulls = None if present.all() else pa.py_buffer(np.packbits(present, bitorder="little"))
    if views is not None:
        return pa.Array.from_buffers(pa.string_view(), rows,
                                     [nulls, pa.py_buffer(views), pa.py_buffer(data)])
    if kind == "bool":
        bits = np.packbits(np.frombuffer(data, dtype=np.bool_)[:rows], bitorder="little")
        buffers = [nulls, pa.py_buffer(bits)]
    else:
        buffers = [nulls, pa.py_buffer(data)]
    return pa.Array.from_buffers(_VALUES[kind], rows, buffers)


__all__ = ["ARROW", "KINDS", "LINES_KINDS", "MAX_ENUM_VALUES", "arrow_column", "reader"]
