"""docs/clients.md's Python example, run as written against a real server (uvicorn on
loopback) with an api_client token."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.api.conftest import Api

ROOT = Path(__file__).resolve().parents[2]


def _python_example() -> str:
    text = (ROOT / "docs" / "clients.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    return block


def test_the_python_client_example_runs_against_a_real_server(
        live: tuple[str, Api], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    base, api = live
    monkeypatch.setenv("POLICY_ENGINE_URL", base)
    monkeypatch.setenv("POLICY_ENGINE_TOKEN", api.tokens["api_client"])
    monkeypatch.setenv("POLICY_ENGINE_SCHEMA", str(ROOT / "schema.graphql"))
    namespace: dict[str, object] = {"__name__": "clients_example"}
    exec(compile(_python_example(), "docs/clients.md", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    # the household's granted outcomes, printed by the example with their Chinese titles
    assert printed, "the example printed no granted outcome"
    # the boarding junior-school child's living subsidy, its Chinese title, yuan a year
    assert "education.compulsory_living_subsidy 义务教育家庭经济困难学生生活补助 1500.0 YEAR" \
        in printed, printed
