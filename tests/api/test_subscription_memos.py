"""A subscription's per-event executors do not share the memos keyed by the identity of each
event's selection (shared, they grew by an entry for every event pushed, for as long as the
subscription lasted)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from graphql import ExecutionResult, build_schema, parse, subscribe

from graphql_api.projection import ProjectingExecutionContext

EVENTS = 40


class Recording(ProjectingExecutionContext):
    sizes: ClassVar[list[tuple[int, int, int]]] = []

    def build_per_event_executor(self, payload: Any) -> ProjectingExecutionContext:
        executor = super().build_per_event_executor(payload)
        # The subscription's own executor: what every event's copy started from.
        Recording.sizes.append((len(self._relevant_sub_fields), len(self._signed),
                                len(self._local)))
        return executor


def test_memos_of_a_subscription_stay_the_size_of_one_event() -> None:
    schema = build_schema("""
        type Query { a: String }
        type Tick { n: Int! m: String }
        type Subscription { tick: Tick! }
    """)

    async def ticks(*_: Any) -> AsyncIterator[dict[str, Any]]:
        for i in range(EVENTS):
            yield {"tick": {"n": i, "m": str(i)}}

    schema.subscription_type.fields["tick"].subscribe = ticks  # type: ignore[union-attr]

    async def run() -> list[ExecutionResult]:
        stream = subscribe(schema, parse("subscription { tick { n m } }"),
                           executor_class=Recording)
        if asyncio.iscoroutine(stream):
            stream = await stream
        assert not isinstance(stream, ExecutionResult), stream
        return [r async for r in stream]  # type: ignore[union-attr]

    Recording.sizes = []
    results = asyncio.run(run())
    assert [r.data for r in results] == [{"tick": {"n": i, "m": str(i)}} for i in range(EVENTS)]
    assert all(r.errors is None for r in results)
    assert len(Recording.sizes) == EVENTS
    # Without fresh memos per event, the shared ones held an entry per event pushed so far.
    assert max(max(s) for s in Recording.sizes) <= 1, Recording.sizes[-1]
