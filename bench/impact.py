"""Time the impact preview of a draft over stored households (target: 100,000 in < 60 s).

    python bench/impact.py [--households 100000] [--db var/bench-impact.sqlite3]

Stores generated households (testing.households) in a SQLite database (kept, and reused while
it has the asked-for number), creates a draft of each program with one parameter changed
(monitoring: the income line 6000 -> 6600; education: the senior-high grant 2300 -> 2500;
disability: the severe living subsidy 162 -> 180) and times ``ruleSetDraftImpact``'s use case
as of 2025-06-01, end to end: reading every household from the database, validating its
facts, evaluating it under the version in force and under the draft, counting, and explaining
the first 100 changed households.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date
from pathlib import Path

from sqlalchemy import func, insert, select

from policy.facts import parse_household
from services.application import Application
from services.auth import Principal
from services.config import Settings
from services.editing import ParameterChange
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--db", default="var/bench-impact.sqlite3")
    parser.add_argument("--program", action="append", choices=sorted(CHANGES))
    args = parser.parse_args()
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    app = Application(Settings(env="test", database_url=f"sqlite:///{args.db}"))
    app.start()
    fill(app, args.households)
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
        started = time.perf_counter()
        report = app.editing.impact(approver, draft_id, AS_OF)
        elapsed = time.perf_counter() - started
        print(f"{program:<11} {parameter} -> {value}: {report.households} households in "
              f"{elapsed:.1f} s ({report.households / elapsed:,.0f}/s); gained {report.gained},"
              f" lost {report.lost}, changed {report.changed}; annual amount "
              f"{report.annual_amount_before:,.0f} -> {report.annual_amount_after:,.0f}")


if __name__ == "__main__":
    main()
