"""Re-screening every stored household through the batch backend (常态化监测 of the register
kept in the database), with the versions in force in the database's catalog."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from engine.batch.table import ALL_STATUSES
from screening.runner import screen_file
from services.application import Application
from services.auth import covered_codes
from services.errors import InvalidInput


def rescreen_stored(
    app: Application, as_of: date, output: str | Path, *,
    programs: Sequence[str] | None = None, statuses: frozenset[str] = ALL_STATUSES,
    region_codes: Sequence[str] | None = None, batch_size: int = 5000, layout: str = "long",
) -> dict[str, Any]:
    """Screen the stored households (all, or those of ``region_codes`` and of the villages
    below them, as the impact preview counts them) as of a date and write
    the outcome table (in ``layout``, ``screening.runner.LAYOUTS``), errors and summary beside
    ``output``, as ``policy-engine screen`` does.
    The households stream from the store into a JSON Lines register in a temporary folder,
    which the batch runner reads in chunks like any other register."""
    versions = app.catalog().in_force(as_of, programs)
    if not versions:
        raise InvalidInput(f"no program has a version in force on {as_of.isoformat()}",
                           code="NO_VERSION_IN_FORCE")
    with tempfile.TemporaryDirectory(prefix="pe-rescreen-") as folder:
        register = Path(folder) / "stored.jsonl"
        with register.open("w", encoding="utf-8") as f, app.uow() as uow:
            regions = covered_codes(region_codes, uow.households.region_codes()) \
                if region_codes else None
            # The facts as stored (JSON texts, one a line), read in columns of three.
            for rows in uow.households.facts_texts(region_codes=regions,
                                                   batch_size=batch_size):
                f.writelines((facts if "\n" not in facts
                              else json.dumps(json.loads(facts), ensure_ascii=False)) + "\n"
                             for _, _, facts in rows)
        return screen_file(register, output, as_of, versions, statuses=statuses, layout=layout)
