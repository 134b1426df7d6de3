"""The identification procedure (识别程序) of a monitoring case, as a versioned, cited document.

A ``procedure`` document holds the deadlines every case runs against (a county publishes them
with its procedure): how many working days home verification, department comparison, the
village review, the township review and the county approval may take, how many calendar days
the public notice (公示) runs, and the working days of the whole case. Every parameter carries
its citation; sample values fixed by this project say so (``sample: true``).

Versions are whole documents with ``effectiveFrom``; a case runs under the version in force on
the day it was opened (``procedure_in_force``): time is an argument, there is no "latest".
The working-day calendar (weekends, public holidays and the weekend days worked in their place)
is a separate, configured file (``policy.workdays``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from policy.document import Citation, Text
from policy.errors import DocumentInvalid, FieldError

PROGRAM = "procedure"

# The steps of a case, in order (the public contract's names).
STEPS = ("VERIFICATION", "COMPARISON", "VILLAGE_REVIEW", "TOWNSHIP_REVIEW", "COUNTY_APPROVAL")

# The parameter that bounds each step, in working days from the day the step began.
STEP_PARAMETERS = {
    "VERIFICATION": "verificationWorkingDays",
    "COMPARISON": "comparisonWorkingDays",
    "VILLAGE_REVIEW": "villageReviewWorkingDays",
    "TOWNSHIP_REVIEW": "townshipReviewWorkingDays",
    "COUNTY_APPROVAL": "countyApprovalWorkingDays",
}
REQUIRED = (*STEP_PARAMETERS.values(), "noticeCalendarDays", "caseWorkingDays",
            "comparisonWindowDays")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_Model):
    """A number of days, with its citation."""

    value: int = Field(ge=1, le=366)
    unit: Literal["working days", "calendar days"]
    description: Text | None = None
    sample: bool = False  # a sample value fixed by this project, not a published figure
    citation: Citation


class Measures(_Model):
    """Which programs' granted benefits count as assistance (帮扶措施) against which risk: a
    monitoring outcome code (a category or risk item) to the program codes that address it."""

    description: Text | None = None
    citation: Citation
    addressedBy: dict[str, list[str]]


class ProcedureDocument(_Model):
    program: Literal["procedure"]
    version: int = Field(ge=1)
    title: Text
    owner: str = Field(min_length=1)
    effectiveFrom: date
    notes: list[Text] = Field(default_factory=list)
    parameters: dict[str, Period]
    measures: Measures


class Procedure:
    """A loaded procedure version: its document and content hash."""

    def __init__(self, document: ProcedureDocument):
        self.document = document
        canonical = json.dumps(document.model_dump(mode="json"), sort_keys=True,
                               ensure_ascii=False, separators=(",", ":"))
        self.content_hash = hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def version(self) -> int:
        return self.document.version

    @property
    def effective_from(self) -> date:
        return self.document.effectiveFrom

    def days(self, name: str) -> int:
        return self.document.parameters[name].value

    def step_days(self, step: str) -> int:
        """Working days a step may take from the day it began."""
        return self.days(STEP_PARAMETERS[step])

    def citation(self, name: str) -> Citation:
        return self.document.parameters[name].citation

    def programs_addressing(self, risk: str) -> tuple[str, ...]:
        """The programs whose granted benefits count against ``risk`` (a monitoring outcome)."""
        return tuple(self.document.measures.addressedBy.get(risk, ()))


def load_procedure(text: str, source: str = "procedure") -> Procedure:
    """Parse and check a procedure document (YAML or JSON text).

    >>> v1 = Path(__file__).parent.parent / "fixtures" / "procedure" / "v1.yaml"
    >>> p = load_procedure(v1.read_text(encoding="utf-8"))
    >>> p.days("noticeCalendarDays"), p.step_days("VERIFICATION"), p.days("caseWorkingDays")
    (5, 3, 20)
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DocumentInvalid([FieldError(source, "INVALID_YAML", str(exc))]) from None
    try:
        doc = ProcedureDocument.model_validate(data)
    except ValidationError as exc:
        raise DocumentInvalid([
            FieldError(".".join(str(p) for p in e["loc"]) or source, "INVALID_VALUE", e["msg"])
            for e in exc.errors()]) from None
    missing = [n for n in REQUIRED if n not in doc.parameters]
    if missing:
        raise DocumentInvalid([FieldError(f"parameters.{n}", "REQUIRED",
                                          f"程序缺少参数 {n} / the procedure needs {n}")
                               for n in missing])
    unit = {n: "working days" for n in (*STEP_PARAMETERS.values(), "caseWorkingDays")}
    unit.update(noticeCalendarDays="calendar days", comparisonWindowDays="calendar days")
    wrong = [n for n, u in unit.items() if doc.parameters[n].unit != u]
    if wrong:
        raise DocumentInvalid([FieldError(f"parameters.{n}.unit", "INVALID_VALUE",
                                          f"{n} 的单位应为 {unit[n]} / {n} is in {unit[n]}")
                               for n in wrong])
    return Procedure(doc)


def load_procedures(folder: Path) -> list[Procedure]:
    """Every ``*.yaml`` version in ``folder``, oldest first (one version per number)."""
    found = [load_procedure(p.read_text(encoding="utf-8"), p.name)
             for p in sorted(folder.glob("v*.yaml"))]
    found.sort(key=lambda p: p.version)
    numbers = [p.version for p in found]
    if len(set(numbers)) != len(numbers):
        raise DocumentInvalid([FieldError("version", "DUPLICATE_VERSION",
                                          "两个程序文件版本号相同 / two procedure files share a "
                                          "version number")])
    return found


def procedure_in_force(versions: Sequence[Procedure], on: date) -> Procedure | None:
    """The version in force on ``on``: the latest ``effectiveFrom`` not after it."""
    found = [p for p in versions if p.effective_from <= on]
    return max(found, key=lambda p: (p.effective_from, p.version)) if found else None
