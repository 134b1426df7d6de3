"""`policy-engine serve --workers 2` as deployed (prod, SQLite): one request's long work never
holds up another (/healthz during a 20,000-household impact preview), caches follow changes
made through the other worker, a revoked token is refused by both workers on its next
request, every request is one structured log line without bodies or variables, slow clients
are cut off, and a bounded load test runs without an error."""

from __future__ import annotations

import asyncio
import json
import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from policy.facts import parse_household
from services.application import Application, Tokens
from services.config import Settings
from store.models import HouseholdFactRevision, StoredHousehold
from testing.households import random_household
from tests.api.servers import pids_of, serve, server_log

HOUSEHOLDS = 20_000
MARKER = "1987-06-05"  # a birth date only the refused request below carries


@dataclass
class Served:
    base: str
    folder: Path
    tokens: dict[str, str]

    def gql(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None,
            timeout: float = 60) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {self.tokens[token]}"} if token else {}
        r = httpx.post(f"{self.base}/graphql", json={"query": query, "variables": variables or {}},
                       headers=headers, timeout=timeout)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


def _seed(url: str) -> dict[str, str]:
    """Migrate and seed the database, make tokens, and store HOUSEHOLDS generated households
    (in bulk: saving them one by one would take most of a minute)."""
    application = Application(Settings(database_url=url, env="prod"))
    application.start()
    tokens = Tokens(application)
    made = {
        "caseworker": tokens.create(role="caseworker", name="cw-1", regions=["371300-001"]),
        "policy_editor": tokens.create(role="policy_editor", name="ed-1", department="县扶贫办"),
        "policy_approver": tokens.create(role="policy_approver", name="ap-1",
                                         department="县扶贫办"),
    }
    rng = random.Random(13)
    as_of = date(2024, 6, 1)
    households, revisions = [], []
    for i in range(HOUSEHOLDS):
        data = random_household(rng, as_of, hid=f"bulk-{i:05d}")
        data["regionCode"] = f"371300-{1 + i % 3:03d}"
        facts = parse_household(data, as_of).model_dump(mode="json", exclude_none=True)
        households.append({"id": facts["id"], "region_code": facts["regionCode"], "facts": facts,
                           "revision": 1})
        revisions.append({"household_id": facts["id"], "revision": 1, "facts": facts,
                          "recorded_by": "system:test"})
    with application.uow() as uow:
        uow.session.execute(insert(StoredHousehold), households)
        uow.session.execute(insert(HouseholdFactRevision), revisions)
        uow.commit()
    application.engine.dispose()
    return made


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("workers")
    url = f"sqlite:///{folder / 'served.sqlite3'}"
    tokens = _seed(url)
    with serve(folder, "--workers", "2", database_url=url,
               env={"POLICY_ENGINE_READ_TIMEOUT_SECONDS": "2"}) as base:
        yield Served(base, folder, tokens)


@pytest.fixture(scope="module")
def served_defaults(served: Served) -> Iterator[str]:
    """A second server on the same database with the default read timeout (10 s, what a county
    runs) instead of 2 s: the load test's clients share one process with 20 connections on a
    loaded 2-core machine, and a client starved for 2 s between a request's head and its body
    is, rightly, refused with 408 by a server that allows only 2 s."""
    with serve(served.folder, "--workers", "2",
               database_url=f"sqlite:///{served.folder / 'served.sqlite3'}") as base:
        yield base


DRAFT = """mutation { ruleSetDraftCreate(ruleSet: "monitoring") {
  version { id revision status } userErrors { code message } } }"""
IMPACT = """mutation($id: ID!) { ruleSetDraftImpact(id: $id, asOf: "2024-06-01", first: 5) {
  impact { households skipped changedTotal } userErrors { code message } } }"""
# The cache test works on early_warning (same department), so that it leaves monitoring's draft
# alone for the impact test, whichever of the two runs first.
EW_DRAFT = DRAFT.replace('"monitoring"', '"early_warning"')
STATUS = """{ ruleSet(code: "early_warning") { versions { id status } } }"""
SUBMIT = """mutation($id: ID!) { ruleSetVersionSubmit(id: $id) {
  version { status } userErrors { code message } } }"""


def _health_during(base: str, work: Any) -> tuple[Any, list[float]]:
    """Run ``work()`` in a thread while /healthz is polled on a kept-alive connection: its
    result and every /healthz's latency."""
    out: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: out.setdefault("result", work()))
    latencies: list[float] = []
    with httpx.Client(timeout=30) as c:
        c.get(f"{base}/healthz")
        thread.start()
        while thread.is_alive():
            start = time.perf_counter()
            assert c.get(f"{base}/healthz").status_code == 200
            latencies.append(time.perf_counter() - start)
            time.sleep(0.005)
        thread.join()
    return out.get("result"), latencies


def _healthz_stays_quick(base: str, work: Any, check: Any, rounds: int) -> None:
    """Run ``work()`` (its result checked by ``check``) while /healthz is polled, up to
    ``rounds`` times (the machine is shared: repeated until a round meets the figure). The
    median /healthz is the figure, under 50 ms (a loaded test machine's scheduling puts single
    spikes into any long series); the slowest, under 2 s in every round, is a hang guard."""
    seen = []
    for _ in range(rounds):
        result, latencies = _health_during(base, work)
        check(result)
        assert len(latencies) >= 5  # the work ran long enough to be measured against
        latencies.sort()
        median, worst = latencies[len(latencies) // 2], latencies[-1]
        seen.append((round(median, 4), round(worst, 4)))
        assert worst < 2, seen
        if median < 0.05:
            return
    raise AssertionError(f"/healthz waited longer than 50 ms in every round: {seen}")


def test_an_impact_preview_over_20000_households_does_not_stall_healthz(served: Served) -> None:
    created = served.gql(DRAFT, token="policy_editor")["data"]["ruleSetDraftCreate"]
    assert created["userErrors"] == [], created
    draft = created["version"]["id"]

    def check(body: dict[str, Any]) -> None:
        impact = body["data"]["ruleSetDraftImpact"]
        assert impact["userErrors"] == [], impact
        assert impact["impact"]["households"] + impact["impact"]["skipped"] >= HOUSEHOLDS

    # Held on the event loop, the preview made every /healthz wait about a second. The first
    # round starts the preview's child process; a loaded test machine can take long over it,
    # which is not what is measured here.
    _healthz_stays_quick(
        served.base,
        lambda: served.gql(IMPACT, {"id": draft}, token="policy_editor", timeout=300), check, 4)


EVALUATE = """query Full($h: HouseholdInput!) { evaluate(household: $h, asOf: "2024-06-01") {
  asOf outcomes { code title memberId status amount period terms { key value unit }
    reasons { ruleId text citation { document clause } conditions { expression actual
      expected passed } } missingFacts } } }"""


def test_evaluations_in_the_event_loop_do_not_stall_healthz(served: Served) -> None:
    """Eight clients post full explanations without pause; once a worker has validated the
    text, they run in its event loop (graphql_api.turns), one per turn: /healthz waits for the
    one running, not for every one queued behind it."""
    rng = random.Random(21)
    households = []
    for i in range(8 * 40):
        data = random_household(rng, date(2024, 6, 1), hid=f"loop-{i}", members=5)
        data["regionCode"] = "371300-001"
        households.append(data)
    headers = {"authorization": f"Bearer {served.tokens['caseworker']}"}

    def post_all() -> list[int]:
        def client(part: list[dict[str, Any]], codes: list[int]) -> None:
            with httpx.Client(timeout=60) as c:
                for h in part:
                    r = c.post(f"{served.base}/graphql", headers=headers,
                               json={"query": EVALUATE, "variables": {"h": h}})
                    codes.append(r.status_code if "errors" not in r.json() else 0)

        codes: list[int] = []
        threads = [threading.Thread(target=client, args=(households[k::8], codes))
                   for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return codes

    def check(codes: list[int]) -> None:
        assert codes == [200] * len(households)

    _healthz_stays_quick(served.base, post_all, check, 3)


def test_caches_follow_changes_made_through_the_other_worker(served: Served) -> None:
    """Every worker has built its catalog (new connections land on both); a draft submitted
    through one is IN_REVIEW on the next request to either."""
    versions = served.gql(STATUS, token="policy_approver")["data"]["ruleSet"]["versions"]
    draft = next((v["id"] for v in versions if v["status"] == "DRAFT"), None)
    if draft is None:
        created = served.gql(EW_DRAFT, token="policy_editor")["data"]["ruleSetDraftCreate"]
        draft = created["version"]["id"]
    for _ in range(20):  # fresh connections: both workers read the catalog with the draft
        served.gql(STATUS, token="policy_approver")
    submitted = served.gql(SUBMIT, {"id": draft}, token="policy_approver")
    assert submitted["data"]["ruleSetVersionSubmit"]["userErrors"] == [], submitted
    for _ in range(20):
        versions = served.gql(STATUS, token="policy_approver")["data"]["ruleSet"]["versions"]
        assert {v["id"]: v["status"] for v in versions}[draft] == "IN_REVIEW"


def test_a_revoked_token_is_refused_on_its_next_request_in_both_workers(served: Served) -> None:
    """Both workers remember the token (answered by two pids), then it is revoked from
    another process (the CLI's way): the next request to either worker is refused."""
    application = Application(Settings(database_url=f"sqlite:///{served.folder / 'served.sqlite3'}",
                                       env="prod"))
    try:
        tokens = Tokens(application)
        token = tokens.create(role="auditor", name="au-workers")
        headers = {"authorization": f"Bearer {token}"}
        query = {"query": "{ households(first: 1) { totalCount } }"}
        ids = []
        for _ in range(30):  # fresh connections: the kernel hands them to both workers
            r = httpx.post(f"{served.base}/graphql", json=query, headers=headers, timeout=30)
            assert r.status_code == 200 and "errors" not in r.json(), r.text
            ids.append(r.headers["x-request-id"])
        assert len(pids_of(served.folder, ids)) == 2
        [view] = [v for v in tokens.list() if v.login == "au-workers"]
        tokens.revoke(view.id)
        refused = []
        for _ in range(30):
            r = httpx.post(f"{served.base}/graphql", json=query, headers=headers, timeout=30)
            assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", r.text
            refused.append(r.headers["x-request-id"])
        assert len(pids_of(served.folder, refused)) == 2
    finally:
        application.engine.dispose()


SAVE = """mutation($h: HouseholdInput!) { householdSave(household: $h) {
  household { id } userErrors { field code message } } }"""


def test_one_log_line_per_request_without_bodies_or_variables(served: Served) -> None:
    # Searched for as "54321.99": a random request id (hex) may hold "54321", never the ".".
    marker_household = {"id": "log-probe", "regionCode": "371300-009", "members": [
        {"id": "m1", "birthDate": MARKER, "medicalOutOfPocket": 54321.99}]}
    ids = []
    for headers, body in (
        ({}, {"query": SAVE, "variables": {"h": marker_household}}),  # anonymous: refused
        ({"authorization": f"Bearer {served.tokens['caseworker']}"},
         {"query": SAVE, "variables": {"h": marker_household}}),  # another region: refused
        ({}, {"query": "query Probe { househol }", "variables": {"x": MARKER}}),
        ({}, {"query": "{ __typename }", "variables": {"h": {"id": "a\u0000" + MARKER}}}),
    ):
        r = httpx.post(f"{served.base}/graphql", json=body, headers=headers, timeout=30)
        assert r.status_code == 200 and r.json()["errors"]  # every one is refused
        ids.append(r.headers["x-request-id"])
    # The workers' stderr reaches the file a little later, later still on a loaded machine:
    # wait (bounded) until every request's line is there.
    deadline = time.monotonic() + 15
    while True:
        text = server_log(served.folder)
        if all(i in text for i in ids) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert MARKER not in text and "54321.99" not in text and "log-probe" not in text
    assert "Traceback" not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    mine = [line for line in lines if line.get("request_id") in ids]
    assert len(mine) == len(ids)  # one line each
    by_id = {line["request_id"]: line for line in mine}
    anonymous, other_region, typo, nul = (by_id[i] for i in ids)
    assert anonymous["principal"] == "anonymous" and anonymous["path"] == "/graphql"
    assert other_region["principal"] not in ("anonymous", "cw-1")  # a token id, not a name
    assert typo["operation"] == "Probe" and typo["errors"] == ["GRAPHQL_VALIDATION_FAILED"]
    assert nul["errors"] == ["INVALID_STRING"]
    assert all(isinstance(line["ms"], float) and line["status"] == 200 for line in mine)


def test_slow_clients_are_cut_off(served: Served) -> None:
    """POLICY_ENGINE_READ_TIMEOUT_SECONDS=2 here: a connection that sends nothing, or half a
    request head, is closed; a body that stops halfway gets 408."""
    host, port = served.base.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=15) as idle:
        assert idle.recv(1024) == b""  # closed by the server
    with socket.create_connection((host, int(port)), timeout=15) as half:
        half.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\n")
        assert half.recv(1024) == b""
    with socket.create_connection((host, int(port)), timeout=15) as body:
        body.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"query\":")
        answer = b""
        while b"REQUEST_TIMEOUT" not in answer:  # the head and the body may come apart
            chunk = body.recv(4096)
            if not chunk:
                break
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408") and b"REQUEST_TIMEOUT" in answer
    assert time.monotonic() - started < 15
    # Its log line says how much of the body came, and how long the wait was counted and took.
    found = re.search(rb"x-request-id: (\w+)", answer, re.IGNORECASE)
    assert found is not None, answer
    request_id = found.group(1).decode()
    deadline = time.monotonic() + 15
    while request_id not in server_log(served.folder) and time.monotonic() < deadline:
        time.sleep(0.1)
    line = next(json.loads(x) for x in server_log(served.folder).splitlines()
                if x.startswith("{") and request_id in x)
    assert line["status"] == 408 and line["errors"] == ["REQUEST_TIMEOUT"]
    read = line["body_read"]
    assert read["bytes"] == len(b'{"query":') and read["declared"] == 100
    assert 2 <= read["counted_s"] <= read["elapsed_s"] + 0.01
    with httpx.Client() as c:  # the server itself is fine
        assert c.get(f"{served.base}/healthz").status_code == 200


LOAD_QUERY = """query($h: HouseholdInput!) { evaluate(household: $h, asOf: "2024-06-01") {
  outcomes { code status memberId amount reasons { ruleId } } } }"""


def test_load_20_connections_for_20_seconds_without_an_error(
        served: Served, served_defaults: str) -> None:
    """The CI load test (bounded, loopback): 20 connections, 20 s, two workers with the default
    settings, full evaluations of distinct households; every answer must be a 200 with data and
    no error."""
    rng = random.Random(5)
    bodies = [{"query": LOAD_QUERY,
               "variables": {"h": random_household(rng, date(2024, 6, 1), hid=f"load-{i}")}}
              for i in range(500)]
    headers = {"authorization": f"Bearer {served.tokens['caseworker']}"}
    counts = {"ok": 0, "bad": 0}
    problems: list[str] = []

    async def client(index: int, until: float) -> None:
        async with httpx.AsyncClient(base_url=served_defaults, timeout=30, headers=headers) as c:
            i = index
            while time.monotonic() < until:
                try:
                    r = await c.post("/graphql", json=bodies[i % len(bodies)])
                    body = r.json()
                    good = r.status_code == 200 and "errors" not in body and body.get("data")
                except (httpx.HTTPError, ValueError) as exc:
                    good, r = False, None
                    problems.append(type(exc).__name__)
                if good:
                    counts["ok"] += 1
                else:
                    counts["bad"] += 1
                    if r is not None and len(problems) < 5:
                        problems.append(f"{r.status_code} {r.text[:200]}")
                i += 20

    async def run() -> None:
        until = time.monotonic() + 20
        await asyncio.gather(*(client(i, until) for i in range(20)))

    asyncio.run(run())
    assert counts["bad"] == 0, (counts, problems)
    assert counts["ok"] > 100, counts
