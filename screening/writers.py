"""Outputs of a screening run: the outcome table (CSV or Parquet, written chunk by chunk), the
errors file (CSV) and the summary (JSON and Markdown).

The errors file's messages are Chinese first: ``message`` is the code's Chinese text (the
API's, ``policy.messages``; ``FILE_ZH`` for the codes only a file has), ``message_en`` the
English message with its details (the value found, the bound)."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from engine.batch.layout import ERRORS
from engine.batch.wide import WideSides
from policy.messages import ZH, chinese

OUTPUT_FORMATS = ("csv", "parquet", "xlsx")
XLSX_MAX_ROWS = 1_048_575  # a sheet's rows, less the header

# The outcome table's columns as a spreadsheet heads them (Chinese, the name in brackets).
ZH_HEADERS = {
    "household_id": "家庭编号", "member_id": "成员编号", "region_code": "行政区划代码",
    "program": "项目", "version": "版本", "version_hash": "版本哈希", "code": "结果代码",
    "status": "状态", "amount": "金额（元）", "period": "周期",
    "flags_monitoring": "纳入监测", "missing_facts": "缺失事实", "terms": "条款",
}
COMPRESSIONS = ("lz4", "zstd", "snappy", "none")
# What polars' CSV writer quotes by default (``quote_style="necessary"``): a text holding the
# separator, a quote, a line feed or a carriage return, or an empty text (a null is written
# as nothing).
CSV_SPECIAL = [",", '"', "\n", "\r"]
# Types whose cells the CSV writer never quotes (an enum's are checked by its categories).
_NEVER_QUOTED = (pl.Boolean, pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16,
                 pl.UInt32, pl.UInt64, pl.Float32, pl.Float64)
DICTIONARY_PAGE = 1 << 27  # bytes
WRITE_PIECE = 1 << 20  # bytes of CSV text a write


def output_format(path: str | os.PathLike[str], given: str | None = None) -> str:
    if given:
        if given not in OUTPUT_FORMATS:
            raise ValueError(f"unknown output format {given!r}; one of csv, parquet, xlsx")
        return given
    name = str(path).lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".parquet") or name.endswith(".pq"):
        return "parquet"
    if name.endswith(".xlsx"):
        return "xlsx"
    raise ValueError(f"cannot tell the output format of {path}: name it .csv, .parquet or "
                     ".xlsx")


def _quoted_by_csv(texts: pl.Series) -> pl.Series:
    return texts.str.contains_any(CSV_SPECIAL) | (texts == "")


def quotes_needed(*texts: pl.Series) -> bool:
    """Whether the CSV writer would quote a cell of these texts."""
    return any(_quoted_by_csv(t).any() for t in texts)


def quoted_ahead(frame: pl.DataFrame, plain: Collection[str] = ()) -> pl.DataFrame | None:
    """``frame`` with the text cells polars' CSV writer would quote already quoted (in quotes,
    quotes doubled), to be written with ``quote_style="never"``: the same bytes as the default
    writer's, without its check of every text cell. ``plain`` names text columns known to
    need no quotes (checked where they are fewer, e.g. the ids before they are repeated on
    every row). None when a name, a category or a column's type would need the writer's own
    quoting."""
    if quotes_needed(pl.Series(frame.columns, dtype=pl.String)):
        return None
    enums: set[pl.Enum] = set()
    quoted: list[pl.Series] = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Enum):
            enums.add(dtype)
        elif dtype == pl.String:
            if name in plain:
                continue
            texts = frame.get_column(name)
            at = _quoted_by_csv(texts).arg_true()
            if at.len():
                # Only the cells that need it (the JSON texts: a few rows of a chunk).
                few = texts.gather(at).str.replace_all('"', '""', literal=True)
                quoted.append(texts.clone().scatter(at, '"' + few + '"'))
        elif not isinstance(dtype, _NEVER_QUOTED):
            return None
    if quotes_needed(*(e.categories for e in enums)):
        return None
    return frame.with_columns(quoted) if quoted else frame


@dataclass(frozen=True)
class CsvRows:
    """Rows of a CSV table already written as text, one line a row (``columns`` its header's
    names, none needing quotes)."""

    text: bytes | memoryview | pa.Buffer
    rows: int
    columns: tuple[str, ...]


def wide_csv(sides: WideSides, columns: Sequence[str], plain: Collection[str] = ()
             ) -> CsvRows | None:
    """The wide table's CSV rows, byte for byte what polars' CSV writer writes for the table
    in place (``engine.batch.wide.evaluate_wide``, quoted as ``quoted_ahead`` quotes), from
    its rows side by side (``wide_sides``): each side written on its own, a run of the other
    side's columns (empty on its rows) written as one cell of its commas, and the lines put
    in place by Arrow (a household's line, then its members'). Fewer cells to write and no
    column gathered into place. ``plain``: text columns known to need no quotes. None when a
    name needs quotes, or a text a line end (the lines could not be told apart)."""
    if quotes_needed(pl.Series(list(columns), dtype=pl.String)):
        return None
    buffer = io.BytesIO()
    heights = []
    for side in (sides.households, sides.members):
        quoted = quoted_ahead(side, plain)
        if quoted is None:
            return None
        _with_empty_runs(quoted, columns).write_csv(buffer, include_header=False,
                                                    quote_style="never")
        heights.append(side.height)
    n_h, n_m = heights
    n = n_h + n_m
    if n == 0:
        return CsvRows(b"", 0, tuple(columns))
    data = buffer.getbuffer()
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    if len(ends) != n:  # a line end in a text: left to the table in place
        return None
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = ends
    offsets[1:] += 1
    lines = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    # Line i of the household rows, then line n_h + j of the member rows, in place.
    order = np.empty(n, dtype=np.int64)
    places = sides.places.to_numpy()
    order[places] = np.arange(n_h, dtype=np.int64)
    at_members = np.ones(n, dtype=bool)
    at_members[places] = False
    order[at_members] = np.arange(n_h, n, dtype=np.int64)
    placed = lines.take(pl.Series(order).to_arrow())
    end = int(np.frombuffer(placed.buffers()[1], dtype=np.int64)[placed.offset + n])
    return CsvRows(placed.buffers()[2].slice(0, end), n, tuple(columns))


def _with_empty_runs(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """``frame``'s columns in the order of ``columns``, each run of k of ``columns`` it lacks
    as one text of k - 1 commas (written unquoted: the k empty cells)."""
    have = set(frame.columns)
    out: list[pl.Expr] = []
    run = 0
    for name in columns:
        if name not in have:
            run += 1
            continue
        if run:
            out.append(pl.lit("," * (run - 1)).alias(f"_empty{len(out)}"))
            run = 0
        out.append(pl.col(name))
    if run:
        out.append(pl.lit("," * (run - 1)).alias(f"_empty{len(out)}"))
    return frame.select(out)


def sibling(path: Path, suffix: str) -> Path:
    """``out/screen.parquet`` -> ``out/screen.errors.csv`` for suffix ``.errors.csv``."""
    name = path.name
    for ext in (".parquet", ".csv", ".pq", ".xlsx"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    return path.with_name(name + suffix)


class OutcomeWriter:
    """Appends chunks of the outcome table (Arrow tables, or polars frames in the wide layout)
    to one CSV, Parquet or xlsx file. ``headers`` are a workbook's Chinese headers (by default
    the long layout's, ``ZH_HEADERS``)."""

    def __init__(self, path: Path, fmt: str, compression: str = "lz4",
                 headers: dict[str, str] | None = None):
        if compression not in COMPRESSIONS:
            raise ValueError(f"unknown compression {compression!r}; one of "
                             f"{', '.join(COMPRESSIONS)}")
        self.path = path
        self.fmt = fmt
        self.compression = compression
        self.rows = 0
        self._parquet: pq.ParquetWriter | None = None
        self._csv: BinaryIO | None = None
        self._header = True
        self._schema: pa.Schema | None = None
        self._book: Any = None
        self._sheet: Any = None
        self.headers = headers or ZH_HEADERS
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, table: pa.Table | pl.DataFrame | CsvRows, quoted: bool = False) -> None:
        """Appends a chunk; ``quoted``: a CSV chunk ``quoted_ahead`` made, written as it is.
        ``CsvRows`` (CSV only) are written as they are, after the header."""
        if isinstance(table, CsvRows):
            self._write_csv_rows(table)
            return
        if self.fmt == "xlsx":
            self._write_xlsx(table)
            return
        if self.fmt == "csv":
            frame = table if isinstance(table, pl.DataFrame) else pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            self._write_csv(frame, quoted)
            return
        if isinstance(table, pl.DataFrame):
            table = table.to_arrow()
        if self._parquet is None:
            self._schema = table.schema
            # Dictionary-encoded columns are written as they are (their dictionary, then the
            # indices): a page limit above the largest chunk's dictionary (a chunk's household
            # or member ids) keeps Parquet from falling back to plain text. The other columns
            # (numbers, flags, JSON texts) are written plain.
            # No statistics: every chunk (row group) holds every program, code and status, so
            # min/max would not let a reader skip anything, and they cost a quarter of the
            # writing time.
            dictionary = [f.name for f in table.schema if pa.types.is_dictionary(f.type)]
            self._parquet = pq.ParquetWriter(self.path, table.schema,
                                             compression=self.compression,
                                             use_dictionary=dictionary,
                                             write_statistics=False,
                                             dictionary_pagesize_limit=DICTIONARY_PAGE)
        elif table.schema != self._schema:
            table = table.cast(self._schema)
        # One row group per chunk, however many rows (pyarrow would cut at 1Mi rows).
        self._parquet.write_table(table, row_group_size=max(1, table.num_rows))
        self.rows += table.num_rows

    def _write_csv(self, frame: pl.DataFrame, quoted: bool = False) -> None:
        if self._csv is None:
            self._csv = self.path.open("wb")
        # polars' CSV writer (native, quoting only the cells that need it: the JSON texts):
        # about a fifth less time and a third smaller than pyarrow's, which quotes every text
        # (docs/decisions/0010-screening-output.md).
        frame.write_csv(self._csv, include_header=self._header,
                        quote_style="never" if quoted else None)
        self._header = False
        self.rows += frame.height

    def _write_csv_rows(self, rows: CsvRows) -> None:
        assert self.fmt == "csv"
        if self._csv is None:
            self._csv = self.path.open("wb")
        if self._header:
            # The header as the CSV writer writes a frame's (the names need no quotes).
            pl.DataFrame(schema={name: pl.String() for name in rows.columns}).write_csv(
                self._csv, quote_style="never")
            self._header = False
        # In pieces of 1 MiB, as polars' writer hands its text over: one write of a chunk's
        # 20 MB took the kernel up to three times the system time when the page cache was
        # full of the last run's output.
        text = memoryview(rows.text)
        for start in range(0, len(text), WRITE_PIECE):
            self._csv.write(text[start:start + WRITE_PIECE])
        self.rows += rows.rows

    def _write_xlsx(self, table: pa.Table | pl.DataFrame) -> None:
        """A sheet 筛查结果 with Chinese headers (``headers``); a write-only workbook, so
        memory stays flat. A sheet holds at most 1,048,575 rows: more is an error that says
        to write CSV or Parquet instead."""
        frame = table if isinstance(table, pl.DataFrame) else pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        if self._book is None:
            from openpyxl import Workbook

            self._book = Workbook(write_only=True)
            self._sheet = self._book.create_sheet("筛查结果")
            self._sheet.append([self.headers.get(n, n) for n in frame.columns])
        if self.rows + frame.height > XLSX_MAX_ROWS:
            raise OSError(f"{self.path}: more than {XLSX_MAX_ROWS:,} outcome rows do not fit "
                          "a spreadsheet; write .csv or .parquet")
        # A workbook is read by people: the wide layout's one-letter statuses (kept short in
        # CSV, decision 0012) are written as the words the long layout and the API use.
        from engine.batch.wide import WIDE_STATUS, WIDE_STATUS_OF

        words = {letter: status for status, letter in WIDE_STATUS_OF.items()}
        frame = frame.with_columns(
            pl.col(name).cast(pl.String).replace(words)
            for name, dtype in frame.schema.items() if dtype == WIDE_STATUS)
        frame = frame.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))
        for row in frame.iter_rows():
            self._sheet.append(list(row))
        self.rows += frame.height

    def close(self, empty_schema: dict[str, pl.DataType] | None = None) -> None:
        if self.fmt == "xlsx":
            if self._book is None:
                from openpyxl import Workbook

                self._book = Workbook(write_only=True)
                sheet = self._book.create_sheet("筛查结果")
                sheet.append([self.headers.get(n, n) for n in (empty_schema or {})])
            self._book.save(self.path)
            return
        if self._csv is not None:
            self._csv.close()
        elif self._parquet is not None:
            self._parquet.close()
        elif empty_schema is not None:
            empty = pl.DataFrame(schema=empty_schema)
            if self.fmt == "csv":
                empty.write_csv(self.path)
            else:
                codec: Any = "uncompressed" if self.compression == "none" else self.compression
                empty.write_parquet(self.path, compression=codec)


# The Chinese text of the codes only a file of households has, or whose API text speaks of a
# request (INVALID_JSON: the API's is about a request body, here it is one line).
FILE_ZH = {
    "INVALID_JSON": "该行不是有效的 JSON",
    "MALFORMED_ROW": "该行格式错误（单元格数与表头不符，可能被截断或引号未闭合），未筛查",
    "INCOMPLETE_HOUSEHOLD": "该户有一行未能读取（见 MALFORMED_ROW），该户未筛查",
    "DUPLICATE_HOUSEHOLD": "登记表中此前已有相同户编号的家庭（已筛查），此户未筛查",
    "EVALUATION_ERROR": "评估出错，该户未筛查",
}

# The errors file's columns: the record, household id, field path and code as the checks give
# them, then the message in Chinese and in English.
ERROR_COLUMNS = ("row", "household_id", "field", "code", "message", "message_en")


UNKNOWN_CODE_ZH = ("未能筛查（错误代码 ", "）")  # around a code without a text (none should be)


def chinese_message(code: str) -> str:
    """The errors file's Chinese message of ``code``."""
    if code in FILE_ZH:
        return FILE_ZH[code]
    if code in ZH:
        return chinese(code)
    return code.join(UNKNOWN_CODE_ZH)


def error_texts() -> dict[str, str]:
    """The Chinese message of every code an errors file can have."""
    return {code: chinese_message(code) for code in (*ZH, *FILE_ZH)}



def with_chinese(frame: pl.DataFrame) -> pl.DataFrame:
    """Errors rows (``ERRORS``, English messages) as the errors file's ``ERROR_COLUMNS``."""
    codes = frame["code"].unique().to_list()
    texts = {c: chinese_message(c) for c in codes if c is not None}
    return frame.select(
        "row", "household_id", "field", "code",
        pl.col("code").replace_strict(texts, default=None, return_dtype=pl.String())
        .alias("message"),
        pl.col("message").alias("message_en"))


class ErrorWriter:
    """The errors file: one row per problem (record number, household id, field path, code,
    message in Chinese, message in English)."""

    def __init__(self, path: Path):
        self.path = path
        self.rows = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._f: BinaryIO = path.open("wb")
        pl.DataFrame(schema={c: pl.String() for c in ERROR_COLUMNS}).write_csv(self._f)

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height:
            with_chinese(frame.select(list(ERRORS))).write_csv(self._f, include_header=False)
            self.rows += frame.height

    def close(self) -> None:
        self._f.close()


Titles = Mapping[str, tuple[str, str]]  # an outcome code's title (Chinese, English)


# A status in words (the summary and the wide layout say each with its code or its letter).
STATUS_ZH = {"GRANTED": "享受", "NOT_GRANTED": "不享受", "UNDETERMINED": "待定"}
# "GRANTED 享受，NOT_GRANTED 不享受，UNDETERMINED 待定"
STATUSES_ZH = "，".join(f"{code} {words}" for code, words in STATUS_ZH.items())


def write_summary(path: Path, summary: dict[str, Any], titles: Titles | None = None) -> Path:
    """The summary as JSON beside the output, and as Markdown beside that (items by their
    ``titles`` there)."""
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    md = path.with_suffix(".md")
    md.write_text(summary_markdown(summary, titles), encoding="utf-8")
    return md


def write_summary_xlsx(path: Path, s: dict[str, Any], titles: Titles | None = None) -> Path:
    """The summary as a workbook with Chinese headers: 概况 (the figures), 按项目 (by program
    and outcome), 按地区 (by region)."""
    from openpyxl import Workbook

    book = Workbook()
    overview = book.active
    overview.title = "概况"
    h = s["households"]
    for label, value in (("评估日期", s["asOf"]), ("输入文件", s["input"]),
                         ("结果文件", s["output"]), ("错误文件", s["errors"]),
                         ("读入户数", h["read"]), ("筛查户数", h["screened"]),
                         ("无效户数", h["invalid"]), ("纳入监测户数", h["flagged"]),
                         ("结果行数", s["outcomeRows"]), ("错误行数", s["errorRows"]),
                         ("用时（秒）", s["seconds"])):
        overview.append([label, value])
    # The outcome table's layout (docs/decisions/0012-wide-outcome-layout.md).
    wide = f"宽表：每户一行、每名成员一行，每项结果一列（{STATUSES_ZH}）"
    overview.append(["结果布局", wide if s.get("layout") == "wide" else "长表：每户每项结果一行"])
    for v in s["versions"]:
        overview.append([f"版本：{v['program']}", f"v{v['version']} {v['contentHash']}"])
    by_program = book.create_sheet("按项目")
    by_program.append(["项目", "结果代码", "名称", "状态", "周期", "结果数", "金额（元）"])
    for r in s["byProgram"]:
        by_program.append([r["program"], r["code"], (titles or {}).get(r["code"], ("",))[0],
                           r["status"], r["period"], r["outcomes"], r["amount"]])
    by_region = book.create_sheet("按地区")
    by_region.append(["行政区划代码", "户数", "人数", "纳入监测户数", "享受结果数", "待定结果数"])
    for r in s["byRegion"]:
        by_region.append([r["regionCode"], r["households"], r["members"], r["flagged"],
                          r["granted"], r["undetermined"]])
    book.save(path)
    return path


def _wide_statuses(s: dict[str, Any]) -> tuple[str, str]:
    """How the wide layout's cells say a status (in Chinese, in English): words in a workbook,
    letters elsewhere."""
    if s.get("outputFormat") == "xlsx":
        return STATUSES_ZH, "GRANTED, NOT_GRANTED or UNDETERMINED"
    return "G 享受，N 不享受，U 待定", "G granted, N not granted, U undetermined"


def summary_markdown(s: dict[str, Any], titles: Titles | None = None) -> str:
    """The summary as Markdown: every heading and sentence in Chinese, then in English; each
    outcome code with its title (``titles``) and each status in words."""
    h = s["households"]
    zh, en = _wide_statuses(s)
    lines = [
        f"# 筛查概况 / Screening as of {s['asOf']}",
        "",
        f"评估日期 {s['asOf']}；输入文件 `{s['input']}`；结果文件 `{s['output']}`；错误文件 "
        f"`{s['errors']}`。",
        "",
        f"Input `{s['input']}`; outcomes in `{s['output']}`; errors in `{s['errors']}`.",
        "",
        "| 读入户数 households | 筛查户数 screened | 无效户数 invalid "
        "| 纳入监测户数 flagged for monitoring | 结果行数 outcome rows written "
        "| 错误行数 error rows | 用时（秒） seconds | 每秒户数 households/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {h['read']:,} | {h['screened']:,} | {h['invalid']:,} | {h['flagged']:,} "
        f"| {s['outcomeRows']:,} | {s['errorRows']:,} | {s['seconds']:.2f} "
        f"| {s['householdsPerSecond']:,.0f} |",
        "",
        "版本 Versions: " + ", ".join(
            f"{v['program']} v{v['version']} (`{v['contentHash'][:12]}`)" for v in s["versions"]),
        "",
        *([f"结果布局：宽表（每户一行、每名成员一行，每个结果代码一列：{zh}；"
           "docs/decisions/0012-wide-outcome-layout.md）",
           "",
           f"Layout: wide (a row per household and per member, a column per outcome code: "
           f"{en}; docs/decisions/0012-wide-outcome-layout.md)",
           ""] if s.get("layout") == "wide" else []),
        "## 按项目和结果 / By program and outcome",
        "",
        "| 项目 program | 结果代码 code | 名称 item | 状态 status | 周期 period "
        "| 结果数 outcomes | 金额（元） amount |",
        "|---|---|---|---|---|---:|---:|",
    ]
    for r in s["byProgram"]:
        amount = "" if r["amount"] is None else f"{r['amount']:,.2f}"
        zh, en = (titles or {}).get(r["code"], ("", ""))
        item = f"{zh} / {en}" if zh else ""
        status = f"{STATUS_ZH.get(r['status'], '')} {r['status']}".strip()
        lines.append(f"| {r['program']} | {r['code']} | {item} | {status} "
                     f"| {r['period'] or ''} | {r['outcomes']:,} | {amount} |")
    lines += ["", "## 按地区 / By region", "",
              "| 行政区划代码 region | 户数 households | 人数 members | 纳入监测户数 flagged "
              "| 享受结果数 granted outcomes | 待定结果数 undetermined outcomes |",
              "|---|---:|---:|---:|---:|---:|"]
    for r in s["byRegion"]:
        lines.append(f"| {r['regionCode']} | {r['households']:,} | {r['members']:,} "
                     f"| {r['flagged']:,} | {r['granted']:,} | {r['undetermined']:,} |")
    return "\n".join(lines) + "\n"
