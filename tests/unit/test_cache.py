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


def test_membership_is_not_counted() -> None:
    c: BoundedCache[str, int] = BoundedCache("test.membership", 2)
    c.put("a", 1)
    assert "a" in c and "b" not in c
    assert (c.hits, c.misses) == (0, 0)


def test_tree_memos_are_registered_caches() -> None:
    import engine.tree  # noqa: F401 - registers the subtree memo
    from engine.results import ConditionNode, at_depth

    leaf = ConditionNode("a > 1", "COMPARE", True, "2", "> 1", True, (), ())
    assert at_depth(leaf, 1) is leaf and at_depth(leaf, 1) is leaf
    names = {s.name for s in caches()}
    assert {"engine.condition_subtrees", "engine.tree_depths"} <= names
    depths = next(s for s in caches() if s.name == "engine.tree_depths")
    assert depths.hits >= 1 and depths.maxsize == 50_000
