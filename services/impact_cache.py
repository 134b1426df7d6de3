"""Stored households' batches as validated for a date, kept for the next impact previews.

An editor previews a draft again and again over the same stored households (after each change
of a parameter, for each draft of a department), and validating their facts' JSON in columns
(``engine.batch.lines.check_lines``: the strict reader, then the vectorised checks) is, after
evaluating, the largest part of a preview (1.1-1.3 CPU s of 100,000 households with Arrow's
JSON reader, about a third of that with the strict one). What
``check_lines`` gives is a function of the block's bytes and the date alone, so a batch is kept
under the SHA-256 of its exact text (0.13 CPU s for 100,000 households' 150 MB) and the date:
a batch found is what validating it again would give, and a household whose facts changed
changes its batch's text, which is then validated anew. Nothing is trusted that was not
validated from these very bytes in this process.

The least recently used batches go first once more than ``limit`` households are kept (the
validated frames take about 0.3 KB a household: 140 MB for the default 500,000).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from datetime import date

from engine.batch.layout import Checked
from engine.batch.lines import check_lines
from policy.cache import CacheStats, register

CACHED_HOUSEHOLDS = 500_000


class CheckedBatches:
    """``check_lines(block, 1, as_of)``, remembered for the last ``limit`` households' lines.

    Its counts are on /metrics with the memos' (``policy_engine_cache_*{cache="impact.
    checked_households"}``): batches found and validated anew, and, as its entries and bound,
    the households held and the most it holds."""

    name = "impact.checked_households"

    def __init__(self, limit: int = CACHED_HOUSEHOLDS):
        self.limit = limit
        self._kept: OrderedDict[tuple[date, bytes], tuple[Checked, int]] = OrderedDict()
        self._lines = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        register(self)

    def stats(self) -> CacheStats:
        return CacheStats(self.name, self.hits, self.misses, self._lines, self.limit)

    def __len__(self) -> int:
        return len(self._kept)

    def check(self, block: bytes, lines: int, as_of: date) -> Checked:
        """The block (``lines`` whole JSON Lines) validated as of ``as_of``."""
        key = (as_of, hashlib.sha256(block).digest())
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                self.hits += 1
                return found[0]
            self.misses += 1
        checked = check_lines(block, 1, as_of)
        if lines > self.limit:
            return checked
        with self._lock:
            if key not in self._kept:
                self._kept[key] = (checked, lines)
                self._lines += lines
                while self._lines > self.limit:
                    _, (_, gone) = self._kept.popitem(last=False)
                    self._lines -= gone
        return checked
