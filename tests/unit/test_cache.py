"""The bounded cache helper: bounded, counted, registered for /metrics; per-instance memos
die with their instance."""

from __future__ import annotations

import gc
import weakref

from policy.cache import BoundedCache, caches, per_instance


def test_bounded_cache_keeps_at_most_maxsize_and_counts() -> None:
    c: BoundedCache[int, str] = BoundedCache("test.bounded", 3)
    for i in range(10):
        c.put(i, str(i))
        assert len(c) <= 3
    assert [c.get(i) for i in (6, 7, 8, 9)] == [None, "7", "8", "9"]
    assert (c.hits, c.misses) == (3, 1)
    assert c.get_or_make(1, lambda: "one") == "one" and c.get(1) == "one"
    stats = next(s for s in caches() if s.name == "test.bounded")
    assert (stats.size, stats.maxsize, stats.hits, stats.misses) == (3, 3, 4, 2)


def test_per_instance_memo_dies_with_its_instance() -> None:
    calls: list[int] = []

    class Thing:
        @per_instance
        def square(self, x: int, *, plus: int = 0) -> int:
            calls.append(x)
            return x * x + plus

    t = Thing()
    assert (t.square(3), t.square(3), t.square(3, plus=1)) == (9, 9, 10)
    assert calls == [3, 3]
    ref = weakref.ref(t)
    del t
    gc.collect()
    assert ref() is None  # functools.cache on the method would have kept it
