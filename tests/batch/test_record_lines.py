"""Where a CSV register's records begin (screening.record_lines): the records as Arrow's reader
reads them, each named by the line it begins on."""

from __future__ import annotations

import io

import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.record_lines import line_pieces, record_lines

# A cell: plain text, or quoted with what only a quoted cell may hold (commas, quotes doubled,
# line breaks, empty lines); plain text may hold a quote after its first character.
_plain = st.text(alphabet="ab1 é\"", max_size=4).filter(lambda t: not t.startswith('"'))
_quoted = st.lists(st.sampled_from(["a", ",", '""', "\n", "\r\n", "\n\n", "户"]),
                   max_size=5).map(lambda parts: '"' + "".join(parts) + '"')
_record = st.tuples(_plain | _quoted, _plain | _quoted)
_gap = st.sampled_from(["", "", "", "\n", "\r\n", "\n\n"])  # empty lines before a record


@settings(max_examples=300, deadline=None)
@given(records=st.lists(st.tuples(_gap, _record), min_size=1, max_size=30),
       crlf=st.booleans(), size=st.integers(1, 40), last_newline=st.booleans())
def test_each_record_is_found_on_its_first_line(records: list[tuple[str, tuple[str, str]]],
                                                crlf: bool, size: int,
                                                last_newline: bool) -> None:
    end = "\r\n" if crlf else "\n"
    text, first = "", []
    for k, (gap, cells) in enumerate(records):
        text += gap
        first.append(text.count("\n") + 1)
        text += ",".join([f"r{k}", *cells])
        if last_newline or k < len(records) - 1:
            text += end
    data = text.encode("utf-8")
    # Arrow's reader reads these records, in this order.
    table = pa_csv.read_csv(io.BytesIO(data), read_options=pa_csv.ReadOptions(
        column_names=["k", "x", "y"], use_threads=False),
        convert_options=pa_csv.ConvertOptions(column_types={"k": "string"}))
    assert table.column("k").to_pylist() == [f"r{k}" for k in range(len(records))]
    every = range(1, len(records) + 1)
    found = record_lines(line_pieces(io.BytesIO(data).read, size), 1, every)
    assert found == dict(zip(every, first, strict=True))
    # Some of them, from line 7 on; records past the end are left out.
    some = [len(records), 1, len(records) + 3]
    assert record_lines(line_pieces(io.BytesIO(data).read, size), 7, some) == {
        1: first[0] + 6, len(records): first[-1] + 6}


def test_line_pieces_end_at_line_breaks_and_hold_every_byte() -> None:
    data = b"a,b\n" * 10 + b"long line without a break " * 5 + b"\nlast"
    for size in (1, 3, 4, 50, 1 << 20):
        pieces = list(line_pieces(io.BytesIO(data).read, size))
        assert b"".join(pieces) == data
        assert all(p.endswith(b"\n") for p in pieces[:-1]) and pieces[-1] == b"last"
