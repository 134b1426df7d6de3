"""``policy-engine cases list``: monitoring cases from the command line, on the database of
``DATABASE_URL`` (SQLite by default), as an auditor reads them (every region unless
``--region``).

    policy-engine cases list --overdue            overdue open cases, then their numbers per
                                                  township and per county
    policy-engine cases list --status OPEN --format json
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

from cli.bilingual import add_lang
from cli.warning import _app, _date, _pad, _width

KINDS = {"INCLUSION": ("纳入监测", "inclusion"),
         "RISK_ELIMINATION": ("风险消除", "risk elimination")}
STEPS = {"VERIFICATION": ("入户核查", "verification"), "COMPARISON": ("部门比对", "comparison"),
         "VILLAGE_REVIEW": ("村级评议公示", "village review"),
         "TOWNSHIP_REVIEW": ("乡镇审核", "township review"),
         "COUNTY_APPROVAL": ("县级审定", "county approval")}
STATUSES = {"OPEN": ("在办", "open"), "APPROVED": ("已审定", "approved"),
            "REJECTED": ("不予通过", "rejected")}
LEVELS = {"TOWNSHIP": ("乡镇", "township"), "COUNTY": ("县", "county")}
COLUMNS = {  # key: (ZH, EN)
    "id": ("案件编号", "case"), "householdId": ("农户", "household"),
    "regionCode": ("地区", "region"), "kind": ("类型", "kind"), "status": ("状态", "status"),
    "step": ("当前环节", "step"), "stepDueOn": ("环节期限", "step due"),
    "dueOn": ("办结期限", "case due"), "daysOverdue": ("逾期天数", "days overdue"),
}


def _row(v: Any, today: date) -> dict[str, Any]:
    late = max((today - d).days for d in (v.step_due_on, v.due_on)) if v.overdue(today) else 0
    return {"id": v.id, "householdId": v.household_id, "regionCode": v.region_code,
            "kind": v.kind, "status": v.status, "step": v.step,
            "stepDueOn": v.step_due_on.isoformat(), "dueOn": v.due_on.isoformat(),
            "overdue": v.overdue(today), "daysOverdue": late,
            "openedOn": v.opened_on.isoformat(), "channel": v.channel}


def _label(table: dict[str, tuple[str, str]], key: str, lang: str) -> str:
    zh, en = table.get(key, (key, key))
    return en if lang == "EN" else zh


def _print_table(rows: list[dict[str, Any]], lang: str) -> None:
    names = {"kind": KINDS, "step": STEPS, "status": STATUSES}
    shown = [{c: _label(names[c], r[c], lang) if c in names else str(r[c]) for c in COLUMNS}
             for r in rows]
    heads = {c: _label(COLUMNS, c, lang) for c in COLUMNS}
    widths = {c: max([_width(heads[c]), *(_width(r[c]) for r in shown)]) for c in COLUMNS}
    print("  ".join(_pad(heads[c], widths[c]) for c in COLUMNS))
    for r in shown:
        print("  ".join(_pad(r[c], widths[c]) for c in COLUMNS))


def cmd_cases_list(args: argparse.Namespace) -> int:
    from services.auth import Principal
    from services.errors import ServiceError

    today: date = args.as_of or date.today()
    reader = Principal(name=args.actor, role="auditor")
    with _app(correlate=False) as app:
        try:
            groups: list[Any] = []
            if args.overdue:
                views, groups = app.cases.overdue(None, today, args.region, limit=args.limit)
                views = [v for v in views if not args.kind or v.kind == args.kind]
            else:
                views, after = [], None
                while len(views) < args.limit:
                    items, more, after, _ = app.cases.cases(
                        reader, min(100, args.limit - len(views)), after, today,
                        region_codes=args.region, status=args.status, kind=args.kind)
                    views.extend(items)
                    if not more:
                        break
        except ServiceError as exc:
            return _fail(exc.message)
    rows = [_row(v, today) for v in views]
    if args.format == "json":
        out: dict[str, Any] = {"asOf": today.isoformat(), "cases": rows}
        if args.overdue:
            out["overdueBy"] = [{"level": g.level, "regionCode": g.region_code,
                                 "count": g.count} for g in groups]
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    _print_table(rows, args.lang)
    total = (sum(g.count for g in groups if g.level == "COUNTY") if args.overdue
             else len(rows))
    if args.lang == "EN":
        shown = f", {len(rows)} listed" if total != len(rows) else ""
        print(f"({total} cases{' overdue' if args.overdue else ''} as of "
              f"{today.isoformat()}{shown})")
    else:
        late = "逾期" if args.overdue else ""
        shown = f"，列出 {len(rows)} 件" if total != len(rows) else ""
        print(f"（共 {total} 件{late}案件，截至 {today.isoformat()}{shown}）")
    if args.overdue and groups:
        print()
        for g in groups:
            unit = "" if args.lang == "EN" else " 件"
            print(f"{_label(LEVELS, g.level, args.lang)} {g.region_code}: {g.count}{unit}")
    return 0


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def add_commands(sub: Any) -> None:
    """Add ``cases`` to the ``policy-engine`` parser."""
    p = sub.add_parser("cases", help="监测案件（监测对象识别）。 monitoring cases")
    csub = p.add_subparsers(dest="cases_command", required=True, help="子命令。 the subcommand")
    c = csub.add_parser("list", help="列出案件，最新的在前；--overdue：逾期的在办案件，及其按乡镇和"
                        "县统计的件数。 cases newest first; --overdue: overdue open cases and "
                        "their numbers per township and county")
    c.add_argument("--overdue", action="store_true", help="只列已过期限的在办案件。 only open "
                   "cases past a due day")
    c.add_argument("--region", action="append", help="行政区划代码（可重复）。 region code "
                   "(repeatable)")
    c.add_argument("--status", choices=list(STATUSES), help="只列该状态的案件（OPEN 在办、"
                   "APPROVED 已审定、REJECTED 不予通过）。 only cases with this status")
    c.add_argument("--kind", choices=list(KINDS), help="只列该类型的案件（INCLUSION 纳入监测、"
                   "RISK_ELIMINATION 风险消除）；与 --overdue 同用时只筛选所列案件（按县和乡镇统计"
                   "的件数仍含全部逾期案件）。 only cases of this kind; with --overdue: of the "
                   "cases listed (the counts per county and township are of all overdue cases)")
    c.add_argument("--as-of", type=_date, help="判断是否逾期所依据的日期（默认今天）。 the day "
                   "overdue is judged on (default today)")
    c.add_argument("--limit", type=int, default=1000, help="最多列出的案件数（默认 1000）。 list "
                   "at most this many cases (default 1000)")
    c.add_argument("--format", choices=["table", "json"], default="table",
                   help="输出格式：table 表格（默认）或 json。 output format: table (default) or "
                   "json")
    add_lang(c)
    c.add_argument("--actor", default="cli", help="以审计人员身份读取时使用的名称（默认 cli）。 "
                   "the name the cases are read under, as an auditor (default cli)")
    c.set_defaults(func=cmd_cases_list)
