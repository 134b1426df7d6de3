"""What the ``screen`` command shows: a progress bar (households, households/s, ETA; Chinese
first, then English) on stderr while it runs, and the summary's headline figures at the end."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from engine.batch.wide import PERIOD_EN, PERIOD_ZH
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

    # Chinese first, then English, as the summary printed at the end
    bar = Bar(
        TextColumn("筛查 screening"), BarColumn(), TaskProgressColumn(),
        TextColumn("{task.fields[households]:>12,} 户 households"),
        TextColumn("{task.fields[rate]:>10,.0f} 户/秒 households/s"),
        TextColumn("用时 elapsed"), TimeElapsedColumn(),
        TextColumn("剩余 ETA"), TimeRemainingColumn(),
        console=Console(stderr=True), transient=False,
    )
    task = bar.add_task("screen", total=source.total, households=0, rate=0.0)
    bar.start()

    def hook(p: Progress) -> None:
        elapsed = max(1e-9, time.perf_counter() - p.started)
        bar.update(task, completed=p.done, households=p.households,
                   rate=p.households / elapsed)

    return hook, bar.stop


def print_summary(summary: dict[str, Any],
                  titles: Mapping[str, tuple[str, str]] | None = None) -> None:
    """The run's headline figures, each line in Chinese and then in English, and what each
    outcome granted, by its title (``titles``) with its code."""
    h = summary["households"]
    print(f"筛查 {h['read']:,} 户中的 {h['screened']:,} 户，评估日期 {summary['asOf']}，用时 "
          f"{summary['seconds']:.2f} 秒（每秒 {summary['householdsPerSecond']:,.0f} 户）；"
          f"无效 {h['invalid']:,} 户，纳入防止返贫监测 {h['flagged']:,} 户")
    print(f"screened {h['screened']:,} of {h['read']:,} households as of {summary['asOf']} "
          f"in {summary['seconds']:.2f} s ({summary['householdsPerSecond']:,.0f} "
          f"households/s); {h['invalid']:,} invalid, {h['flagged']:,} flagged for monitoring")
    wide = summary.get("layout") == "wide"
    wide_zh = "，宽表：每户一行、每名成员一行，每个结果代码一列" if wide else ""
    wide_en = ", wide: a row per household and per member, a column per outcome code" \
        if wide else ""
    zh, en = _left_out(summary)
    print(f"结果表：{summary['output']}（{summary['outcomeRows']:,} 行{wide_zh}{zh}）")
    print(f"outcomes: {summary['output']} ({summary['outcomeRows']:,} rows{wide_en}{en})")
    print(f"错误文件：{summary['errors']}（{summary['errorRows']:,} 行）")
    print(f"errors:   {summary['errors']} ({summary['errorRows']:,} rows)")
    for r in summary["byProgram"]:
        if r["status"] != "GRANTED":
            continue
        if r["amount"] is None:
            amount_zh = amount_en = ""
        else:
            amount_zh = f"，{r['amount']:,.2f} {PERIOD_ZH.get(r['period'], '元')}"
            amount_en = f", {r['amount']:,.2f} {PERIOD_EN.get(r['period'], 'yuan')}"
        code = r["code"]
        zh, en = (titles or {}).get(code, (code, code))
        # The code once, after the Chinese title: the same line in English names the title.
        named = f"{zh}（{code}）" if zh != code else code
        print(f"  {named}：获批 {r['outcomes']:,} 项{amount_zh} / "
              f"{en}: {r['outcomes']:,} granted{amount_en}")


def _left_out(summary: dict[str, Any]) -> tuple[str, str]:
    """When only some statuses were written (GRANTED and UNDETERMINED by default), which, and
    how many outcomes there were in all (in Chinese, in English): the rows left out are easy
    to miss otherwise."""
    written = summary.get("statusesWritten") or []
    if not written or {"GRANTED", "NOT_GRANTED", "UNDETERMINED"} <= set(written):
        return "", ""
    total = sum(r["outcomes"] for r in summary["byProgram"])
    return (f"：只含 {'、'.join(written)} 结果，共 {total:,} 项结果；--status all 写出全部",
            f": {' and '.join(written)} outcomes, {total:,} in all; --status all writes "
            "every one")
