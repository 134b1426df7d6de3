"""Cadres' regular visits (干部定期回访, 日常监测: WP 二、2) and a household's timeline.

A visit records the day, what was seen (income, health, housing, schooling, drinking water) and
the facts it changed (saved as a household revision); it may open a monitoring case (channel
VISIT) in the same transaction. The timeline puts a household's visits, fact revisions,
recorded determinations, alerts and case actions in one list, newest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from services.auth import Principal
from services.cases import CaseView, _conflicts, _enum_value, _error, _not_after, save_facts_of
from services.errors import InvalidInput
from store.models import CaseChannel, CaseKind, Visit

if TYPE_CHECKING:
    from services.application import Application

MAX_OBSERVATIONS = 4000


@dataclass(frozen=True)
class VisitView:
    id: str
    household_id: str
    region_code: str
    visited_on: date
    observations: str
    facts_changed: tuple[str, ...]
    household_revision: int | None
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class TimelineEntry:
    """One event in a household's history. ``kind``: VISIT, REVISION, DETERMINATION, ALERT or
    CASE (an action on one of its cases); ``ref`` the object's id; ``detail`` what a view
    needs to show it (e.g. the revision's changed facts, the case's step and action)."""

    at: datetime
    on: date
    kind: str
    ref: str
    actor: str | None
    title_zh: str
    title_en: str
    detail: dict[str, Any]

    def title(self, lang: str = "ZH") -> str:
        return self.title_en if lang.upper() == "EN" else self.title_zh


def _visit_view(v: Visit) -> VisitView:
    return VisitView(v.id, v.household_id, v.region_code, v.visited_on, v.observations,
                     tuple(v.facts_changed or ()), v.household_revision, v.recorded_by,
                     v.recorded_at)


def changed_facts(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The fact paths that differ (``members[1].schoolStage``; a member added or removed is
    ``members``).

    >>> changed_facts({"a": 1, "members": [{"id": "m", "x": 1}]},
    ...               {"a": 2, "members": [{"id": "m", "x": 2}]})
    ['a', 'members[0].x']
    """
    out = sorted(k for k in set(before) | set(after)
                 if k != "members" and before.get(k) != after.get(k))
    old, new = before.get("members") or [], after.get("members") or []
    if [m.get("id") for m in old] != [m.get("id") for m in new]:
        return [*out, "members"]
    for i, (a, b) in enumerate(zip(old, new, strict=True)):
        out += [f"members[{i}].{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    return out


_STEP = {"VERIFICATION": ("入户核查", "home verification"),
         "COMPARISON": ("部门比对", "department comparison"),
         "VILLAGE_REVIEW": ("村级评议公示", "village review and notice"),
         "TOWNSHIP_REVIEW": ("乡镇审核", "township review"),
         "COUNTY_APPROVAL": ("县级审定", "county approval")}
_ACTION = {"OPEN": ("立案", "opened"), "RECORD": ("记录", "recorded"),
           "APPROVE": ("通过", "approved"), "RETURN": ("退回", "returned"),
           "REJECT": ("不予通过", "rejected")}
_KIND = {"INCLUSION": ("纳入监测", "inclusion"),
         "RISK_ELIMINATION": ("风险消除", "risk elimination")}
_ALERT = {"OPEN": ("待核实", "open"), "VERIFIED": ("已核实", "verified"),
          "INCLUDED": ("已纳入监测", "included"), "DISMISSED": ("已排除", "dismissed")}


class Visits:
    """The visit and timeline use cases of an ``Application``."""

    def __init__(self, app: Application):
        self.app = app

    def record(self, p: Principal, household_id: str, visited_on: date, observations: str,
               today: date, *, household: Mapping[str, Any] | None = None,
               open_case: str | None = None) -> tuple[VisitView, CaseView | None]:
        """Record a caseworker's visit to a household of their region; the facts it found
        (``household``, the whole household JSON) become a new revision; ``open_case`` (a
        kind) opens a case from the visit."""
        self.app.policy.write_cases(p, "record visits")
        _not_after(visited_on, today, "visitedOn")
        if observations and len(observations) > MAX_OBSERVATIONS:
            raise _error(InvalidInput, "observations", "TOO_LONG", "走访记录过长",
                         f"observations have at most {MAX_OBSERVATIONS} characters")
        text = (observations or "").strip() or None
        if text is None:
            raise _error(InvalidInput, "observations", "REQUIRED", "须填写走访情况",
                         "say what the visit found (income, health, housing, schooling, "
                         "drinking water)")
        kind = _enum_value(CaseKind, open_case, "openCase") if open_case else None
        with self.app.uow() as uow, _conflicts("householdId"):
            stored = self.app.cases._household(p, uow, household_id)
            changed: list[str] = []
            revision = None
            if household is not None:
                stored, changed = save_facts_of(
                    uow, p, stored, household, today,
                    mismatch=("走访的农户须与 householdId 一致",
                              "the household's facts are the visited household's"),
                    via="visit", diff=changed_facts)
                if changed:
                    revision = stored.revision
            visit = uow.visits.add(Visit(
                household_id=stored.id, region_code=stored.region_code, visited_on=visited_on,
                observations=text, facts_changed=changed, household_revision=revision,
                recorded_by=p.actor, recorded_at=uow.now()))
            uow.audit.append(actor=p.actor, action="visit.record", object_type="visit",
                             object_id=visit.id, details={"household": stored.id,
                                                          "factsChanged": len(changed)})
            case = None
            if kind is not None:
                case = self.app.cases.open_in(uow, p, stored, kind, CaseChannel.VISIT, today,
                                              visit_id=visit.id)
            uow.commit()
            view = _visit_view(visit)
            case_view = self.app.cases._view(uow, case) if case is not None else None
        if household is not None:
            # events that wait for changed facts are correlated with them
            self.app.warning.correlate([household_id])
        return view, case_view

    def of_household(self, p: Principal, household_id: str) -> list[VisitView]:
        """A household's visits, newest first (as the household's visibility)."""
        with self.app.uow() as uow:
            self.app._readable_household(p, uow, household_id)
            return [_visit_view(v) for v in reversed(uow.visits.of_household(household_id))]

    def timeline(self, p: Principal, household_id: str) -> list[TimelineEntry]:
        """Visits, fact revisions, determinations, alerts and case actions, newest first."""
        with self.app.uow() as uow:
            stored = self.app._readable_household(p, uow, household_id)
            out: list[TimelineEntry] = []
            for v in uow.visits.of_household(household_id):
                out.append(TimelineEntry(
                    v.recorded_at, v.visited_on, "VISIT", v.id, v.recorded_by,
                    f"走访：{_short(v.observations)}", f"Visit: {_short(v.observations)}",
                    {"factsChanged": list(v.facts_changed or []),
                     "householdRevision": v.household_revision}))
            previous: Mapping[str, Any] = {}
            for r in uow.households.history(household_id):
                changed = changed_facts(previous, r.facts) if previous else []
                out.append(TimelineEntry(
                    r.recorded_at, r.recorded_at.date(), "REVISION", f"{household_id}@{r.revision}",
                    r.recorded_by, f"家庭信息第 {r.revision} 版",
                    f"Household facts, revision {r.revision}",
                    {"revision": r.revision, "factsChanged": changed}))
                previous = r.facts
            for d in uow.determinations.for_household(household_id):
                granted = sorted({o["code"] for prog in d.result.get("programs", [])
                                  for o in prog.get("outcomes", [])
                                  if o.get("status") == "GRANTED"})
                out.append(TimelineEntry(
                    d.created_at, d.as_of, "DETERMINATION", d.id, d.created_by,
                    f"认定（截至 {d.as_of.isoformat()}）：{len(granted)} 项符合",
                    f"Determination as of {d.as_of.isoformat()}: {len(granted)} granted",
                    {"asOf": d.as_of.isoformat(), "householdRevision": d.household_revision,
                     "granted": granted}))
            if self.app.policy.alert_visible(p, stored.region_code):
                for a in uow.alerts.page(1000, household_id=household_id).items:
                    zh, en = _ALERT[a.status.value]
                    title = (a.explanation or {})
                    out.append(TimelineEntry(
                        a.created_at, a.created_at.date(), "ALERT", a.id, None,
                        f"预警：{title.get('titleZh', a.rule)}（{zh}）",
                        f"Alert: {title.get('titleEn', a.rule)} ({en})",
                        {"rule": a.rule, "status": a.status.value}))
            if self.app.policy.case_visible(p, stored.region_code):
                cases = uow.cases.of_household(household_id)
                entries = uow.cases.entries([c.id for c in cases])
                for c in cases:
                    kzh, ken = _KIND[c.kind.value]
                    for e in entries[c.id]:
                        szh, sen = _STEP[e.step.value]
                        azh, aen = _ACTION[e.action]
                        out.append(TimelineEntry(
                            e.at, e.on, "CASE", c.id, e.actor,
                            f"{kzh}案件：{szh}{azh}", f"{ken.capitalize()} case: {sen} {aen}",
                            {"kind": c.kind.value, "step": e.step.value,
                             "action": e.action, "entry": e.id}))
        out.sort(key=lambda t: (t.at, t.kind, t.ref), reverse=True)
        return out


def _short(text: str, n: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n] + "…"
