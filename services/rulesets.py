"""Loading rule-set documents from a directory (the shipped fixtures, or a county's own)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from policy.catalog import Catalog, VersionRecord
from policy.document import Program, compile_document, load_document
from policy.errors import DocumentInvalid, FieldError
from policy.events import EVENT_PROGRAMS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RULESETS = FIXTURES / "rulesets"


def document_files(directory: Path = RULESETS) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml", ".json"))


def load_file(path: Path) -> Program:
    """Read and compile one document; errors name the file."""
    try:
        return compile_document(load_document(path.read_text(encoding="utf-8")))
    except DocumentInvalid as exc:
        raise DocumentInvalid(
            [FieldError(f"{path.name}: {e.field}", e.code, e.message) for e in exc.errors]
        ) from None


def version_id(program: str, version: int) -> str:
    return f"{program}-v{version}"


def load_catalog(directory: Path = RULESETS, *, events: bool = False) -> Catalog:
    """Every document in the directory, as published versions effective from their
    ``effectiveFrom`` (the shipped fixtures are the county's published policy). The rule sets
    of event programs (early warning) only with ``events``: they evaluate department events,
    not households."""
    records = []
    for path in document_files(directory):
        program = load_file(path)
        if program.code in EVENT_PROGRAMS and not events:
            continue
        effective: date | None = program.document.effectiveFrom
        records.append(
            VersionRecord(version_id(program.code, program.document.version), program,
                          "PUBLISHED" if effective else "DRAFT", effective)
        )
    return Catalog(records)
