"""What an integrating system relies on around each call: CORS for browsers on listed origins,
idempotency keys, per-token rate limits and the query cost, trusted operations, tracing
(traceparent) and the metrics endpoint."""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from graphql_api.app import create_app
from graphql_api.operability import SharedRateLimiter, document_hash
from services.application import Application, Tokens
from services.config import Settings
from tests.api.conftest import BACKENDS, Api, AppClient, _tokens, fresh_engine
from tests.api.servers import pids_of, serve, wait_for_workers
from tests.api.test_households import hh, save

JSON = {"content-type": "application/json"}
ORIGIN = "https://console.county.example"


def _app(folder: Path, backend: str = "sqlite", **settings: Any) -> Iterator[Api]:
    for engine in fresh_engine(backend, folder):
        s = Settings(**settings)
        application = Application(s, engine)
        yield Api(application, AppClient(create_app(s, application)), _tokens(application))


def _post(api: Api, body: dict[str, Any], token: str | None = None,
          **headers: str) -> Any:
    h = {**JSON, **headers}
    if token is not None:
        h["authorization"] = f"Bearer {api.tokens[token]}"
    return api.client.post("/graphql", json=body, headers=h)


# --- CORS ---------------------------------------------------------------------------------

PREFLIGHT = {"access-control-request-method": "POST",
             "access-control-request-headers": "authorization, content-type, idempotency-key"}


def test_cors_preflight_allowed_and_refused(tmp_path: Path) -> None:
    for api in _app(tmp_path, env="prod", cors_origins=[ORIGIN]):
        allowed = api.client.request("OPTIONS", "/graphql",
                                     headers={"origin": ORIGIN, **PREFLIGHT})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == ORIGIN
        assert "idempotency-key" in allowed.headers["access-control-allow-headers"].lower()

        refused = api.client.request("OPTIONS", "/graphql",
                                     headers={"origin": "https://evil.example", **PREFLIGHT})
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers

        answer = _post(api, {"query": "{ __typename }"}, origin=ORIGIN)
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == ORIGIN
        other = _post(api, {"query": "{ __typename }"}, origin="https://evil.example")
        assert "access-control-allow-origin" not in other.headers


def test_no_cors_without_an_allow_list(api: Api) -> None:
    preflight = api.client.request("OPTIONS", "/graphql", headers={"origin": ORIGIN,
                                                                   **PREFLIGHT})
    assert preflight.status_code == 405
    assert "access-control-allow-origin" not in preflight.headers


# --- idempotency --------------------------------------------------------------------------

DETERMINE = """mutation($id: ID!, $asOf: Date!, $key: String) {
  householdDetermine(id: $id, asOf: $asOf, idempotencyKey: $key) {
    record { id } determination { flaggedForMonitoring outcomes { code status amount } }
    userErrors { field code message } } }"""


def _records(api: Api, household_id: str) -> int:
    with api.application.uow() as uow:
        return len(uow.determinations.for_household(household_id))


def test_the_same_idempotency_key_twice_gives_one_record(api: Api) -> None:
    hid = "idem-1"
    save(api, hh(hid, "371300-001"), "caseworker")
    before = _records(api, hid)
    variables = {"id": hid, "asOf": "2024-06-01"}
    first = api.gql(DETERMINE, variables, token="caseworker", **{"idempotency-key": "k-1"})
    again = api.gql(DETERMINE, variables, token="caseworker", **{"idempotency-key": "k-1"})
    assert "errors" not in first and "errors" not in again, (first, again)
    one, two = first["data"]["householdDetermine"], again["data"]["householdDetermine"]
    assert one["userErrors"] == [] and two == one
    assert _records(api, hid) == before + 1

    # the argument does what the header does
    by_argument = [api.gql(DETERMINE, {**variables, "key": "k-2"}, token="caseworker")
                   ["data"]["householdDetermine"] for _ in range(2)]
    assert by_argument[0] == by_argument[1] and by_argument[0]["record"]["id"] != \
        one["record"]["id"]
    assert _records(api, hid) == before + 2

    # the same key with other arguments is refused, and records nothing
    other = api.gql(DETERMINE, {**variables, "asOf": "2024-07-01"}, token="caseworker",
                    **{"idempotency-key": "k-1"})["data"]["householdDetermine"]
    assert other["record"] is None
    assert [(e["field"], e["code"]) for e in other["userErrors"]] == [
        ("idempotencyKey", "IDEMPOTENCY_KEY_REUSED")]
    assert _records(api, hid) == before + 2

    # without a key, every call records
    api.gql(DETERMINE, variables, token="caseworker")
    assert _records(api, hid) == before + 3


def test_keys_are_per_caller_and_checked(api: Api) -> None:
    hid = "idem-2"
    save(api, hh(hid, "371300-001"), "caseworker")
    before = _records(api, hid)
    variables = {"id": hid, "asOf": "2024-06-01", "key": "shared"}
    mine = api.gql(DETERMINE, variables, token="caseworker")["data"]["householdDetermine"]
    assert mine["userErrors"] == []
    # another caller's key of the same text is another key: a record of its own
    theirs = api.gql(DETERMINE, variables,
                     token="county_caseworker")["data"]["householdDetermine"]
    assert theirs["userErrors"] == [] and theirs["record"]["id"] != mine["record"]["id"]
    assert _records(api, hid) == before + 2
    bad = api.gql(DETERMINE, {**variables, "key": "x" * 129},
                  token="caseworker")["data"]["householdDetermine"]
    assert [e["code"] for e in bad["userErrors"]] == ["INVALID_IDEMPOTENCY_KEY"]
    assert _records(api, hid) == before + 2


# --- rate limits and cost -----------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_429_after_the_limit_with_retry_after(tmp_path: Path, backend: str) -> None:
    for api in _app(tmp_path, backend, env="prod", rate_limit_per_minute=3):
        query = {"query": "{ __typename }"}
        answers = [_post(api, query, token="caseworker") for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        refused = _post(api, query, token="caseworker")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 20
        error = refused.json()["errors"][0]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["message"] == f"请求过于频繁，请 {refused.headers['retry-after']} 秒后重试"
        # another token has its own budget
        assert _post(api, query, token="caseworker2").status_code == 200


def _take_in_child(path: str, per_minute: int, key: str, n: int, out: Any) -> None:
    limiter = SharedRateLimiter(path, per_minute)
    out.put([limiter.take(key) for _ in range(n)])


def test_the_shared_limit_holds_across_processes(tmp_path: Path) -> None:
    """Worker processes share one budget a token: what one spent, the other cannot."""
    path = str(tmp_path / "limits")
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    child = context.Process(target=_take_in_child, args=(path, 5, "token-a", 3, out))
    child.start()
    spent = out.get(timeout=60)
    child.join(60)
    assert spent == [0.0, 0.0, 0.0]
    here = SharedRateLimiter(path, 5)
    assert [here.take("token-a") == 0.0 for _ in range(3)] == [True, True, False]
    assert 0 < here.take("token-a") <= 12.0  # one token every 12 s at 5 a minute
    assert here.take("token-b") == 0.0  # another key, its own budget


def test_429_across_the_workers_of_one_server(tmp_path: Path) -> None:
    """`serve --workers 2`: the limit is the server's, not each worker's. Once both workers
    serve, bursts of twice the limit's requests at once, each on a connection of its own, until
    both workers have answered some (their log lines say which; the kernel hands connections
    to either, so one burst may all go to one): only the limit's worth go ahead in all."""
    url = f"sqlite:///{tmp_path / 'limits.sqlite3'}"
    application = Application(Settings(database_url=url, env="prod"))
    application.start()
    token = Tokens(application).create(role="caseworker", name="cw-limits",
                                       regions=["371300-001"])
    application.engine.dispose()
    limit = 10
    answers: list[httpx.Response] = []
    workers: set[int] = set()
    with serve(tmp_path, "--workers", "2", database_url=url,
               env={"POLICY_ENGINE_RATE_LIMIT_PER_MINUTE": str(limit)}) as base:
        wait_for_workers(base, tmp_path, 2)  # /healthz is not rate-limited

        def post(i: int) -> httpx.Response:
            with httpx.Client(timeout=30) as client:  # a fresh connection each
                return client.post(f"{base}/graphql", json={"query": "{ __typename }"},
                                   headers={"authorization": f"Bearer {token}",
                                            "x-request-id": f"limit{i}"})
        start = time.monotonic()
        for burst in range(10):
            with ThreadPoolExecutor(max_workers=2 * limit) as pool:
                answers += pool.map(post, range(burst * 2 * limit, (burst + 1) * 2 * limit))
            workers = pids_of(tmp_path, [f"limit{i}" for i in range(len(answers))])
            if len(workers) == 2:
                break
        elapsed = time.monotonic() - start
    assert len(workers) == 2, "both workers answered some of the requests"
    statuses = [a.status_code for a in answers]
    assert set(statuses) == {200, 429}, statuses
    # the budget refills one request every 6 s: at most that many more while they ran
    assert limit <= statuses.count(200) <= limit + int(elapsed * limit / 60), statuses
    refused = answers[statuses.index(429)]
    assert 1 <= int(refused.headers["retry-after"]) <= 60 / limit + 1
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


def test_the_query_cost_is_reported(api: Api) -> None:
    body = api.gql("{ __typename }")
    assert body["extensions"]["cost"] == {"requestedFields": 1, "maximumFields": 2000}
    body = api.gql("query { ...F ...F } fragment F on Query { a: __typename b: __typename }")
    assert body["extensions"]["cost"]["requestedFields"] == 4


# --- trusted operations -------------------------------------------------------------------

REGISTERED = "query Sets { ruleSets { code } }"


def test_api_clients_run_only_registered_operations_in_prod(tmp_path: Path) -> None:
    manifest = tmp_path / "trusted.json"
    manifest.write_text(json.dumps({document_hash(REGISTERED): REGISTERED}), encoding="utf-8")
    for api in _app(tmp_path, env="prod", trusted_operations_file=str(manifest)):
        refused = _post(api, {"query": "{ ruleSets { code owner } }"}, token="api_client")
        assert refused.status_code == 200
        body = refused.json()
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"

        by_text = _post(api, {"query": REGISTERED}, token="api_client").json()
        assert "errors" not in by_text and by_text["data"]["ruleSets"]
        by_hash = _post(api, {"extensions": {"persistedQuery": {
            "version": 1, "sha256Hash": document_hash(REGISTERED)}}}, token="api_client").json()
        assert by_hash["data"] == by_text["data"]
        # other roles are not restricted
        other = _post(api, {"query": "{ ruleSets { code owner } }"}, token="caseworker").json()
        assert "errors" not in other


def test_a_manifest_entry_must_hash_to_its_document(tmp_path: Path) -> None:
    manifest = tmp_path / "trusted.json"
    manifest.write_text(json.dumps({"0" * 64: REGISTERED}), encoding="utf-8")
    with pytest.raises(ValueError, match="not the sha256"):
        list(_app(tmp_path, env="prod", trusted_operations_file=str(manifest)))


# --- tracing ------------------------------------------------------------------------------

_SPANS = InMemorySpanExporter()


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(_SPANS))
    return _SPANS


def test_spans_honour_traceparent(tmp_path: Path, spans: InMemorySpanExporter) -> None:
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    for api in _app(tmp_path, env="prod", tracing="console"):
        spans.clear()
        _post(api, {"query": "query Probe { __typename }"},
              traceparent=f"00-{trace_id}-{parent}-01")
        (span,) = [s for s in spans.get_finished_spans() if s.name == "graphql.operation"]
        assert format(span.context.trace_id, "032x") == trace_id
        assert span.parent is not None and format(span.parent.span_id, "016x") == parent
        assert span.attributes is not None
        assert span.attributes["graphql.operation.name"] == "Probe"


def test_an_unsampled_parent_makes_no_span_and_no_parent_makes_a_root(
        tmp_path: Path, spans: InMemorySpanExporter) -> None:
    for api in _app(tmp_path, env="prod", tracing="console", tracing_root_ratio=1.0):
        spans.clear()
        _post(api, {"query": "{ __typename }"},
              traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
        assert [s for s in spans.get_finished_spans() if s.name == "graphql.operation"] == []
        _post(api, {"query": "{ __typename }"}, traceparent="garbage")
        (root,) = [s for s in spans.get_finished_spans() if s.name == "graphql.operation"]
        assert root.parent is None


def test_a_share_of_untraced_requests_gets_a_root_span(
        tmp_path: Path, spans: InMemorySpanExporter) -> None:
    """By default one request in ten without a traceparent (at random); a sampled parent
    always."""
    for api in _app(tmp_path, env="prod", tracing="console"):
        spans.clear()
        for _ in range(200):
            _post(api, {"query": "{ __typename }"})
        roots = [s for s in spans.get_finished_spans() if s.name == "graphql.operation"]
        assert 2 <= len(roots) <= 50, len(roots)  # 20 expected; 2-50 is beyond doubt
        spans.clear()
        for _ in range(5):
            _post(api, {"query": "{ __typename }"},
                  traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        assert len([s for s in spans.get_finished_spans()
                    if s.name == "graphql.operation"]) == 5
    for api in _app(tmp_path / "none", env="prod", tracing="console", tracing_root_ratio=0.0):
        spans.clear()
        for _ in range(20):
            _post(api, {"query": "{ __typename }"})
        assert [s for s in spans.get_finished_spans() if s.name == "graphql.operation"] == []


def test_no_spans_unless_configured(api: Api, spans: InMemorySpanExporter) -> None:
    spans.clear()
    api.gql("{ __typename }", traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    assert [s for s in spans.get_finished_spans() if s.name == "graphql.operation"] == []


# --- metrics ------------------------------------------------------------------------------


def test_metrics_count_operations_and_errors_by_code_with_process_metrics(api: Api) -> None:
    api.gql("{ nope }")
    api.gql("{ __typename }")
    text = api.client.get("/metrics").text
    assert 'policy_engine_graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED"}' in text
    assert 'policy_engine_graphql_operations_total{outcome="ok"}' in text
    assert "process_resident_memory_bytes" in text and "python_info" in text
    assert "python_gc_collections_total" in text


def test_metrics_can_require_a_token(tmp_path: Path) -> None:
    for api in _app(tmp_path, env="prod", metrics_token="scrape-secret"):
        refused = api.client.get("/metrics")
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        wrong = api.client.get("/metrics", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = api.client.get("/metrics", headers={"authorization": "Bearer scrape-secret"})
        assert ok.status_code == 200 and "policy_engine_request_seconds" in ok.text
