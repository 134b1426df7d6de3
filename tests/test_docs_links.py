"""The README and docs link only to files in the repository, and name no document that is not
in it (they once pointed at a policy brief and a contract kept elsewhere)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _documents() -> list[Path]:
    return [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_links_point_at_files_in_the_repository() -> None:
    broken = []
    for doc in _documents():
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            if re.match(r"^(https?|mailto):", target) or target.startswith("#"):
                continue
            path = (doc.parent / target.split("#")[0]).resolve()
            if not path.exists() or ROOT not in (path, *path.parents):
                broken.append(f"{doc.relative_to(ROOT)}: {target}")
    assert broken == []


# Documents the project was written against that are not part of it.
OUTSIDE = ("POLICY_BRIEF.md", "CONTRACT.md", "ARCHITECTURE.md", "STYLE.md",
           "source-2023-work-plan.txt")


def test_documents_kept_elsewhere_are_not_referred_to() -> None:
    found = []
    for doc in _documents():
        text = doc.read_text(encoding="utf-8")
        found += [f"{doc.relative_to(ROOT)}: {name}" for name in OUTSIDE if name in text]
    assert found == []


def test_decision_records_have_one_number_each() -> None:
    """Decision records are cited by number (``docs/decisions/0006``); two records with one
    number make such a citation ambiguous."""
    by_number: dict[str, list[str]] = {}
    for path in sorted((ROOT / "docs" / "decisions").glob("*.md")):
        number = path.name.split("-", 1)[0]
        assert number.isdigit() and len(number) == 4, path.name
        by_number.setdefault(number, []).append(path.name)
        title = path.read_text(encoding="utf-8").splitlines()[0]
        assert title.startswith(f"# {number} "), f"{path.name} is titled {title!r}"
    assert {n: names for n, names in by_number.items() if len(names) > 1} == {}
