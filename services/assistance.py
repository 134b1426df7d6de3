"""Assistance (帮扶措施) for a monitoring object, listed against its risks.

A monitored household's risks are the monitoring categories and risk items its latest recorded
determination grants. Against each risk stand the measures it receives: the granted benefits of
the programs the ``procedure`` document says address it (``measures.addressedBy``), and the
measures a caseworker recorded by hand (e.g. a 公益性岗位 placement). A risk with no measure is
flagged (``covered`` false).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from services.auth import Principal
from services.cases import RISK_ELIMINATION_OUTCOME, _conflicts, _error, _not_after, _text
from services.errors import InvalidInput
from store.models import AssistanceMeasure

if TYPE_CHECKING:
    from services.application import Application


@dataclass(frozen=True)
class Measure:
    """A measure against a risk: a granted benefit (``source`` BENEFIT: its outcome code and
    member) or one recorded by hand (RECORDED: its id, text and start day)."""

    source: str
    code: str | None
    title_zh: str
    title_en: str
    member_id: str | None
    started_on: date | None
    recorded_by: str | None
    note: str | None
    id: str | None


@dataclass(frozen=True)
class RiskView:
    code: str
    title_zh: str
    title_en: str
    measures: tuple[Measure, ...]

    @property
    def covered(self) -> bool:
        return bool(self.measures)


@dataclass(frozen=True)
class AssistanceView:
    household_id: str
    determination_id: str | None
    as_of: date | None
    risks: tuple[RiskView, ...]

    @property
    def uncovered(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.risks if not r.covered)


def _risks(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for p in result.get("programs", []) if p.get("program") == "monitoring"
            for o in p.get("outcomes", [])
            if o.get("status") == "GRANTED" and o.get("code") != RISK_ELIMINATION_OUTCOME]


class Assistance:
    """The assistance use cases of an ``Application``."""

    def __init__(self, app: Application):
        self.app = app

    def record(self, p: Principal, household_id: str, risk: str, measure: str,
               started_on: date, today: date, note: str | None = None) -> Measure:
        """Record a measure (by hand) against one of a monitored household's risks."""
        self.app.policy.write_cases(p, "record assistance measures")
        _not_after(started_on, today, "startedOn")
        text = _text(measure, "measure")
        if text is None:
            raise _error(InvalidInput, "measure", "REQUIRED", "须填写帮扶措施",
                         "name the measure (e.g. 公益性岗位安置)")
        if len(text) > 200:
            raise _error(InvalidInput, "measure", "TOO_LONG", "帮扶措施名称过长",
                         "a measure's name has at most 200 characters")
        note = _text(note, "note")
        with self.app.uow() as uow, _conflicts("householdId"):
            stored = self.app.cases._household(p, uow, household_id)
            current = self._current(uow, household_id)
            known = {o["code"] for o in _risks(current.result)} if current else set()
            if risk not in known:
                raise _error(InvalidInput, "risk", "UNKNOWN_RISK", "该户最近一次认定没有此风险",
                             f"the household's latest determination grants no {risk!r}; its "
                             f"risks: {', '.join(sorted(known)) or 'none'}")
            row = uow.measures.add(AssistanceMeasure(
                household_id=stored.id, region_code=stored.region_code, risk=risk,
                measure=text, started_on=started_on, note=note, recorded_by=p.actor,
                recorded_at=uow.now()))
            uow.audit.append(actor=p.actor, action="assistance.record",
                             object_type="assistance_measure", object_id=row.id,
                             details={"household": stored.id, "risk": risk})
            uow.commit()
            return _recorded(row)

    def of_household(self, p: Principal, household_id: str,
                     today: date) -> AssistanceView | None:
        """The risks of a monitored household with their measures (None: not monitored)."""
        with self.app.uow() as uow:
            stored = self.app._readable_household(p, uow, household_id)
            if not stored.facts.get("monitored"):
                return None
            current = self._current(uow, household_id)
            recorded = uow.measures.of_household(household_id)
        if current is None:
            return AssistanceView(household_id, None, None, ())
        procedure = self.app.cases.procedure(today)
        # Outcome code -> (ZH, EN) titles, from the versions the determination recorded.
        titles = self.app.catalog().outcome_titles(v["contentHash"] for v in current.versions)

        def title(o: dict[str, Any]) -> tuple[str, str]:
            return titles.get(o["code"], (str(o.get("title") or o["code"]), o["code"]))

        granted = [(prog["program"], o) for prog in current.result.get("programs", [])
                   for o in prog.get("outcomes", []) if o.get("status") == "GRANTED"]
        risks = []
        for r in sorted(_risks(current.result), key=lambda o: o["code"]):
            programs = procedure.programs_addressing(r["code"])
            measures = [Measure("BENEFIT", o["code"], *title(o), o.get("memberId"), None, None,
                                None, None)
                        for program, o in granted if program in programs]
            measures += [_recorded(m) for m in recorded if m.risk == r["code"]]
            risks.append(RiskView(r["code"], *title(r), tuple(measures)))
        return AssistanceView(household_id, current.id, current.as_of, tuple(risks))

    @staticmethod
    def _current(uow: Any, household_id: str) -> Any:
        records = uow.determinations.for_household(household_id)
        return records[-1] if records else None


def _recorded(m: AssistanceMeasure) -> Measure:
    return Measure("RECORDED", None, m.measure, m.measure, None, m.started_on, m.recorded_by,
                   m.note, m.id)
