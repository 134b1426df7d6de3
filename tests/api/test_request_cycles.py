"""A finished operation leaves no reference cycle behind: its executor, variables and context
are freed by reference counting as soon as it is done. Otherwise only a collection frees
them, and the server's collector policy (graphql_api/collector.py freezes what survives a full
collection) would keep a request that was in flight during one until the next complete
collection: the memory growth measured under a stream of eventsIngest calls."""

from __future__ import annotations

import gc
import logging
import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLError

from graphql_api.schema import Context, build_schema
from services.application import Application
from services.auth import Principal
from services.config import Settings
from testing.households import random_household

MANY = """query($items: [EvaluateItem!]!) { evaluateMany(items: $items) {
  key errors { field code }
  determination { flaggedForMonitoring
    programs { program outcomes { code memberId status amount period
      reasons { ruleId text condition { expression result children { expression } } } } } } } }"""
ONE = """query($h: HouseholdFactsInput!) { evaluate(facts: $h, asOf: "2024-06-01") {
  outcomes { code status } } }"""
AS_OF = date(2024, 6, 1)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Application]]:
    folder: Path = tmp_path_factory.mktemp("cycles")
    settings = Settings(env="test", database_url=f"sqlite:///{folder / 'db.sqlite3'}")
    app = Application(settings)
    app.start()
    yield build_schema(settings), app


def _garbage_after(run: Any) -> list[str]:
    """The types of what ``run()`` left in reference cycles (the collector off meanwhile)."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        run()
        gc.collect()
        return sorted({type(o).__name__ for o in gc.garbage})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()


def test_an_evaluation_leaves_no_cycle(served: tuple[Any, Application]) -> None:
    schema, app = served
    rng = random.Random(7)
    items = [{"key": f"k{i}", "facts": random_household(rng, AS_OF, hid=f"cyc-{i}"),
              "asOf": AS_OF.isoformat()} for i in range(5)]

    def run() -> None:
        ctx = Context(app=app, principal=Principal(name="t", role="api_client"), today=AS_OF)
        result = schema.execute_sync(MANY, variable_values={"items": items}, context_value=ctx)
        assert result.errors is None and len(result.data["evaluateMany"]) == 5

    run()  # compiled plans and memos made once, outside the measured call
    assert _garbage_after(run) == []


def test_a_refused_evaluation_leaves_no_executor_behind(served: tuple[Any, Application]) -> None:
    schema, app = served
    facts = random_household(random.Random(8), AS_OF, hid="cyc-bad")
    facts["annualNetIncome"] = -1

    def run() -> None:
        ctx = Context(app=app, principal=Principal(name="t", role="api_client"), today=AS_OF)
        result = schema.execute_sync(ONE, variable_values={"h": facts}, context_value=ctx)
        assert result.errors and result.errors[0].extensions["code"] == "INVALID_FACTS"

    run()
    left = _garbage_after(run)
    assert not {"VariableValues", "Context", "_QuietExecutionContext"} & set(left), left


def test_an_internal_error_is_logged_with_its_stack_before_the_stack_goes(
        served: tuple[Any, Application], caplog: pytest.LogCaptureFixture) -> None:
    schema, _ = served

    def fail() -> None:
        raise KeyError("never shown")

    try:
        try:
            fail()
        except KeyError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as exc:
        error = GraphQLError("internal", original_error=exc)
    assert error.original_error is not None and error.original_error.__traceback__ is not None
    with caplog.at_level(logging.ERROR, logger="policy_engine"):
        schema.process_errors([error])
    logged = [r for r in caplog.records if r.getMessage() == "internal error"]
    assert len(logged) == 1
    fields = logged[0].fields  # type: ignore[attr-defined]
    assert "raise RuntimeError(\"wrapped\") from inner" in fields["traceback"]
    assert fields["exception"] == ["builtins.RuntimeError", "builtins.KeyError"]
    original = error.original_error
    assert original.__traceback__ is None and original.__cause__ is not None
    assert original.__cause__.__traceback__ is None
