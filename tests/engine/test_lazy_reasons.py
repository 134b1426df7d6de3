"""An outcome's reasons and missing facts are built when first read: a determination decides
statuses and amounts only, and what is read later is the same whatever the order, the thread
or the pickling."""

from __future__ import annotations

import json
import pickle
import random
import threading
from datetime import date

from engine.determine import determine
from engine.results import Determination, Lazy, determination_json
from policy.catalog import Catalog
from testing.households import random_household

AS_OF = date(2024, 6, 30)


def _households(seed: int, n: int, prefix: str) -> list[dict[str, object]]:
    rng = random.Random(seed)
    return [random_household(rng, AS_OF, hid=f"{prefix}-{k}", members=1 + k % 6)
            for k in range(n)]


def _json(d: Determination) -> str:
    return json.dumps([determination_json(d, lang) for lang in ("ZH", "EN")], sort_keys=True,
                      ensure_ascii=False)


def test_a_determination_builds_no_reason_until_one_is_read(catalog: Catalog) -> None:
    versions = catalog.in_force(AS_OF)
    lazy = 0
    for raw in _households(17, 10, "unread"):
        det = determine(raw, AS_OF, versions)
        for o in det.outcomes():
            assert isinstance(o.reasons, Lazy)
            assert o.reasons._items is None or o.reasons._make is None
            lazy += o.reasons._items is None
            assert o.status is not None
    assert lazy > 0


def test_reasons_read_in_threads_are_those_read_alone(catalog: Catalog) -> None:
    versions = catalog.in_force(AS_OF)
    households = _households(1717, 12, "threads")
    # Determined twice: both sets of outcomes share no read state when first read.
    alone = [_json(determine(raw, AS_OF, versions)) for raw in households]
    shared = [determine(raw, AS_OF, versions) for raw in households]
    barrier = threading.Barrier(6)
    seen: list[list[str]] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            barrier.wait()
            seen.append([_json(d) for d in shared])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(seen) == 6 and all(s == alone for s in seen)


def test_outcomes_pickle_with_their_reasons_as_tuples(catalog: Catalog) -> None:
    versions = catalog.in_force(AS_OF)
    for raw in _households(171717, 6, "pickled"):
        det = determine(raw, AS_OF, versions)
        for o in det.outcomes():
            back = pickle.loads(pickle.dumps(o))
            assert type(back.reasons) is tuple and type(back.missing_facts) is tuple
            assert back._replace(reasons=()) == o._replace(reasons=())
            assert back.missing_facts == o.missing_facts
            assert len(back.reasons) == len(o.reasons)
            for b, r in zip(back.reasons, o.reasons, strict=True):
                assert b[:5] == r[:5]  # the rule, its texts, citation and flat conditions
                assert b.condition == r.condition
