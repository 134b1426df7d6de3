"""Testing and previewing many draft revisions leaves the process as it was: drafts are
evaluated on their condition trees, never registered in durable_rules (whose rulesets cannot
be freed), and every memo is bounded."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import resource
from datetime import date

from engine import durable
from engine.batch.records import check_records
from engine.determine import determine
from engine.impact import frame_tables
from engine.testcases import draft_ref, run_cases
from policy.catalog import Catalog
from policy.document import compile_document, load_document
from services.rulesets import FIXTURES

AS_OF = date(2024, 6, 30)
REVISIONS = 500


def _rss_kib() -> int:
    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() // 1024


def _trim() -> None:
    # Give freed heap pages back to the system, so that RSS shows what is held, not what the
    # allocator keeps for later.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def test_500_draft_revisions_leave_registrations_and_memory_flat(catalog: Catalog) -> None:
    base = next(r.program for r in catalog.records if r.program.code == "housing")
    data = base.document.model_dump(mode="json", exclude_defaults=True)
    households = [json.loads(p.read_text(encoding="utf-8"))
                  for p in sorted((FIXTURES / "households").glob("*.json"))]
    checked = check_records(list(enumerate(households)), AS_OF)
    published = catalog.in_force(AS_OF, ["housing"])
    determine(households[0], AS_OF, published)
    registered = durable.registered_count()
    rss: list[int] = []
    for revision in range(REVISIONS):
        data["parameters"]["repairSubsidy"]["value"] = 10000 + revision  # a new content hash
        draft = compile_document(load_document(data))
        ref = draft_ref(draft)
        assert len(run_cases(draft, ref)) == len(draft.document.tests)
        tables = frame_tables(checked.households, checked.members, AS_OF, [(draft, ref)])
        assert len(tables.tables) == checked.households.height
        det = determine(households[1], AS_OF, [(draft, ref)])
        assert det.programs[0].version.content_hash == draft.content_hash
        if revision in (REVISIONS // 2 - 1, REVISIONS - 1):
            gc.collect()
            _trim()
            rss.append(_rss_kib())
    assert durable.registered_count() == registered
    # The last 250 revisions may not grow the process by more than 24 MiB while the bounded
    # memos fill (before, unbounded memos and the batch evaluators that functools.cache kept
    # grew it by 300-400 KiB a revision: 75-100 MiB; now about 36 KiB).
    assert rss[1] - rss[0] < 24 * 1024, rss
