"""The server's garbage-collector policy: survivors of every collection are frozen (the older
generations stay nearly empty, so a middle or full collection is short), and a complete
collection still finds cycles that died among frozen objects."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from graphql_api import collector


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def installed() -> Iterator[None]:
    collector.install(full_every=600)
    try:
        yield
    finally:
        collector.uninstall()


def cycle() -> Node:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a


def test_survivors_of_a_full_collection_are_frozen(installed: None) -> None:
    assert gc.get_freeze_count() > 0
    keep = [Node() for _ in range(1000)]
    before = collector.stats["freezes"]
    gc.collect(2)
    assert collector.stats["freezes"] == before + 1
    assert gc.get_count()[0] < 1000 and gc.get_freeze_count() >= len(keep)


def test_survivors_of_a_middle_collection_are_frozen(installed: None) -> None:
    frozen = gc.get_freeze_count()  # young collections while they are made freeze some
    keep = [Node() for _ in range(1000)]
    before = collector.stats["freezes"]
    gc.collect(1)
    assert collector.stats["freezes"] == before + 1
    assert gc.get_freeze_count() >= frozen + len(keep)
    # nothing reaches the oldest generation: what a full collection would walk stays small
    assert len(gc.get_objects(generation=2)) < 100


def test_survivors_of_a_young_collection_are_frozen(installed: None) -> None:
    # a middle collection would walk what ten young ones let through (the answers in flight)
    frozen = gc.get_freeze_count()  # young collections while they are made freeze some
    young = [Node() for _ in range(1000)]
    before = collector.stats["freezes"]
    gc.collect(0)
    assert collector.stats["freezes"] == before + 1
    assert gc.get_freeze_count() >= frozen + len(young)
    assert len(gc.get_objects(generation=1)) < 100


def test_a_cycle_frozen_by_a_young_collection_is_found_by_the_complete_one(
        installed: None) -> None:
    alive = [cycle()]
    dead = weakref.ref(alive[0])
    gc.collect(0)
    alive.clear()
    gc.collect()
    assert dead() is not None
    assert collector.complete_collection() >= 2
    assert dead() is None


def test_a_cycle_frozen_by_a_middle_collection_is_found_by_the_complete_one(
        installed: None) -> None:
    alive = [cycle()]
    dead = weakref.ref(alive[0])
    gc.collect(1)  # alive then: frozen with the survivors
    alive.clear()
    gc.collect()
    assert dead() is not None  # frozen garbage: only the complete collection looks at it
    assert collector.complete_collection() >= 2
    assert dead() is None


def test_a_complete_collection_finds_cycles_among_frozen_objects(installed: None) -> None:
    alive = [cycle()]
    dead = weakref.ref(alive[0])
    gc.collect(2)  # the cycle is alive then, so it is frozen with the survivors
    alive.clear()  # now it is garbage, among frozen objects
    assert dead() is not None
    gc.collect()  # frozen: an ordinary collection does not look at it
    assert dead() is not None
    assert collector.complete_collection() >= 2
    assert dead() is None
    assert gc.get_freeze_count() > 0  # survivors frozen again


def test_the_complete_collection_runs_when_its_period_is_due(installed: None) -> None:
    runs = collector.stats["complete_collections"]
    assert not collector.maybe_complete_collection()
    assert collector.maybe_complete_collection(now=collector._state["last_complete"] + 601)
    assert collector.stats["complete_collections"] == runs + 1


def test_pauses_are_timed_per_generation_and_published(installed: None) -> None:
    from graphql_api.observability import metrics_text

    before = list(collector.pause_seconds)
    keep = [Node() for _ in range(20_000)]
    gc.collect(1)
    assert collector.pause_seconds[1] > before[1]
    assert collector.longest_pause[1] > 0
    text = metrics_text().decode()
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines()
                 if line.startswith("policy_engine_gc_"))
    assert float(lines['policy_engine_gc_pause_seconds_total{generation="1"}']) == \
        collector.pause_seconds[1]
    assert float(lines["policy_engine_gc_frozen_objects"]) >= len(keep)
    runs = float(lines["policy_engine_gc_complete_collections_total"])
    collector.complete_collection()
    text = metrics_text().decode()
    assert f"policy_engine_gc_complete_collections_total {runs + 1}" in text
