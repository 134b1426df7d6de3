"""Household JSON Lines read into columns, strictly (engine/batch/_lines.c)."""

Column = tuple[bytes, bytes | None, bytes]  # values, a text column's string views, presence

def parse(
    block: bytes | memoryview,
    household_fields: tuple[tuple[bytes, int], ...],
    member_fields: tuple[tuple[bytes, int], ...],
    members_key: bytes,
    max_members: int,
    /,
) -> tuple[bytes, bytes, bytes, int, int, bytes, list[Column], list[Column]]: ...

def parse_csv(
    block: bytes | memoryview, kinds: tuple[int, ...], /
) -> tuple[int, bytes, list[Column], list[Column]] | None: ...
