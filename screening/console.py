"""What the ``screen`` command shows: a progress bar (households, households/s, ETA) on
stderr while it runs, and the summary's headline figures at the end."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from screening.runner import Progress, ProgressHook
from screening.sources import Source


def progress_bar(source: Source, enabled: bool = True
                 ) -> tuple[ProgressHook | None, Callable[[], None]]:
    """A rich progress bar for a screening run, and the function that stops it."""
    if not enabled:
        return None, lambda: None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bar

    bar = Bar(
        TextColumn("screening"), BarColumn(), TaskProgressColumn(),
        TextColumn("{task.fields[households]:>12,} households"),
        TextColumn("{task.fields[rate]:>10,.0f} households/s"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=Console(stderr=True), transient=False,
    )
    task = bar.add_task("screen", total=source.total, households=0, rate=0.0)
    bar.start()

    def hook(p: Progress) -> None:
        elapsed = max(1e-9, time.perf_counter() - p.started)
        bar.update(task, completed=p.done, households=p.households,
                   rate=p.households / elapsed)

    return hook, bar.stop


def print_summary(summary: dict[str, Any]) -> None:
    h = summary["households"]
    print(f"screened {h['screened']:,} of {h['read']:,} households as of {summary['asOf']} "
          f"in {summary['seconds']:.2f} s ({summary['householdsPerSecond']:,.0f} "
          f"households/s); {h['invalid']:,} invalid, {h['flagged']:,} flagged for monitoring")
    wide = (", wide: a row per household and per member, a column per outcome code"
            if summary.get("layout") == "wide" else "")
    print(f"outcomes: {summary['output']} ({summary['outcomeRows']:,} rows{wide}"
          f"{_left_out(summary)})")
    print(f"errors:   {summary['errors']} ({summary['errorRows']:,} rows)")
    for r in summary["byProgram"]:
        if r["status"] != "GRANTED":
            continue
        amount = "" if r["amount"] is None else f", {r['amount']:,.2f} yuan/{r['period']}"
        print(f"  {r['code']}: {r['outcomes']:,} granted{amount}")


def _left_out(summary: dict[str, Any]) -> str:
    """When only some statuses were written (GRANTED and UNDETERMINED by default), which, and
    how many outcomes there were in all: the rows left out are easy to miss otherwise."""
    written = summary.get("statusesWritten") or []
    if not written or {"GRANTED", "NOT_GRANTED", "UNDETERMINED"} <= set(written):
        return ""
    total = sum(r["outcomes"] for r in summary["byProgram"])
    return (f": {' and '.join(written)} outcomes, {total:,} in all; --status all writes "
            "every one")
