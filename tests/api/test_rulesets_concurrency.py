"""Concurrent updates of one draft on PostgreSQL: exactly one wins, the other gets CONFLICT,
and nothing is overwritten silently."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from policy.document import load_document
from store.errors import ConflictError
from tests.api.conftest import Api, _api, postgres_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not postgres_url(), reason="needs TEST_DATABASE_URL (PostgreSQL)"),
]

CREATE = """mutation { ruleSetDraftCreate(ruleSet: "monitoring") {
  version { id revision } userErrors { code } } }"""
UPDATE = """mutation($id: ID!, $rev: Int!, $value: Float!) {
  ruleSetDraftUpdate(id: $id, expectedRevision: $rev,
                     parameters: [{name: "incomeLine", value: $value}]) {
  version { revision } userErrors { field code message } } }"""
READ = """query($id: ID!) { ruleSetVersion(id: $id) { revision document } }"""


@pytest.fixture
def pg_api(tmp_path: Path) -> Iterator[Api]:
    """A database of the test's own: each test makes monitoring's one open draft."""
    yield from _api("postgresql", tmp_path, "dev")


def race(api: Api, draft_id: str, rev: int, values: dict[str, float]) -> dict[str, Any]:
    """Each token's client sends its update at the same moment, from its own thread."""
    start = threading.Barrier(len(values))
    results: dict[str, dict[str, Any]] = {}

    def client(token: str, value: float) -> None:
        start.wait()
        results[token] = api.gql(UPDATE, {"id": draft_id, "rev": rev, "value": value},
                                 token=token)

    threads = [threading.Thread(target=client, args=item) for item in values.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return {k: v["data"]["ruleSetDraftUpdate"] for k, v in results.items()}


def test_two_clients_update_one_draft_at_the_same_revision(pg_api: Api) -> None:
    body = pg_api.gql(CREATE, token="policy_editor")
    draft = body["data"]["ruleSetDraftCreate"]["version"]
    assert draft is not None, body
    for round_ in range(6):
        current = pg_api.gql(READ, {"id": draft["id"]}, token="policy_editor")["data"][
            "ruleSetVersion"]
        rev = current["revision"]
        values = {"policy_editor": 6100.0 + round_, "policy_editor2": 6900.0 + round_}
        payloads = race(pg_api, draft["id"], rev, values)
        winners = [k for k, p in payloads.items() if not p["userErrors"]]
        losers = [k for k, p in payloads.items() if p["userErrors"]]
        assert len(winners) == 1 and len(losers) == 1, payloads
        assert payloads[winners[0]]["version"]["revision"] == rev + 1
        assert [e["code"] for e in payloads[losers[0]]["userErrors"]] == ["CONFLICT"]
        assert payloads[losers[0]]["version"] is None
        stored = pg_api.gql(READ, {"id": draft["id"]}, token="policy_editor")["data"][
            "ruleSetVersion"]
        assert stored["revision"] == rev + 1
        assert stored["document"]["parameters"]["incomeLine"]["value"] == values[winners[0]]


def test_the_database_refuses_the_slower_writer(pg_api: Api) -> None:
    """The second writer read the draft before the first committed: its UPDATE waits for the
    first one's row lock, then finds the revision gone and is refused."""
    app = pg_api.application
    assert pg_api.gql(CREATE, token="policy_editor")["data"]["ruleSetDraftCreate"]["version"]
    with app.uow() as uow:
        [draft] = [v for v in uow.rule_sets.list_versions("monitoring")
                   if v.status.value == "DRAFT"]
        version_id, rev = draft.id, draft.revision
        doc = load_document(dict(draft.document))

    def edited(value: float) -> Any:
        params = dict(doc.parameters)
        params["incomeLine"] = params["incomeLine"].model_copy(update={"value": value})
        return doc.model_copy(update={"parameters": params})

    first_flushed = threading.Event()
    second_waiting = threading.Event()
    outcome: dict[str, Any] = {}

    def second() -> None:
        with app.uow() as uow:
            uow.rule_sets.get_version(version_id)  # read at ``rev``
            first_flushed.wait(10)
            second_waiting.set()
            try:
                uow.rule_sets.update_draft(version_id, edited(6500), expected_revision=rev)
                uow.commit()
                outcome["second"] = "saved"
            except ConflictError as exc:
                outcome["second"] = exc

    thread = threading.Thread(target=second)
    thread.start()
    with app.uow() as uow:
        uow.rule_sets.update_draft(version_id, edited(6400), expected_revision=rev)
        first_flushed.set()
        second_waiting.wait(10)
        time.sleep(0.3)  # the second writer's UPDATE is now blocked on our row lock
        uow.commit()
    thread.join(timeout=30)
    assert isinstance(outcome["second"], ConflictError)
    with app.uow() as uow:
        stored = uow.rule_sets.get_version(version_id)
        assert stored.revision == rev + 1
        assert stored.document["parameters"]["incomeLine"]["value"] == 6400
