"""``policy-engine events ingest`` (JSON Lines, CSV, Excel), ``events recorrelate`` and
``alerts list`` (table, CSV, JSON) on a real database (SQLite, and PostgreSQL when set)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from pathlib import Path

import pytest

from cli.main import main


@pytest.fixture
def db(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder for input files; the commands use a fresh database (SQLite, or PostgreSQL
    with TEST_DATABASE_URL)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("POLICY_ENGINE_ENV", "test")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_ingest_json_lines_then_list_alerts(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = db / "feed.jsonl"
    f.write_text("\n".join([
        json.dumps({"source": "住建", "eventId": "j1", "kind": "HOUSING_REGRADED",
                    "householdId": "hh-001", "occurredOn": "2024-03-01", "value": "D"},
                   ensure_ascii=False),
        "{not json",
        json.dumps({"source": "医保", "eventId": "j2", "kind": "INPATIENT_COST",
                    "householdId": "hh-001", "occurredOn": "2024-03-01", "amount": -1},
                   ensure_ascii=False),
        "",
        json.dumps({"source": "民政", "eventId": "j3", "kind": "DIBAO_GRANTED",
                    "householdId": "nobody", "occurredOn": "2024-03-01"}, ensure_ascii=False),
    ]) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "events", "ingest", str(f))
    assert code == 1  # some lines were rejected
    assert ("2 accepted, 0 already stored, 2 rejected, 1 for households not stored yet, "
            "1 alerts raised or updated") in out
    assert "line 2: not JSON" in err and "[INVALID_JSON]" in err
    assert "line 3: memberId: " in err and "line 3: amount: " in err and "NEGATIVE_AMOUNT" in err
    code, out, _ = run(capsys, "events", "ingest", str(f), "--json")
    assert json.loads(out)["duplicates"] == 2

    code, out, _ = run(capsys, "alerts", "list", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and [(r["rule"], r["householdId"], r["status"]) for r in rows] == [
        ("alert.housing_unsafe", "hh-001", "OPEN")]
    assert rows[0]["suggestedFacts"] == 'housingSafetyGrade="D"'
    code, out, _ = run(capsys, "alerts", "list", "--format", "csv", "--rule",
                       "alert.housing_unsafe")
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["householdId"] == "hh-001" and row["title"] == "住房鉴定为危房"
    code, out, _ = run(capsys, "alerts", "list", "--lang", "EN")
    assert "House re-graded unsafe" in out and "(1 alerts)" in out
    code, out, _ = run(capsys, "alerts", "list", "--status", "DISMISSED")
    assert "(0 alerts)" in out
    code, out, _ = run(capsys, "events", "recorrelate")
    assert code == 0 and "0 pending" in out


def test_ingest_csv_with_a_byte_order_mark(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = db / "feed.csv"
    f.write_text("\ufeffsource,eventId,kind,householdId,memberId,occurredOn,amount,value\n"
                 "医保,c1,INPATIENT_COST,hh-001,m1,2024-02-01,6000.50,\n"
                 "残联,c2,DISABILITY_CERTIFIED,hh-001,m1,2024-02-02,,2\n", encoding="utf-8")
    code, out, err = run(capsys, "events", "ingest", str(f))
    assert (code, err) == (0, "") and "2 accepted" in out
    code, out, _ = run(capsys, "alerts", "list", "--format", "json")
    assert sorted(r["rule"] for r in json.loads(out)) == [
        "alert.large_medical_expense", "alert.new_severe_disability"]


def test_ingest_an_excel_sheet(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["source", "eventId", "kind", "householdId", "memberId", "occurredOn",
                  "amount", "value"])
    sheet.append(["教育", 1001, "SCHOOL_DROPOUT", "hh-001", "m2", datetime(2024, 3, 1), None,
                  None])
    sheet.append(["住建", 1002, "HOUSING_REGRADED", "hh-001", None, date(2024, 3, 2), None,
                  "B"])
    sheet.append(["住建", 1003, "HOUSING_REGRADED", "hh-001", None, "not a date", None, "C"])
    f = db / "feed.xlsx"
    book.save(f)
    code, out, err = run(capsys, "events", "ingest", str(f))
    assert code == 1 and "2 accepted" in out
    assert "line 4: occurredOn:" in err
    code, out, _ = run(capsys, "alerts", "list", "--format", "json")
    assert [r["rule"] for r in json.loads(out)] == ["alert.school_dropout"]


def test_unreadable_files_exit_2(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = db / "feed.txt"
    f.write_text("x", encoding="utf-8")
    assert run(capsys, "events", "ingest", str(f))[0] == 2
    g = db / "bad.csv"
    g.write_text("a,b\n1,2\n", encoding="utf-8")
    code, _, err = run(capsys, "events", "ingest", str(g))
    assert code == 2 and "header row lacks" in err
    assert run(capsys, "events", "ingest", str(db / "missing.jsonl"))[0] == 2


def test_recorrelate_correlates_what_was_stored_only(
        db: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import date as day

    from services.application import Application
    from services.config import Settings
    from store.repositories import EventRow

    app = Application(Settings(env="test", database_url=database_url))  # type: ignore[arg-type]
    try:
        app.start()
        with app.uow() as uow:  # stored as ingestion stores it, as if it died right after
            uow.events.add_many([EventRow(
                idempotency_key="住建:r1", source="住建", kind="HOUSING_REGRADED",
                household_id="hh-001", member_id=None, occurred_on=day(2024, 3, 1),
                payload={"eventId": "r1", "value": "C"})])
            uow.commit()
    finally:
        app.engine.dispose()
    code, out, _ = run(capsys, "events", "recorrelate")
    assert code == 0 and out.startswith("1 events correlated; 0 pending")
    code, out, _ = run(capsys, "alerts", "list", "--format", "json")
    assert [r["rule"] for r in json.loads(out)] == ["alert.housing_unsafe"]


def test_webhook_set_and_its_delivery_log(db: Path, database_url: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from services.application import Application, Tokens
    from services.config import Settings

    code, _, err = run(capsys, "webhook", "set", "nobody", "http://127.0.0.1:9/hook")
    assert code == 2 and "no active token" in err
    app = Application(Settings(env="test", database_url=database_url))  # type: ignore[arg-type]
    try:
        Tokens(app).create(role="api_client", name="county", regions=["371300"])
    finally:
        app.engine.dispose()
    code, out, err = run(capsys, "webhook", "set", "county", "ftp://x")
    assert code == 2 and "http" in err
    code, out, err = run(capsys, "webhook", "set", "county", "http://127.0.0.1:9/hook")
    assert code == 0 and len(out.strip()) > 30 and "X-Signature-256" in err
    f = db / "one.jsonl"
    f.write_text(json.dumps({"source": "民政", "eventId": "w1", "kind": "DIBAO_GRANTED",
                             "householdId": "hh-002", "occurredOn": "2024-03-01"},
                            ensure_ascii=False) + "\n", encoding="utf-8")
    assert run(capsys, "events", "ingest", str(f))[0] == 0
    code, out, _ = run(capsys, "webhook", "deliveries")
    (delivery,) = json.loads(out)
    # Queued with the alert; nobody delivers it here (the server's worker would).
    assert (delivery["status"], delivery["attempts"], delivery["log"]) == ("PENDING", 0, [])
