"""Household JSON Lines read into columns, strictly (engine/batch/_lines.c)."""

Column = tuple[bytes, bytes | None, bytes]  # values, a text column's string views, presence
# parse's: read-only views of the memory the reader wrote (no copy), freed with the last view
Written = tuple[memoryview, memoryview | None, memoryview]

def parse(
    block: bytes | memoryview,
    household_fields: tuple[tuple[bytes, int], ...],
    member_fields: tuple[tuple[bytes, int], ...],
    members_key: bytes,
    max_members: int,
    /,
) -> tuple[memoryview, memoryview, memoryview, int, int, memoryview, list[Written],
           list[Written]]: ...

def parse_csv(
    block: bytes | memoryview, kinds: tuple[int, ...], /
) -> tuple[int, bytes, list[Column], list[Column]] | None: ...

def exit_on_bus_error(message: bytes, /) -> None: ...
