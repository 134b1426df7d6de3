"""How a screening process's memory is kept: pages freed by one chunk are reused by the next.

polars allocates through jemalloc, which by default gives freed pages back to the system
gradually (over ten seconds); a chunk's frames are allocated and freed every few hundred
milliseconds, so the next chunk touches fresh pages again, each a page fault the kernel
serves. A screening run is a process that ends when the register is screened: it keeps its
freed pages (``dirty_decay_ms:-1``) and reuses them: on the benchmark register, about a third
fewer page faults and less system time (docs/performance.md, issue 18). jemalloc reads the
setting once, when polars is loaded: so it is made before polars is imported, by the commands
that screen (not by the long-running service).
"""

from __future__ import annotations

import os
import sys

SETTING = "_RJEM_MALLOC_CONF"  # polars' jemalloc reads its options from this variable
KEEP_FREED = "dirty_decay_ms:-1,muzzy_decay_ms:-1"


def keep_freed_memory() -> bool:
    """Have polars keep its freed pages for reuse; whether that was done (not when polars is
    already loaded, or when the variable is given)."""
    if "polars" in sys.modules or SETTING in os.environ:
        return False
    os.environ[SETTING] = KEEP_FREED
    return True
