"""``policy-engine events ...``, ``alerts list`` and ``webhook set``: early warning from the
command line, on the database of ``DATABASE_URL`` (SQLite by default).

    policy-engine events ingest FILE      JSON Lines, CSV (UTF-8, a header row of EventInput
                                          names) or Excel .xlsx (the first sheet, same header)
    policy-engine events recorrelate      correlate stored events not yet correlated
    policy-engine alerts list             a table, CSV or JSON
    policy-engine webhook set TOKEN URL   an api_client's webhook; prints its secret once
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from cli.bilingual import add_lang

FIELDS = ("source", "eventId", "kind", "householdId", "memberId", "occurredOn", "amount",
          "value")
BATCH = 1000


def _fail(message: str, code: int = 2) -> int:
    print(message, file=sys.stderr)
    return code


@contextmanager
def _app(*, correlate: bool = True) -> Iterator[Any]:
    """The application on ``DATABASE_URL``, started (pending events are correlated, unless
    ``correlate`` is off); its connections are closed when the command is done."""
    from services.application import Application
    from services.config import Settings

    app = Application(Settings(correlate_on_start=correlate))
    try:
        app.start()
        yield app
    finally:
        app.engine.dispose()


# --- reading event files -------------------------------------------------------------------


class Unreadable(Exception):
    """The file cannot be read as events at all (as opposed to one bad event)."""


Row = tuple[int, Any]  # (line or row number in the file, the event's data or an error text)


def read_events(path: Path) -> Iterator[Row]:
    """The events of a file, each with its line (or spreadsheet row) number."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl(path)
    if suffix == ".csv":
        return _csv(path)
    if suffix == ".xlsx":
        return _xlsx(path)
    raise Unreadable(f"{path.name}: unknown format (use .jsonl, .csv or .xlsx)")


def _jsonl(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8-sig") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, f"not JSON: {exc.msg}"


def _blank(v: Any) -> Any:
    return None if v is None or (isinstance(v, str) and not v.strip()) else v


def _csv(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        _check_header(reader.fieldnames or [])
        for n, row in enumerate(reader, 2):
            yield n, {k: _blank(v.strip() if isinstance(v, str) else v)
                      for k, v in row.items() if k is not None}


def _check_header(names: Sequence[Any]) -> None:
    header = [str(h).strip() for h in names if h is not None]
    missing = [f for f in ("source", "eventId", "kind", "householdId", "occurredOn")
               if f not in header]
    if missing:
        raise Unreadable(f"the header row lacks {', '.join(missing)} (columns: "
                         f"{', '.join(FIELDS)})")


def _xlsx(path: Path) -> Iterator[Row]:
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise Unreadable("reading .xlsx needs openpyxl (pip install openpyxl)") from exc
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise Unreadable(f"{path.name}: not an Excel workbook ({type(exc).__name__})") from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        _check_header(header)
        for n, values in enumerate(rows, 2):
            if all(v is None for v in values):
                continue
            yield n, {h: _cell(h, v) for h, v in zip(header, values, strict=False) if h}
    finally:
        book.close()


def _cell(name: str, v: Any) -> Any:
    # Spreadsheets type their cells: a date cell is a datetime, an id typed as a number is a
    # float (12 -> "12"); amounts stay numbers.
    v = _blank(v)
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == time(0) else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if name != "amount" and isinstance(v, int | float) and not isinstance(v, bool):
        return str(int(v)) if float(v).is_integer() else str(v)
    return v


# --- commands ------------------------------------------------------------------------------


def cmd_events_ingest(args: argparse.Namespace) -> int:

    path = Path(args.file)
    try:
        rows = list(read_events(path))
    except Unreadable as exc:
        return _fail(f"error: {exc}")
    except OSError as exc:
        return _fail(f"error: cannot read {path.name}: {exc.strerror}")
    except (UnicodeDecodeError, csv.Error) as exc:
        return _fail(f"error: {path.name} is not UTF-8 text: {exc}")
    with _app() as app:
        return _ingest(app, args, path, rows)


def _ingest(app: Any, args: argparse.Namespace, path: Path, rows: list[Row]) -> int:
    from services.auth import Principal

    feed = Principal(name=args.actor, role="api_client")
    today = date.today()
    accepted = duplicates = 0
    problems: list[str] = []
    unknown: set[str] = set()
    raised = 0
    for start in range(0, len(rows), BATCH):
        chunk = rows[start:start + BATCH]
        events = []
        lines = []
        for n, data in chunk:
            if isinstance(data, str):
                problems.append(f"line {n}: {data} [INVALID_JSON]")
                continue
            events.append(data)
            lines.append(n)
        report = app.warning.ingest(feed, events, today)
        accepted += report.accepted
        duplicates += report.duplicates
        unknown.update(report.unknown_households)
        raised += report.alerts_total
        for r in report.rejected:
            field = r.field.split(".", 1)[1] if "." in r.field else r.field
            problems.append(f"line {lines[r.index]}: {field}: {r.message} [{r.code}]")
    summary = {"accepted": accepted, "duplicates": duplicates,
               "rejected": len({p.split(":", 1)[0] for p in problems}),
               "unknownHouseholds": len(unknown), "alertsRaisedOrUpdated": raised}
    if args.json:
        print(json.dumps({**summary, "problems": problems}, ensure_ascii=False, indent=2))
    else:
        print(f"{path.name}: {accepted} accepted, {duplicates} already stored, "
              f"{summary['rejected']} rejected, {len(unknown)} for households not stored yet, "
              f"{raised} alerts raised or updated")
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


def cmd_events_recorrelate(args: argparse.Namespace) -> int:
    with _app(correlate=False) as app:
        done = app.warning.correlate_pending()
        print(f"{done} events correlated; {app.warning.pending_count()} pending "
              f"(events of households not stored are kept until they are)")
    return 0


def cmd_alerts_list(args: argparse.Namespace) -> int:

    with _app() as app:
        return _list(app, args)


def _list(app: Any, args: argparse.Namespace) -> int:
    from services.auth import Principal

    reader = Principal(name=args.actor, role="auditor")
    since = datetime.combine(args.since, time(0)).astimezone() if args.since else None
    out: list[Any] = []
    after = None
    while len(out) < args.limit:
        items, more, after, _ = app.warning.alerts(
            reader, min(100, args.limit - len(out)), after, status=args.status,
            region_codes=args.region, rule=args.rule, since=since)
        out.extend(items)
        if not more:
            break
    rows = [{"id": a.id, "raisedAt": a.raised_at.isoformat(timespec="seconds"),
             "status": a.status, "rule": a.rule, "householdId": a.household_id,
             "memberId": a.member_id or "", "regionCode": a.region_code,
             "title": a.title(args.lang), "events": len(a.event_ids),
             "suggestedFacts": "; ".join(f"{f.fact}={f.value}" for f in a.suggested_facts)}
            for a in out]
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif args.format == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["id"])
        writer.writeheader()
        writer.writerows(rows)
        sys.stdout.write(buf.getvalue())
    else:
        columns = ("raisedAt", "status", "rule", "householdId", "memberId", "regionCode",
                   "events", "title")
        widths = {c: max([len(c), *(_width(str(r[c])) for r in rows)]) for c in columns}
        print("  ".join(_pad(c, widths[c]) for c in columns))
        for r in rows:
            print("  ".join(_pad(str(r[c]), widths[c]) for c in columns))
        print(f"({len(rows)} alerts)")
    return 0


def _width(text: str) -> int:
    # A Chinese character takes two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def cmd_webhook_set(args: argparse.Namespace) -> int:
    from services.errors import ServiceError

    with _app() as app:
        try:
            hook_id, secret = app.webhooks.register(args.token, args.url)
        except ServiceError as exc:
            return _fail(f"error: {exc.message}")
    print(f"webhook {hook_id}: alerts of the token's regions are POSTed to {args.url}, "
          f"signed with this secret (X-Signature-256: sha256=HMAC of the body):",
          file=sys.stderr)
    print(secret)
    return 0


def cmd_webhook_deliveries(args: argparse.Namespace) -> int:
    with _app(correlate=False) as app:
        rows = [{"id": d.id, "webhookId": d.webhook_id, "alertId": d.alert_id,
                 "status": d.status, "attempts": d.attempts, "log": list(d.log),
                 "createdAt": d.created_at.isoformat(),
                 "deliveredAt": d.delivered_at.isoformat() if d.delivered_at else None}
                for d in app.webhooks.deliveries(args.alert)]
    print(json.dumps(rows, ensure_ascii=False, indent=2))
    return 0


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"不是日期（YYYY-MM-DD）：{text!r}。 not a date (YYYY-MM-DD): {text!r}") from None


def add_commands(sub: Any) -> None:
    """Add ``events``, ``alerts`` and ``webhook`` to the ``policy-engine`` parser."""
    p = sub.add_parser("events", help="预警监测的部门事件。 department events for early warning")
    esub = p.add_subparsers(dest="events_command", required=True, help="子命令。 the subcommand")
    e = esub.add_parser("ingest", help="存储文件中的事件（JSON Lines、CSV 或 .xlsx；按 source 和 "
                        "eventId 幂等）并进行关联。 store the events of a file (JSON Lines, CSV or "
                        ".xlsx; idempotent by source and eventId) and correlate them")
    e.add_argument("file", help="事件文件：.jsonl、.csv 或 .xlsx。 the events file: .jsonl, .csv "
                   "or .xlsx")
    e.add_argument("--json", action="store_true", help="以 JSON 输出汇总。 print the summary as "
                   "JSON")
    e.add_argument("--actor", default="cli", help="审计日志记录的名称（默认 cli）。 the name the "
                   "audit log records (default cli)")
    e.set_defaults(func=cmd_events_ingest)
    e = esub.add_parser("recorrelate", help="关联此前未关联的已存储事件（例如程序崩溃之后）。 "
                        "correlate stored events that were not (e.g. after a crash)")
    e.set_defaults(func=cmd_events_recorrelate)

    p = sub.add_parser("alerts", help="预警。 early-warning alerts")
    asub = p.add_subparsers(dest="alerts_command", required=True, help="子命令。 the subcommand")
    a = asub.add_parser("list", help="列出预警，最新的在前。 alerts newest first")
    a.add_argument("--status", choices=["OPEN", "VERIFIED", "INCLUDED", "DISMISSED"],
                   help="只列该状态的预警（OPEN 待核实、VERIFIED 已核实、INCLUDED 已纳入监测、"
                   "DISMISSED 已排除）。 only alerts with this status")
    a.add_argument("--region", action="append", help="行政区划代码（可重复）。 region code "
                   "(repeatable)")
    a.add_argument("--rule", help="预警规则，例如 alert.large_medical_expense。 the alert rule, "
                   "e.g. alert.large_medical_expense")
    a.add_argument("--since", type=_date, help="只列该日期当天或之后产生的预警。 raised on or "
                   "after this date")
    a.add_argument("--limit", type=int, default=1000, help="最多列出的预警数（默认 1000）。 list "
                   "at most this many alerts (default 1000)")
    a.add_argument("--format", choices=["table", "csv", "json"], default="table",
                   help="输出格式：table 表格（默认）、csv 或 json。 output format: table "
                   "(default), csv or json")
    add_lang(a)
    a.add_argument("--actor", default="cli", help="以审计人员身份读取时使用的名称（默认 cli）。 "
                   "the name the alerts are read under, as an auditor (default cli)")
    a.set_defaults(func=cmd_alerts_list)

    p = sub.add_parser("webhook", help="api_client 令牌的外发 Webhook。 outgoing webhooks of "
                       "api_client tokens")
    wsub = p.add_subparsers(dest="webhook_command", required=True, help="子命令。 the subcommand")
    w = wsub.add_parser("set", help="设置令牌的 Webhook URL；输出签名密钥。 set a token's webhook "
                        "URL; prints the signing secret")
    w.add_argument("token", help="api_client 令牌的编号或名称。 the api_client token's id or name")
    w.add_argument("url", help="接收该令牌所辖地区预警推送（POST）的 URL。 the URL the alerts of "
                   "the token's regions are POSTed to")
    w.set_defaults(func=cmd_webhook_set)
    w = wsub.add_parser("deliveries", help="以 JSON 输出推送记录：每次推送的状态及每次尝试（时间、"
                        "HTTP 状态或错误、耗时）。 the delivery log as JSON: each delivery's "
                        "status and every attempt (time, HTTP status or error, duration)")
    w.add_argument("--alert", help="只看该预警的推送。 only the deliveries of this alert")
    w.set_defaults(func=cmd_webhook_deliveries)
