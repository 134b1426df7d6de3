"""Where a CSV register's records begin, as lines of the file.

Arrow's CSV reader numbers the records it reads, not the lines: a cell in quotes may hold line
breaks (a record over several lines) and an empty line is no record. The errors file names a
misshapen record by its data row (the record's number) and, for the person who opens the file
in an editor, by the line it begins on; ``record_lines`` finds those lines, reading the records
as Arrow's reader does:

- a quote opens a quoted cell only as a cell's first character; in a quoted cell two quotes are
  one, and a single quote closes it (what follows up to the next comma is the cell's, quotes
  included);
- a line break inside a quoted cell belongs to the cell; an empty line (``\\n`` or ``\\r\\n``)
  outside one is no record.

Pieces without a quote or an empty line are counted, not read line by line, so only the part of
the file around the records asked for costs more than counting its line breaks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

_QUOTE = 0x22


def _still_quoted(line: bytes, quoted: bool) -> bool:
    """Whether a quoted cell is still open at the end of ``line`` (``quoted``: one was open
    where the line begins; otherwise the line begins a cell)."""
    i, n = 0, len(line)
    while i < n:
        if quoted:
            j = line.find(b'"', i)
            if j < 0:
                return True
            if j + 1 < n and line[j + 1] == _QUOTE:  # two quotes: one, the cell goes on
                i = j + 2
                continue
            quoted = False  # closed: the rest of the cell up to the comma is plain
            i = j + 1
        elif line[i] == _QUOTE:  # a cell's first character
            quoted = True
            i += 1
            continue
        comma = line.find(b",", i)
        if comma < 0:
            return False
        i = comma + 1
    return quoted


def _plain(piece: bytes) -> bool:
    """No quote and no empty line: each line of the piece is one record."""
    return (b'"' not in piece and not piece.startswith((b"\n", b"\r\n"))
            and b"\n\n" not in piece and b"\n\r\n" not in piece)


def record_lines(pieces: Iterable[bytes], first_line: int, wanted: Iterable[int]
                 ) -> dict[int, int]:
    """The line on which each ``wanted`` record begins (records numbered from 1 from the start
    of ``pieces``, lines from ``first_line`` there). ``pieces``: the file's bytes from the
    first record on, in an encoding in which the quote, the comma and the line break are
    single ASCII bytes, each piece ending at a line break but the last. Records past the end
    are left out."""
    todo = sorted(set(wanted))
    found: dict[int, int] = {}
    if not todo:
        return found
    record, line, quoted = 0, first_line - 1, False
    k = 0  # the next wanted record: todo[k]
    for piece in pieces:
        breaks = piece.count(b"\n")
        lines = breaks + (not piece.endswith(b"\n") and bool(piece))
        if not quoted and _plain(piece) and record + lines < todo[k]:
            record += lines
            line += lines
            continue
        for text in (piece.split(b"\n")[:lines]):
            line += 1
            if not quoted:
                if text in (b"", b"\r"):
                    continue  # an empty line: no record
                record += 1
                if record == todo[k]:
                    found[record] = line
                    k += 1
                    if k == len(todo):
                        return found
            quoted = _still_quoted(text, quoted)
    return found


def line_pieces(read: Callable[[int], bytes], size: int = 1 << 20) -> Iterator[bytes]:
    """What ``read`` gives, in pieces of about ``size`` bytes or more, each ending at a line
    break but the last."""
    carry = b""
    while True:
        data = read(size)
        if not data:
            if carry:
                yield carry
            return
        end = data.rfind(b"\n") + 1
        if end == 0:
            carry += data
            continue
        yield carry + data[:end]
        carry = data[end:]
