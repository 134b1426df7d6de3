"""The README and docs link only to files in the repository, and name no document that is not
in it (they once pointed at a policy brief and a contract kept elsewhere)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)\s]+)\)")
MARKDOWN_NAME = re.compile(r"(?<![\w/.-])([\w./-]+\.md)\b")


def _documents() -> list[Path]:
    return [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _repository_files() -> set[str]:
    done = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                          cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    return set(done.stdout.split())


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


def test_documents_named_are_in_the_repository() -> None:
    names = {Path(f).name for f in _repository_files()}
    missing = []
    for doc in _documents():
        for name in MARKDOWN_NAME.findall(doc.read_text(encoding="utf-8")):
            if not name.startswith(".") and Path(name).name not in names:
                missing.append(f"{doc.relative_to(ROOT)}: {name}")
    assert missing == []
