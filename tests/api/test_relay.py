"""graphql_api.relay: a worker's operations in the order they came; a long one holds up the
rest for at most the patience."""

from __future__ import annotations

import contextvars
import threading
import time

import anyio
import pytest

from graphql_api.relay import Relay

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


def test_short_operations_run_one_after_another_in_the_order_they_came() -> None:
    relay = Relay(threads=8, patience=1.0)
    log: list[str] = []

    def op(name: str) -> str:
        log.append(f"{name} starts")
        time.sleep(0.01)
        log.append(f"{name} ends")
        return name.upper()

    async def main() -> list[str]:
        results: list[str] = []

        async def one(name: str) -> None:
            results.append(await relay.run(lambda: op(name)))

        async with anyio.create_task_group() as tg:
            for name in "abcd":
                tg.start_soon(one, name)
                await anyio.sleep(0)  # handed over in this order
        return results

    assert anyio.run(main) == ["A", "B", "C", "D"]
    assert log == [f"{n} {e}" for n in "abcd" for e in ("starts", "ends")]


def test_a_long_operation_lets_the_next_start_after_the_patience() -> None:
    relay = Relay(threads=8, patience=0.05)
    release = threading.Event()
    started: dict[str, float] = {}

    def long() -> None:
        started["long"] = time.monotonic()
        assert release.wait(10)

    def short() -> None:
        started["short"] = time.monotonic()
        release.set()

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(relay.run, long)
            await anyio.sleep(0.01)
            tg.start_soon(relay.run, short)

    anyio.run(main)
    assert 0.04 <= started["short"] - started["long"] < 5


def test_errors_reach_the_caller_and_the_callers_context_is_copied() -> None:
    relay = Relay(threads=2)

    def fails() -> None:
        raise ValueError("no")

    def reads() -> str:
        seen = WHO.get()
        WHO.set("thread")  # the caller's copy only
        return seen

    async def main() -> tuple[str, str]:
        with pytest.raises(ValueError, match="no"):
            await relay.run(fails)
        WHO.set("caller")
        return await relay.run(reads), WHO.get()

    assert anyio.run(main) == ("caller", "caller")
