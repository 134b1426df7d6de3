"""Impact previews as background jobs (``ruleSetDraftImpactStart`` and
``ruleSetDraftImpactJob``), on SQLite and PostgreSQL: the job's report is the synchronous
preview's, its progress reaches every household, only its owner reads it, refusals come at the
start as the preview's own, the number of jobs is bounded and a job whose process stopped
reads as interrupted."""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from engine.results import Status
from services.impact_jobs import MAX_ACTIVE_JOBS, STALE_SECONDS, load_report
from store.models import AuditEntry, ImpactJob
from store.types import utc_now
from tests.api.conftest import Api

ERRORS = "userErrors { field message code }"
JOB = """id versionId asOf regionCodes status householdsDone householdsTotal createdAt
  finishedAt error { code message }
  result { households skipped gained lost changed unchanged changedTotal
    annualAmountBefore annualAmountAfter byRegion { regionCode households gained }
    changedHouseholds { householdId kind } }"""
START = f"""mutation($id: ID!, $asOf: Date!, $regions: [String!], $first: Int) {{
  ruleSetDraftImpactStart(id: $id, asOf: $asOf, regionCodes: $regions, first: $first) {{
  job {{ {JOB} }} {ERRORS} }} }}"""
POLL = f"""query($id: ID!) {{ ruleSetDraftImpactJob(id: $id) {{ {JOB} }} }}"""
IMPACT = """mutation($id: ID!, $asOf: Date!, $regions: [String!]) {
  ruleSetDraftImpact(id: $id, asOf: $asOf, regionCodes: $regions) {
  impact { households skipped gained lost changed unchanged changedTotal
    annualAmountBefore annualAmountAfter byRegion { regionCode households gained }
    changedHouseholds { householdId kind } } userErrors { code } } }"""
CREATE = """mutation { ruleSetDraftCreate(ruleSet: "monitoring") { version { id } } }"""
UPDATE = """mutation($id: ID!, $rev: Int!, $params: [ParameterChangeInput!]) {
  ruleSetDraftUpdate(id: $id, expectedRevision: $rev, parameters: $params) {
  version { id revision } userErrors { code } } }"""
VERSIONS = """query { ruleSet(code: "monitoring") { versions { id status revision } } }"""
AS_OF = "2024-06-01"


def _draft(api: Api) -> str:
    """The monitoring draft with the income line at 6600 (found or made: tests run in any
    order)."""
    versions = api.gql(VERSIONS, token="policy_editor")["data"]["ruleSet"]["versions"]
    draft = next((v for v in versions if v["status"] == "DRAFT"), None)
    if draft is None:
        created = api.gql(CREATE, token="policy_editor")["data"]["ruleSetDraftCreate"]
        draft = {"id": created["version"]["id"], "revision": 1}
    if draft["revision"] == 1:
        body = api.gql(UPDATE, {"id": draft["id"], "rev": 1,
                                "params": [{"name": "incomeLine", "value": 6600}]},
                       token="policy_editor")
        assert body["data"]["ruleSetDraftUpdate"]["userErrors"] == [], body
    return str(draft["id"])


def _start(api: Api, token: str, **variables: Any) -> dict[str, Any]:
    body = api.gql(START, {"asOf": AS_OF, **variables}, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["ruleSetDraftImpactStart"]
    return payload


def _finished(api: Api, token: str, job_id: str) -> dict[str, Any]:
    """Poll the job until it is DONE or FAILED (bounded)."""
    deadline = time.monotonic() + 60
    while True:
        job: dict[str, Any] = api.gql(POLL, {"id": job_id},
                                      token=token)["data"]["ruleSetDraftImpactJob"]
        assert job is not None
        if job["status"] in ("DONE", "FAILED"):
            return job
        assert job["status"] in ("QUEUED", "RUNNING") and job["result"] is None
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def test_a_job_reports_what_the_synchronous_preview_reports(api: Api) -> None:
    did = _draft(api)
    started = _start(api, "auditor", id=did)
    assert started["userErrors"] == []
    job = started["job"]
    assert job["versionId"] == did and job["asOf"] == AS_OF and job["regionCodes"] == []
    assert job["status"] in ("QUEUED", "RUNNING", "DONE")
    total = job["householdsTotal"]
    assert total >= 11  # the fixture households at least
    done = _finished(api, "auditor", job["id"])
    assert done["status"] == "DONE" and done["error"] is None and done["finishedAt"]
    assert done["householdsDone"] == total
    report = done["result"]
    assert report["households"] + report["skipped"] == total
    assert report["gained"] >= 1  # hh-010 (6400 per person) is under the new line
    direct = api.gql(IMPACT, {"id": did, "asOf": AS_OF},
                     token="auditor")["data"]["ruleSetDraftImpact"]["impact"]
    assert report == direct
    with api.application.uow() as uow:
        actions = list(uow.session.scalars(select(AuditEntry.action).where(
            AuditEntry.object_id == did)))
    assert "ruleset.draft.impact.start" in actions and "ruleset.draft.impact" in actions


def test_a_job_of_some_regions_counts_their_households(api: Api) -> None:
    did = _draft(api)
    job = _start(api, "auditor", id=did, regions=["371300-001"])["job"]
    done = _finished(api, "auditor", job["id"])
    assert done["status"] == "DONE" and done["regionCodes"] == ["371300-001"]
    assert {r["regionCode"] for r in done["result"]["byRegion"]} <= {"371300-001"}
    assert done["householdsDone"] == done["householdsTotal"] < _all_households(api)


def _all_households(api: Api) -> int:
    return api.application.household_count(None)


def test_only_its_owner_reads_a_job(api: Api) -> None:
    did = _draft(api)
    job = _start(api, "policy_editor", id=did)["job"]
    mine = _finished(api, "policy_editor", job["id"])
    assert mine["status"] == "DONE"
    # Another editor of the same department, an auditor: as if there were no such job.
    for other in ("policy_editor2", "auditor"):
        body = api.gql(POLL, {"id": job["id"]}, token=other)
        assert body["data"]["ruleSetDraftImpactJob"] is None, other
    assert api.gql(POLL, {"id": "no-such-job"},
                   token="policy_editor")["data"]["ruleSetDraftImpactJob"] is None
    # Who may not preview at all is refused as for the preview itself.
    body = api.gql(POLL, {"id": job["id"]}, token="caseworker")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = api.gql(POLL, {"id": job["id"]})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_refusals_come_when_starting_and_store_no_job(api: Api) -> None:
    did = _draft(api)
    with api.application.uow() as uow:
        before = len(list(uow.session.scalars(select(ImpactJob.id))))
    assert [e["code"] for e in _start(api, "auditor", id=did, first=5000)["userErrors"]] \
        == ["PAGE_SIZE"]
    assert [e["code"] for e in _start(api, "auditor", id="nope")["userErrors"]] \
        == ["NOT_FOUND"]
    assert _start(api, "auditor", id=did, first=5000)["job"] is None
    # Another department's editor may not preview this rule set's draft.
    body = api.gql(START, {"id": did, "asOf": AS_OF}, token="education_editor")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = api.gql(START, {"id": did, "asOf": AS_OF}, token="caseworker")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    with api.application.uow() as uow:
        assert len(list(uow.session.scalars(select(ImpactJob.id)))) == before


def test_jobs_are_bounded_and_a_stopped_one_reads_as_interrupted(api: Api) -> None:
    did = _draft(api)
    now = utc_now()
    # Jobs that other processes are running (as their rows say), and one whose process
    # stopped long ago.
    busy = [ImpactJob(actor="policy_approver:ap-1", version_id=did,
                      as_of=now.date(), region_codes=[], first=10, status="RUNNING",
                      households_done=0, households_total=100, created_at=now,
                      updated_at=now) for _ in range(MAX_ACTIVE_JOBS)]
    stale_at = now - timedelta(seconds=STALE_SECONDS + 60)
    stale = ImpactJob(actor="policy_approver:ap-1", version_id=did, as_of=now.date(),
                      region_codes=[], first=10, status="RUNNING", households_done=3,
                      households_total=100, created_at=stale_at, updated_at=stale_at)
    with api.application.uow() as uow:
        uow.session.add_all([*busy, stale])
        uow.session.flush()
        busy_ids = [j.id for j in busy]
        stale_id = stale.id
        uow.commit()
    try:
        refused = _start(api, "auditor", id=did)
        assert [e["code"] for e in refused["userErrors"]] == ["TOO_MANY_JOBS"]
        assert refused["job"] is None
        job = api.gql(POLL, {"id": stale_id},
                      token="policy_approver")["data"]["ruleSetDraftImpactJob"]
        assert job["status"] == "FAILED" and job["error"]["code"] == "INTERRUPTED"
        assert job["householdsDone"] == 3 and job["result"] is None
    finally:
        with api.application.uow() as uow:
            uow.session.execute(update(ImpactJob).where(ImpactJob.id.in_(busy_ids)).values(
                status="FAILED", error_code="INTERRUPTED"))
            uow.commit()
    # With the others finished, a job starts again.
    again = _start(api, "auditor", id=did)
    assert again["userErrors"] == [] and again["job"] is not None
    assert _finished(api, "auditor", again["job"]["id"])["status"] == "DONE"


class _Boom:
    def __reduce__(self) -> tuple[Any, ...]:
        import os

        return (os.system, ("true",))


class _ByName:
    """Pickles as ``getattr(cls, name)``: an enumeration's member as some Python 3.11
    releases pickle it (Debian's 3.11.2; 3.11.7: ``cls(value)``)."""

    def __init__(self, cls: object, name: str):
        self.cls, self.name = cls, name

    def __reduce__(self) -> tuple[Any, ...]:
        return (getattr, (self.cls, self.name))


def test_a_stored_report_builds_nothing_but_report_classes() -> None:
    with pytest.raises(pickle.UnpicklingError):
        load_report(pickle.dumps(_Boom()))
    with pytest.raises(pickle.UnpicklingError):
        load_report(pickle.dumps(print))  # a function of builtins, not a report class
    # getattr only gives a member of one of the project's enumerations
    for cls, name in ((Status, "__init__"), (Status, "__class__"), (Status, "granted"),
                      (Path, "GRANTED"), (date, "today")):
        with pytest.raises(pickle.UnpicklingError):
            load_report(pickle.dumps(_ByName(cls, name)))


@pytest.mark.parametrize("pickled", [
    pytest.param(lambda s: pickle.dumps(s), id="as this Python pickles it"),
    pytest.param(lambda s: pickle.dumps(_ByName(type(s), s.name)), id="by name, as 3.11.2 does"),
])
def test_a_report_reads_back_its_statuses_however_python_pickled_them(
        pickled: Callable[[Status], bytes]) -> None:
    for status in Status:
        read: object = load_report(pickled(status))
        assert read is status


def test_stored_facts_are_read_as_their_json_texts(api: Api) -> None:
    # What the impact preview and rescreen read: the stored facts as JSON texts, in pages.
    import json

    with api.application.uow() as uow:
        objects = [(h.id, h.region_code, h.facts) for h in uow.households.iterate()]
        texts = [(i, r, json.loads(t)) for rows in uow.households.facts_texts(batch_size=7)
                 for i, r, t in rows]
        some = [i for rows in uow.households.facts_texts(region_codes=["371300-001"])
                for i, _, _ in rows]
    assert len(objects) >= 11 and texts == objects
    assert some == [i for i, r, _ in objects if r == "371300-001"] and some
