"""Run a version's own test cases (facts, asOf, expected outcomes) against that version."""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.determine import determine
from engine.results import Outcome
from engine.warning import determine_events, parse_case_events
from policy.catalog import VersionRef
from policy.document import Program
from policy.errors import FactsInvalid


@dataclass(frozen=True)
class CaseResult:
    name: str
    passed: bool
    failures: tuple[str, ...]


def draft_ref(program: Program, status: str = "DRAFT") -> VersionRef:
    d = program.document
    return VersionRef(f"{d.program}-v{d.version}", d.program, d.version, status,
                      d.effectiveFrom, None, program.content_hash)


def run_cases(program: Program, ref: VersionRef | None = None) -> list[CaseResult]:
    ref = ref or draft_ref(program)
    results = []
    for case in program.document.tests:
        failures: list[str] = []
        try:
            if case.events:  # early warning: the household's events raise the alerts
                det = determine_events(program, ref, case.household,
                                       parse_case_events(case.events, case.asOf), case.asOf)
            else:
                det = determine(case.household, case.asOf, [(program, ref)])
        except FactsInvalid as exc:
            results.append(CaseResult(case.name, False, tuple(f"invalid facts: {e}"
                                                              for e in exc.errors)))
            continue
        got: dict[tuple[str, str | None], Outcome] = {
            (o.code, o.member_id): o for o in det.outcomes()
        }
        for e in case.expect:
            o = got.get((e.outcome, e.memberId))
            where = e.outcome + (f" [{e.memberId}]" if e.memberId else "")
            if o is None:
                failures.append(f"{where}: no such outcome")
                continue
            if o.status.value != e.status:
                failures.append(f"{where}: status {o.status.value}, expected {e.status}")
            if e.amount is not None and (o.amount is None or not math.isclose(o.amount, e.amount)):
                failures.append(f"{where}: amount {o.amount}, expected {e.amount:g}")
            for key, want in (e.terms or {}).items():
                have = next((t.value for t in o.terms if t.key == key), None)
                if have is None or not math.isclose(have, want):
                    failures.append(f"{where}: term {key} {have}, expected {want:g}")
        if case.flagged is not None and det.flagged_for_monitoring != case.flagged:
            failures.append(f"flaggedForMonitoring {det.flagged_for_monitoring}, "
                            f"expected {case.flagged}")
        results.append(CaseResult(case.name, not failures, tuple(failures)))
    return results
