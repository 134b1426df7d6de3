"""Import layering: engine never imports persistence or GraphQL; policy imports no I/O; engine
does no I/O."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    done = subprocess.run([exe, str(ROOT / "pyproject.toml")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "broken" not in done.stdout.lower().replace("0 broken", "")


# Calls that read or write files, the terminal or the network: the import contracts forbid the
# adapters' modules, these catch the I/O the standard library and polars/pyarrow offer directly.
_IO_CALLS = {"open", "print", "input", "breakpoint"}
_IO_METHODS = re.compile(
    r"^(read_text|write_text|read_bytes|write_bytes|open|mkdir|unlink|rename|touch|iterdir|glob"
    r"|rglob|read_(csv|parquet|ipc|json|ndjson|excel|database)|scan_\w+|write_(csv|parquet|ipc"
    r"|json|ndjson|excel|database)|sink_\w+|write_table|read_table|urlopen|connect|system"
    r"|popen)$")
_IO_MODULES = {"os", "pathlib", "shutil", "tempfile", "socket", "urllib", "http",
               "subprocess", "pyarrow.parquet", "pyarrow.csv", "pyarrow.feather", "openpyxl"}


# Calls that look like I/O and are not: (file, call) with the reason.
_IN_MEMORY = {
    ("engine/batch/lines.py", "read_json"): "Arrow's JSON reader on bytes it is given (BytesIO)",
    ("engine/impact.py", "rename"): "polars' DataFrame.rename of a frame's columns",
}


def test_engine_does_no_io() -> None:
    """``engine`` computes on values and frames it is given: no file, terminal, process or
    network call, and no module made for them (the screening adapters do the I/O)."""
    found = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [f"{where}:{node.lineno} import {a.name}" for a in node.names
                          if a.name in _IO_MODULES or a.name.split(".")[0] in _IO_MODULES]
            elif isinstance(node, ast.ImportFrom) and node.module:
                if node.module in _IO_MODULES or node.module.split(".")[0] in _IO_MODULES:
                    found.append(f"{where}:{node.lineno} from {node.module}")
            elif isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Name) and f.id in _IO_CALLS:
                    found.append(f"{where}:{node.lineno} {f.id}()")
                elif isinstance(f, ast.Attribute) and _IO_METHODS.match(f.attr) and \
                        (str(where), f.attr) not in _IN_MEMORY:
                    found.append(f"{where}:{node.lineno} .{f.attr}()")
    assert found == [], "engine does I/O:\n" + "\n".join(found)
