"""Time the impact preview of a draft over stored households (target: 100,000 stored in
PostgreSQL in < 5 s through GraphQL).

    python bench/impact.py [--households 100000] [--db var/bench-impact.sqlite3]
                           [--db-url postgresql+psycopg://...] [--graphql]

Stores generated households (testing.households) in a SQLite database (kept, and reused while
it has the asked-for number), creates a draft of each program with one parameter changed
(monitoring: the income line 6000 -> 6600; education: the senior-high grant 2300 -> 2500;
disability: the severe living subsidy 162 -> 180) and times ``ruleSetDraftImpact``'s use case
as of 2025-06-01, end to end: reading every household from the database, validating its
facts, evaluating it under the version in force and under the draft, counting, and explaining
the first 100 changed households. Start-up's objects are frozen first (``gc.freeze``), as in
the child process that runs large previews (``services.impact_pool``).

With ``--graphql`` the previews are asked of a running ``policy-engine serve`` (a child
process on the same database) by an approver's token, end to end over HTTP: the synchronous
``ruleSetDraftImpact`` and the background job (``ruleSetDraftImpactStart``, then
``ruleSetDraftImpactJob`` polled every 100 ms until DONE). The load average is printed beside
each figure (the machine is shared), and so is the CPU time the serving process and its
children (the preview's child process) spent on each call (``cpu``; PostgreSQL's own is not
counted), which a shared machine disturbs less than the wall time.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This checkout's code, not whichever the environment installed (another checkout's bench
# measures that checkout).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import os
import random
import time
from datetime import date

from sqlalchemy import func, insert, select

from policy.facts import parse_household
from services.application import Application
from services.auth import Principal
from services.config import Settings
from services.editing import ParameterChange
from services.impact_pool import freeze_start_up
from store.models import HouseholdFactRevision, StoredHousehold
from store.types import utc_now
from testing.households import random_household

AS_OF = date(2025, 6, 1)
CHANGES = {
    "monitoring": ("县扶贫办", "incomeLine", 6600),
    "education": ("县教体局", "seniorGrant", 2500),
    "disability": ("县残联", "livingSubsidySevere", 180),
}


def fill(app: Application, n: int) -> None:
    with app.uow() as uow:
        have = uow.session.scalar(select(func.count()).select_from(StoredHousehold).where(
            StoredHousehold.id.startswith("bench-"))) or 0
        if have == n:
            return
        if have:
            raise SystemExit(f"the database holds {have} bench households, not {n}; "
                             "use another --db")
    rng = random.Random(20250601)
    now = utc_now()
    started = time.perf_counter()
    for start in range(0, n, 5000):
        rows, revisions = [], []
        for i in range(start, min(n, start + 5000)):
            data = random_household(rng, AS_OF, hid=f"bench-{i:06d}")
            facts = parse_household(data, AS_OF).model_dump(mode="json", exclude_none=True)
            rows.append({"id": facts["id"], "region_code": facts["regionCode"],
                         "facts": facts, "revision": 1, "created_at": now, "updated_at": now})
            revisions.append({"household_id": facts["id"], "revision": 1, "facts": facts,
                              "recorded_at": now, "recorded_by": "bench"})
        with app.uow() as uow:
            uow.session.execute(insert(StoredHousehold), rows)
            uow.session.execute(insert(HouseholdFactRevision), revisions)
            uow.commit()
    print(f"stored {n} households in {time.perf_counter() - started:.1f} s")


SYNC = """mutation($id: ID!, $asOf: Date!) { ruleSetDraftImpact(id: $id, asOf: $asOf) {
  impact { households skipped gained lost changed } userErrors { code } } }"""
START = """mutation($id: ID!, $asOf: Date!) { ruleSetDraftImpactStart(id: $id, asOf: $asOf) {
  job { id } userErrors { code } } }"""
POLL = """query($id: ID!) { ruleSetDraftImpactJob(id: $id) { status householdsDone
  householdsTotal error { code } result { households gained lost changed } } }"""


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def over_graphql(app: Application, url: str, drafts: dict[str, str]) -> None:
    """Each draft's preview asked of a serving process, synchronously and as a job."""
    import httpx

    from services.tokens import Tokens
    from testing.serving import served

    env = {**os.environ, "DATABASE_URL": url, "POLICY_ENGINE_ENV": "dev",
           "POLICY_ENGINE_LOG_LEVEL": "WARNING"}
    with served(env, ready_seconds=60) as (base, server):
        client = httpx.Client(base_url=base, timeout=600)
        for program, draft_id in drafts.items():
            department = CHANGES[program][0]
            token = Tokens(app).create(role="policy_approver", name=f"bench-ap-{program}",
                                       department=department)
            headers = {"authorization": f"Bearer {token}"}
            variables = {"id": draft_id, "asOf": AS_OF.isoformat()}
            load = os.getloadavg()[0]
            cpu = tree_cpu(server.pid)
            started = time.perf_counter()
            body = client.post("/graphql", json={"query": SYNC, "variables": variables},
                               headers=headers).json()
            sync = time.perf_counter() - started
            sync_cpu = tree_cpu(server.pid) - cpu
            impact = body["data"]["ruleSetDraftImpact"]["impact"]
            load_job = os.getloadavg()[0]
            cpu = tree_cpu(server.pid)
            started = time.perf_counter()
            body = client.post("/graphql", json={"query": START, "variables": variables},
                               headers=headers).json()
            job_id = body["data"]["ruleSetDraftImpactStart"]["job"]["id"]
            answered = time.perf_counter() - started
            polls = 0
            while True:
                job = client.post("/graphql", json={"query": POLL, "variables": {"id": job_id}},
                                  headers=headers).json()["data"]["ruleSetDraftImpactJob"]
                polls += 1
                if job["status"] in ("DONE", "FAILED"):
                    break
                time.sleep(0.1)
            whole = time.perf_counter() - started
            job_cpu = tree_cpu(server.pid) - cpu
            print(f"{program:<11} over GraphQL: ruleSetDraftImpact {impact['households']:,} "
                  f"households in {sync:.2f} s, cpu {sync_cpu:.2f} s (load {load:.1f}); as a "
                  f"job: started in {answered * 1000:.0f} ms, {job['status']} after "
                  f"{whole:.2f} s, cpu {job_cpu:.2f} s, {polls} polls (load {load_job:.1f}); "
                  f"gained {impact['gained']}, lost {impact['lost']}, changed "
                  f"{impact['changed']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--db", default="var/bench-impact.sqlite3")
    parser.add_argument("--db-url", help="a database URL instead of --db (e.g. PostgreSQL)")
    parser.add_argument("--program", action="append", choices=sorted(CHANGES))
    parser.add_argument("--graphql", action="store_true",
                        help="ask a running policy-engine serve, over HTTP")
    args = parser.parse_args()
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    url = args.db_url or f"sqlite:///{args.db}"
    app = Application(Settings(env="test", database_url=url))
    app.start()
    fill(app, args.households)
    drafts: dict[str, str] = {}
    for program in args.program or sorted(CHANGES):
        department, parameter, value = CHANGES[program]
        approver = Principal(name="bench-approver", role="policy_approver",
                             department=department)
        editor = Principal(name="bench-editor", role="policy_editor", department=department)
        with app.uow() as uow:
            open_ = [v for v in uow.rule_sets.list_versions(program)
                     if v.status.value == "DRAFT"]
        draft = open_[0] if open_ else None
        if draft is None:
            created = app.editing.create_draft(editor, program)
            app.editing.update_draft(editor, created.id, created.revision,
                                     parameters=[ParameterChange(parameter, value)])
            draft_id = created.id
        else:
            draft_id = draft.id
        drafts[program] = draft_id
        if args.graphql:
            continue
        freeze_start_up()  # as the child process that runs large previews does
        started = time.perf_counter()
        report = app.editing.impact(approver, draft_id, AS_OF)
        elapsed = time.perf_counter() - started
        print(f"{program:<11} {parameter} -> {value}: {report.households} households in "
              f"{elapsed:.1f} s ({report.households / elapsed:,.0f}/s); gained {report.gained},"
              f" lost {report.lost}, changed {report.changed}; annual amount "
              f"{report.annual_amount_before:,.0f} -> {report.annual_amount_after:,.0f}")

    if args.graphql:
        over_graphql(app, url, drafts)


if __name__ == "__main__":
    main()
