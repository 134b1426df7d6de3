"""One small bounded cache for the memos of the process, with hit, miss and size counts.

A ``BoundedCache`` keeps at most ``maxsize`` entries; when full, the oldest entry goes (first
in, first out: no bookkeeping on a hit, which keeps the hot paths that use it cheap). Every
cache registers itself by name, and the service publishes the counts on /metrics
(``caches()``). A memo keyed by an object's ``id`` must keep that object in its value and
check it on a hit: the entry then keeps it alive, so the id is not reused while the entry
exists, and a hit on an evicted-then-reused id is told apart.

The entries are kept in an ``OrderedDict``: evicting the oldest is ``popitem(last=False)``, in
constant time. (A plain dict evicting ``next(iter(data))`` walks over the slots of every entry
deleted since the dict last resized: about 20 µs a put in a full cache of 50,000 entries.)

Safe under threads without a lock: a read is one ``get``; a racing eviction at worst evicts one
entry too many. The counts are best-effort figures for monitoring.

>>> c: BoundedCache[str, int] = BoundedCache("doctest", 2)
>>> c.get_or_make("a", lambda: 1), c.get_or_make("a", lambda: 2), c.get("b")
(1, 1, None)
>>> _ = c.put("b", 2); _ = c.put("c", 3)
>>> c.get("a"), len(c), c.hits, c.misses
(None, 2, 1, 3)
"""

from __future__ import annotations

import functools
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_REGISTRY: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()


@dataclass(frozen=True)
class CacheStats:
    """A cache's counts: hits and misses since the process started, entries now, the bound."""

    name: str
    hits: int
    misses: int
    size: int
    maxsize: int


class Counted(Protocol):
    """A cache of another kind that publishes its counts with the memos."""

    @property
    def name(self) -> str: ...

    def stats(self) -> CacheStats: ...


def register(cache: Counted) -> None:
    """Publish ``cache``'s counts with the memos', under its name (unique; held weakly)."""
    _REGISTRY[cache.name] = cache


class BoundedCache(Generic[K, V]):
    """A memo of at most ``maxsize`` entries, registered under ``name`` (unique)."""

    __slots__ = ("__weakref__", "_data", "hits", "maxsize", "misses", "name")

    def __init__(self, name: str, maxsize: int):
        if maxsize < 1:
            raise ValueError("a cache holds at least one entry")
        self.name = name
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[K, V] = OrderedDict()
        register(self)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: K) -> bool:
        """Whether ``key`` is remembered (not counted as a hit or a miss)."""
        return key in self._data

    def get(self, key: K) -> V | None:
        """The value remembered for ``key``, or None (a miss)."""
        value = self._data.get(key)
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def put(self, key: K, value: V) -> V:
        """Remember a value (the oldest entry goes when the cache is full); returns it."""
        return remember(self._data, key, value, self.maxsize)

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The value remembered for ``key``, or ``make()`` remembered."""
        found = self.get(key)
        return found if found is not None else self.put(key, make())

    def clear(self) -> None:
        self._data.clear()

    def stats(self) -> CacheStats:
        return CacheStats(self.name, self.hits, self.misses, len(self._data), self.maxsize)


def remember(memo: OrderedDict[K, V], key: K, value: V, limit: int) -> V:
    """Put ``value`` in ``memo`` under ``key`` and return it; past ``limit`` entries the oldest
    goes, one at a time. Never the whole memo at once: emptying a memo of 50,000 explained
    outcomes frees them all in one go, 50-120 ms during which the process answers nobody
    (docs/performance.md, "Memos emptied at once").

    >>> m: OrderedDict[str, int] = OrderedDict()
    >>> [remember(m, k, v, 2) for k, v in (("a", 1), ("b", 2), ("c", 3))], list(m)
    ([1, 2, 3], ['b', 'c'])
    """
    memo[key] = value
    while len(memo) > limit:  # (more than one over when threads put at once)
        try:
            memo.popitem(last=False)
        except KeyError:  # another thread emptied it
            break
    return value


def caches() -> list[CacheStats]:
    """The counts of every cache alive in the process, by name."""
    return sorted((c.stats() for c in list(_REGISTRY.values())), key=lambda s: s.name)


F = TypeVar("F", bound=Callable[..., Any])


def per_instance(method: F) -> F:
    """Memoise a method per instance (its results live and die with the object, unlike
    ``functools.cache`` on a method, which keeps every instance alive for good).

    >>> class A:
    ...     calls = 0
    ...     @per_instance
    ...     def twice(self, x: int) -> int:
    ...         A.calls += 1
    ...         return 2 * x
    >>> a = A(); a.twice(2), a.twice(2), A.calls
    (4, 4, 1)
    """
    attribute = f"_memo_{method.__name__}"

    @functools.wraps(method)
    def memoised(self: Any, *args: Any, **kwargs: Any) -> Any:
        memo: dict[Hashable, Any] | None = self.__dict__.get(attribute)
        if memo is None:
            memo = self.__dict__[attribute] = {}
        key = (args, tuple(sorted(kwargs.items()))) if kwargs else args
        try:
            return memo[key]
        except KeyError:
            value = memo[key] = method(self, *args, **kwargs)
            return value

    return cast(F, memoised)
