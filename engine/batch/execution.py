"""How the batch backend's polars queries are executed.

Every chunk is a few hundred thousand rows, and each query on it is short. polars' default
(``engine="auto"``) may run such a query on its streaming engine, whose tasks and morsels
cost more than they save at this size: on the benchmark register the in-memory engine took
about a fifth less time validating and a tenth less evaluating, with less memory
(``bench/batch.py``; docs/performance.md). polars' own eager operations already use it.
"""

from __future__ import annotations

from typing import Final, Literal

ENGINE: Final[Literal["in-memory"]] = "in-memory"
