"""Documents that would cost exponential work: refused in time linear in their size, and
the server keeps answering everyone else meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from graphql import parse

from graphql_api.limits import Limits, check_document
from tests.api.conftest import Api
from tests.api.servers import serve

LIMITS = Limits(max_depth=12, max_aliases=30, max_fields=2000, max_spreads=100)


def fragment_bomb(n: int, body: str = "__typename") -> str:
    """``...F0`` where each fragment spreads the next twice: 2^n fields once expanded."""
    return ("query { ...F0 } "
            + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(n))
            + f" fragment F{n} on Query {{ {body} }}")


def codes(body: dict[str, object]) -> list[object]:
    errors = body.get("errors") or []
    assert isinstance(errors, list)
    return [e.get("extensions", {}).get("code") for e in errors]


@pytest.mark.parametrize("n", [11, 30, 45])
def test_fragments_are_counted_with_their_multiplicity(n: int) -> None:
    errors = check_document(parse(fragment_bomb(n)), LIMITS)
    assert [e.extensions["code"] for e in errors] == ["QUERY_TOO_COMPLEX"]  # type: ignore[index]
    assert str(min(2 ** n, 1 << 40)) in errors[0].message


def test_measuring_is_linear() -> None:
    # 45 doublings would be 2^45 steps for an expanding counter.
    start = time.perf_counter()
    check_document(parse(fragment_bomb(45)), LIMITS)
    assert time.perf_counter() - start < 5  # a hang guard, not a benchmark


def test_depth_and_aliases_through_fragments() -> None:
    deep = ("query { ...A } fragment A on Query { ruleSets { ...B } } "
            "fragment B on RuleSet { versions { id } }")
    assert check_document(parse(deep), LIMITS) == []
    assert check_document(parse(deep), Limits(1, 30, 2000, 100))[0].extensions == {
        "code": "QUERY_TOO_DEEP", "params": {"max": 1}}
    aliases = ("query { ...A ...A } fragment A on Query { "
               + " ".join(f"a{i}: __typename" for i in range(16)) + " }")
    errors = check_document(parse(aliases), LIMITS)
    assert [e.extensions for e in errors] == [{"code": "TOO_MANY_ALIASES",
                                              "params": {"max": 30}}]
    assert "32 aliases" in errors[0].message


def test_spreads_are_capped() -> None:
    many = ("query { " + " ".join("...A" for _ in range(101))
            + " } fragment A on Query { a: __typename }")
    errors = check_document(parse(many), LIMITS)
    assert [e.extensions for e in errors] == [{"code": "QUERY_TOO_COMPLEX"}]
    assert "101 fragment spreads" in errors[0].message


def test_cycles_and_unknown_fragments_are_left_to_validation(api: Api) -> None:
    cyclic = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
    assert check_document(parse(cyclic), LIMITS) == []
    body = api.gql(cyclic)
    assert "cannot spread fragment" in body["errors"][0]["message"].lower()
    assert "unknown fragment" in api.gql("query { ...Nope }")["errors"][0]["message"].lower()


def test_the_bomb_over_graphql(api: Api) -> None:
    body = api.gql(fragment_bomb(30))
    assert codes(body) == ["QUERY_TOO_COMPLEX"] and body["data"] is None


@pytest.fixture(scope="module")
def prod_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory.mktemp("limits")) as base:
        yield base


def _round(base: str) -> tuple[float, float, list[object]]:
    """Send the bomb (N=30) from one thread while /healthz is polled from another: the
    bomb's answer time, the slowest /healthz and the bomb's error codes."""
    answer: dict[str, object] = {}

    def bomb() -> None:
        with httpx.Client(timeout=30) as c:
            start = time.perf_counter()
            r = c.post(f"{base}/graphql", json={"query": fragment_bomb(30)})
            answer["seconds"] = time.perf_counter() - start
            answer["codes"] = codes(r.json())

    health: list[float] = []
    with httpx.Client(timeout=30) as c:
        c.get(f"{base}/healthz")  # the connection is open before the bomb is sent
        thread = threading.Thread(target=bomb)
        thread.start()
        while thread.is_alive() or len(health) < 5:
            start = time.perf_counter()
            assert c.get(f"{base}/healthz").status_code == 200
            health.append(time.perf_counter() - start)
        thread.join()
    seconds = answer["seconds"]
    assert isinstance(seconds, float)
    found = answer["codes"]
    assert isinstance(found, list)
    return seconds, max(health), found


def test_the_bomb_against_a_real_server(prod_server: str) -> None:
    """The issue's figures: the limit error in under 100 ms, /healthz under 50 ms. The
    machine that runs the tests is shared (a load of 10 on 2 cores while others' suites run),
    so rounds are repeated until one meets both, at most ten; a server that did the
    exponential work could meet neither in any round (it took seconds at N=19 and did not
    answer at N=30). Every round must refuse the bomb, and quickly enough not to be a hang."""
    rounds = []
    for _ in range(10):
        seconds, health, found = _round(prod_server)
        assert found == ["QUERY_TOO_COMPLEX"]
        assert seconds < 5, seconds  # a hang guard
        rounds.append((round(seconds, 4), round(health, 4)))
        if seconds < 0.1 and health < 0.05:
            return
    raise AssertionError(f"no round met 100 ms / 50 ms: {rounds}")


def test_refused_documents_are_not_reworked(tmp_path: Path, api: Api) -> None:
    # The second identical bomb is answered from the validation cache: same answer.
    first, second = api.gql(fragment_bomb(40)), api.gql(fragment_bomb(40))
    assert first == second and codes(first) == ["QUERY_TOO_COMPLEX"]


def _validate_with(seconds: float, *, waits: float, collects: float = 0.0) -> list[str]:
    """Validate a 200-field query under the time budget, with a rule that makes the validating
    thread wait (not work) ``waits`` seconds first, as a loaded machine would, and then spend
    about ``collects`` seconds of CPU inside a garbage collection."""
    import gc

    from graphql import build_schema, validate
    from graphql.validation import ValidationRule

    from graphql_api.limits import ValidationTimeout, deadline_rule

    def busy_collection(phase: str, _info: dict[str, object]) -> None:
        if phase == "start":
            until = time.thread_time() + collects
            while time.thread_time() < until:
                pass

    class Waits(ValidationRule):
        def enter_document(self, *_args: object) -> None:
            time.sleep(waits)
            if collects:
                gc.callbacks.append(busy_collection)
                try:
                    gc.collect(0)
                finally:
                    gc.callbacks.remove(busy_collection)

    schema = build_schema("type Query { a: Int }")
    document = parse("{ " + " ".join(f"f{i}: a" for i in range(200)) + " }")
    try:
        errors = validate(schema, document, rules=[Waits, deadline_rule(seconds)])
    except ValidationTimeout:
        return ["TIMEOUT"]
    return [e.message for e in errors]


def test_the_validation_budget_counts_work_not_waiting() -> None:
    # No CPU budget at all: refused once the validator has entered 64 nodes.
    assert _validate_with(0.0, waits=0.0) == ["TIMEOUT"]
    # Waiting longer than the budget (the machine busy with others) refuses nothing.
    assert _validate_with(0.05, waits=0.2) == []
    # Nor does a garbage collection that runs during validation and takes longer than the
    # budget: it is the process's work, not the document's.
    assert _validate_with(0.05, waits=0.0, collects=0.2) == []
