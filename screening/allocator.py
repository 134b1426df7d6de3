"""How a screening process's memory is kept: pages freed by one chunk are reused by the next.

polars allocates through jemalloc, which by default gives freed pages back to the system
gradually (over ten seconds); Arrow (its JSON reader, the Parquet writer) through mimalloc,
which gives them back after ten milliseconds. A chunk's frames are allocated and freed every
few hundred milliseconds, so the next chunk touches fresh pages again, each a page fault the
kernel serves (and a page it zeroes). A screening run is a process that ends when the register
is screened: it keeps its freed pages (jemalloc's ``dirty_decay_ms:-1``, mimalloc's
``purge_delay`` of -1) and reuses them: on the benchmark register, about a third fewer page
faults and less system time (docs/performance.md, issue 18). Each allocator reads its setting
once, when its library is loaded: so the settings are made before polars and pyarrow are
imported, by the commands that screen (not by the long-running service).
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SETTING = "_RJEM_MALLOC_CONF"  # polars' jemalloc reads its options from this variable
KEEP_FREED = "dirty_decay_ms:-1,muzzy_decay_ms:-1"
ARROW_SETTING = "MIMALLOC_PURGE_DELAY"  # Arrow's mimalloc: ms before freed pages go back
ARROW_KEEP_FREED = "-1"  # never

# The library that reads each setting, the variable and the value.
_SETTINGS = (("polars", SETTING, KEEP_FREED), ("pyarrow", ARROW_SETTING, ARROW_KEEP_FREED))


_SKIPPING: list[bool] = []


def skip_final_collection() -> None:
    """Have the process end without the interpreter's last garbage collections: what it
    still holds (the catalogue, compiled plans and memos, the libraries' modules) is given
    back to the system with the process instead of being traversed object by object first,
    0.1-0.15 s after screening a million households (docs/performance.md, 2026-12-07).
    ``gc.freeze`` is registered to run at exit, so a process that goes on after screening (a
    test run) is unaffected until it ends. What is frozen then is not finalized: a screening
    command closes every file it writes before it returns."""
    if not _SKIPPING:
        _SKIPPING.append(True)
        atexit.register(gc.freeze)


@contextmanager
def collections_paused() -> Iterator[Callable[[], None]]:
    """No garbage collection inside, until the function it gives is called: for a screening
    command's start (imports, the catalogue, compiling), whose objects all live to the end of
    the run, so that the collector does not traverse them again and again while they are
    made (about 190 young collections and a full one: 30-40 ms of a million households' 2.7
    s, docs/performance.md, 2026-12-07). Then they are frozen (``gc.freeze``: never
    traversed again, and the collection their number would set off at once is not made) and
    collections are back on, as they were."""
    enabled = gc.isenabled()
    gc.disable()

    def resume() -> None:
        gc.freeze()
        if enabled:
            gc.enable()

    try:
        yield resume
    finally:
        resume()


def keep_freed_memory() -> bool:
    """Have polars and Arrow keep their freed pages for reuse; whether a setting was made
    (none for a library already loaded, or whose variable is given)."""
    made = False
    for module, variable, value in _SETTINGS:
        if module in sys.modules or variable in os.environ:
            continue
        os.environ[variable] = value
        made = True
    return made
