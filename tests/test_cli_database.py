"""The command line against the database: ``evaluate --database`` and ``screen --database`` use
the versions published there (as the API does), and ``export`` writes a stored version as YAML
that ``validate`` accepts and that hashes to the stored contentHash."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from policy.document import content_hash, load_document
from services.application import Application
from services.auth import Principal
from services.config import Settings
from services.rulesets import FIXTURES, RULESETS, document_files, load_file
from tests.databases import database_url, fresh_engine

ANYONE = Principal(name="cli-test", role="caseworker", regions=frozenset({"371300"}))
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
HH = FIXTURES / "households" / "hh-002.json"


@pytest.fixture(scope="module", params=BACKENDS)
def database(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Application]]:
    """A database migrated and seeded from fixtures/, and its URL."""
    postgres = os.environ.get("TEST_DATABASE_URL")
    if request.param == "postgresql" and not postgres:
        pytest.skip("PostgreSQL: set TEST_DATABASE_URL")
    with fresh_engine(request.param, tmp_path_factory.mktemp("clidb"), postgres_url=postgres,
                      prefix="cli_db") as engine:
        app = Application(Settings(env="prod"), engine)
        app.start()
        yield database_url(engine), app


def _stored(app: Application) -> list[tuple[str, str]]:
    with app.uow() as uow:
        return [(v.id, v.content_hash) for rs in uow.rule_sets.list_rule_sets()
                for v in uow.rule_sets.list_versions(rs.code)]


def test_every_shipped_version_exports_and_validates_with_its_hash(
        database: tuple[str, Application], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    url, app = database
    stored = dict(_stored(app))
    shipped = {load_file(p).content_hash for p in document_files(RULESETS)}
    assert shipped <= set(stored.values())  # every shipped document is a stored version
    for version_id, stored_hash in stored.items():
        if stored_hash not in shipped:
            continue  # made by another test of this module
        out = tmp_path / f"{version_id}.yaml"
        assert main(["export", version_id, "--database-url", url, "--out", str(out)]) == 0
        assert content_hash(load_document(out.read_text(encoding="utf-8"))) == stored_hash
        capsys.readouterr()
        assert main(["validate", str(out)]) == 0, capsys.readouterr()
        assert f"contentHash {stored_hash}" in capsys.readouterr().out
    # to standard output too
    first = next(iter(stored))
    assert main(["export", first, "--database-url", url]) == 0
    assert content_hash(load_document(capsys.readouterr().out)) == stored[first]


def test_export_of_an_unknown_version(database: tuple[str, Application],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    url, _ = database
    assert main(["export", "no-such-version", "--database-url", url]) == 2
    assert "[NOT_FOUND]" in capsys.readouterr().err


def _publish_monitoring(app: Application, effective: date) -> int:
    """A new monitoring version published in the database only (not in fixtures/)."""
    with app.uow() as uow:
        versions = uow.rule_sets.list_versions("monitoring")
        latest = max(versions, key=lambda v: v.version)
        number = uow.rule_sets.next_version_number("monitoring")
        document = load_document(dict(latest.document)).model_copy(
            update={"version": number, "effectiveFrom": effective})
        version = uow.rule_sets.add_version(document, author="editor")
        version.submit(by="editor", at=uow.now())
        version.publish(by="approver", at=uow.now(), effective_from=effective)
        uow.commit()
    return number


def _evaluate(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["evaluate", str(HH), "--format", "json", *args]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_evaluate_and_screen_use_the_versions_published_in_the_database(
        database: tuple[str, Application], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    url, app = database
    with app.uow() as uow:
        already = [v.version for v in uow.rule_sets.list_versions("monitoring")
                   if v.effective_from == date(2031, 1, 1)]
    number = already[0] if already else _publish_monitoring(app, date(2031, 1, 1))
    as_of = "2031-06-01"

    def monitoring(det: dict[str, Any]) -> int:
        (p,) = [p for p in det["programs"] if p["program"] == "monitoring"]
        version: int = p["ruleSetVersion"]["version"]
        return version

    from_files = _evaluate(["--as-of", as_of], capsys)
    from_database = _evaluate(["--as-of", as_of, "--database", url], capsys)
    assert monitoring(from_database) == number
    assert monitoring(from_files) < number
    # the service's own evaluation on that database agrees
    served = app.evaluate(ANYONE, json.loads(HH.read_text(encoding="utf-8")),
                          date(2031, 6, 1), None)
    assert {p.program: p.version.version for p in served.programs}["monitoring"] == number

    register = FIXTURES / "screening" / "register.csv"
    for source, expected in (([], monitoring(from_files)), (["--database", url], number)):
        out = tmp_path / f"screened-{len(source)}.csv"
        assert main(["screen", str(register), "--as-of", as_of, "--out", str(out),
                     "--no-progress", "--program", "monitoring", "--status", "all",
                     "--layout", "long",
                     *source]) == 0
        with out.open(encoding="utf-8") as f:
            versions = {row["version"] for row in csv.DictReader(f)}
        assert versions == {str(expected)}

    # A database that cannot be opened (its directory is a file), and one that opens but was
    # never migrated: both named errors, never a traceback (and nothing made outside tmp_path).
    (tmp_path / "not-a-directory").write_text("")
    for bad in (f"sqlite:///{tmp_path / 'not-a-directory' / 'x.sqlite3'}",
                f"sqlite:///{tmp_path / 'empty.sqlite3'}"):
        assert main(["evaluate", str(HH), "--as-of", as_of, "--database", bad]) == 2
        assert "[BAD_DATABASE]" in capsys.readouterr().err
