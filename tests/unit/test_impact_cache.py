"""Validated batches kept for the next impact previews (``services.impact_cache``): a batch
found is what validating its bytes gives, a changed byte or another date validates anew, and
no more than the limit's households are kept."""

from __future__ import annotations

import json
import random
from datetime import date

from engine.batch.layout import Checked
from engine.batch.lines import check_lines
from services.impact_cache import CheckedBatches
from testing.households import random_household

AS_OF = date(2024, 6, 1)


def block(seed: int, n: int) -> bytes:
    rng = random.Random(seed)
    return b"".join(json.dumps(random_household(rng, AS_OF, f"hh-{seed}-{i}")).encode() + b"\n"
                    for i in range(n))


def same(a: Checked, b: Checked) -> bool:
    return (a.households.equals(b.households) and a.members.equals(b.members)
            and a.errors.equals(b.errors) and a.first_rows.equals(b.first_rows)
            and a.rejected == b.rejected)


def test_a_batch_is_validated_once_per_text_and_date() -> None:
    cache = CheckedBatches()
    text = block(1, 20)
    first = cache.check(text, 20, AS_OF)
    assert same(first, check_lines(text, 1, AS_OF))
    assert cache.check(text, 20, AS_OF) is first
    # A household born after an earlier date is invalid then: the date is part of the key.
    earlier = date(1990, 1, 1)
    then = cache.check(text, 20, earlier)
    assert then is not first and same(then, check_lines(text, 1, earlier))
    assert then.households.height < first.households.height
    # One byte changed (an income) is another batch.
    changed = text.replace(b'"annualNetIncome": ', b'"annualNetIncome": 1', 1)
    assert changed != text
    again = cache.check(changed, 20, AS_OF)
    assert again is not first and same(again, check_lines(changed, 1, AS_OF))
    assert not same(again, first)


def test_no_more_than_the_limit_is_kept() -> None:
    cache = CheckedBatches(limit=25)
    texts = [block(seed, 10) for seed in range(4)]
    for text in texts:
        cache.check(text, 10, AS_OF)
    assert len(cache) == 2  # the last two: 20 households
    kept = cache.check(texts[3], 10, AS_OF)
    assert cache.check(texts[3], 10, AS_OF) is kept
    assert cache.check(texts[0], 10, AS_OF) is not cache.check(texts[1], 10, AS_OF)
    small = CheckedBatches(limit=5)
    small.check(texts[0], 10, AS_OF)  # larger than the whole limit: not kept
    assert len(small) == 0


def test_its_counts_are_published_with_the_memos() -> None:
    from prometheus_client import generate_latest

    from graphql_api.observability import REGISTRY
    from policy.cache import caches

    cache = CheckedBatches(limit=100)
    text = block(7, 12)
    cache.check(text, 12, AS_OF)
    cache.check(text, 12, AS_OF)
    cache.check(block(8, 3), 3, AS_OF)
    (stats,) = [s for s in caches() if s.name == "impact.checked_households"]
    assert (stats.hits, stats.misses, stats.size, stats.maxsize) == (1, 2, 15, 100)
    metrics = generate_latest(REGISTRY).decode()
    assert 'policy_engine_cache_hits_total{cache="impact.checked_households"} 1.0' in metrics
    assert 'policy_engine_cache_entries{cache="impact.checked_households"} 15.0' in metrics
