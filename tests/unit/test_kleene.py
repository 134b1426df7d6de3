"""``k_and_of`` and ``k_or_of`` (an ``and``/``or`` evaluated operand by operand) mean what
``k_and`` and ``k_or`` mean, and read no operand past the one that decides."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from policy.semantics import UNKNOWN, Value, k_and, k_and_of, k_or, k_or_of

VALUES: tuple[Value, ...] = (True, False, UNKNOWN)


def _operands(values: tuple[Value, ...], read: list[int]) -> list[Callable[[None], Value]]:
    def operand(i: int, v: Value) -> Callable[[None], Value]:
        def f(scope: None) -> Value:
            read.append(i)
            return v
        return f

    return [operand(i, v) for i, v in enumerate(values)]


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4])
def test_lazy_connectives_agree_with_the_connectives(n: int) -> None:
    for values in itertools.product(VALUES, repeat=n):
        for lazy, eager, stop in ((k_and_of, k_and, False), (k_or_of, k_or, True)):
            read: list[int] = []
            assert lazy(_operands(values, read), None) is eager(list(values)), (lazy, values)
            # Read in order, up to the first operand that decides (all when none does).
            last = values.index(stop) if stop in values else n - 1
            assert read == list(range(last + 1)), (lazy, values, read)
