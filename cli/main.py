"""``policy-engine``: evaluate, validate, serve, screen, diff, tokens.

Exit codes: 0 success, 1 a check failed (e.g. a rule set's own tests), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from policy.errors import DocumentInvalid, FactsInvalid
from services.rulesets import RULESETS


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date such as 2024-03-01, got {text!r}") from None


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def cmd_evaluate(args: argparse.Namespace) -> int:
    from engine.determine import determine
    from engine.results import determination_json
    from policy.catalog import UnknownProgram
    from services.rulesets import load_catalog

    try:
        data = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except OSError as exc:
        return _fail(f"error: cannot read {args.file}: {exc.strerror}")
    except json.JSONDecodeError as exc:
        return _fail(f"error: {args.file} is not valid JSON: {exc.msg} "
                     f"(line {exc.lineno}, column {exc.colno}) [INVALID_JSON]")
    catalog = load_catalog(Path(args.rulesets))
    try:
        versions = catalog.in_force(args.as_of, args.program or None)
        det = determine(data, args.as_of, versions)
    except UnknownProgram as exc:
        return _fail(f"error: {exc} [UNKNOWN_PROGRAM]")
    except FactsInvalid as exc:
        lines = [f"error: {args.file}: invalid household facts"]
        lines += [f"  {e.field}: {e.message} [{e.code}]" for e in exc.errors]
        return _fail("\n".join(lines))
    if args.format == "json":
        json.dump(determination_json(det, args.lang, what_would_change=True), sys.stdout,
                  ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    return _print_readable(args, det, versions)


def _print_readable(args: argparse.Namespace, det: Any, versions: Any) -> int:
    from cli.summary import explain, outcome_codes, summary
    from engine.results import Status

    statuses = None
    if args.status:
        try:
            statuses = [Status(s.upper()) for s in args.status]
        except ValueError:
            return _fail(f"error: unknown status in {', '.join(args.status)}; one of GRANTED, "
                         "NOT_GRANTED, UNDETERMINED [BAD_ARGUMENT]")
    if args.explain:
        codes = outcome_codes(det)
        if args.explain not in codes:
            return _fail(f"error: no item {args.explain!r} in this determination; items: "
                         f"{', '.join(codes)} [UNKNOWN_ITEM]")
        depth = None if args.depth < 0 else args.depth
        sys.stdout.write(explain(det, args.explain, args.lang, depth, args.member))
        return 0
    titles = {program.code: program.document.title.get(args.lang) for program, _ in versions}
    sys.stdout.write(summary(det, titles, args.lang, statuses))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from engine.testcases import run_cases
    from services.rulesets import load_file

    status = 0
    for name in args.files:
        path = Path(name)
        try:
            program = load_file(path)
        except OSError as exc:
            status = max(status, _fail(f"error: cannot read {name}: {exc.strerror}"))
            continue
        except DocumentInvalid as exc:
            lines = [f"{name}: invalid"]
            lines += [f"  {e.field}: {e.message} [{e.code}]" for e in exc.errors]
            status = max(status, _fail("\n".join(lines)))
            continue
        results = run_cases(program)
        failed = [r for r in results if not r.passed]
        print(f"{name}: {program.code} v{program.document.version} valid, "
              f"contentHash {program.content_hash}; "
              f"{len(results) - len(failed)}/{len(results)} test cases pass")
        for r in failed:
            print(f"  FAIL {r.name}")
            for f in r.failures:
                print(f"    {f}")
        if failed:
            status = max(status, 1)
    return status


def cmd_diff(args: argparse.Namespace) -> int:
    from policy.diff import diff_documents
    from policy.document import load_document

    docs = []
    for name in (args.a, args.b):
        try:
            docs.append(load_document(Path(name).read_text(encoding="utf-8")))
        except OSError as exc:
            return _fail(f"error: cannot read {name}: {exc.strerror}")
        except DocumentInvalid as exc:
            lines = [f"{name}: invalid"]
            lines += [f"  {e.field}: {e.message} [{e.code}]" for e in exc.errors]
            return _fail("\n".join(lines))
    diff = diff_documents(docs[0], docs[1])
    if args.json:
        json.dump(diff.as_json(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(diff.text(args.lang))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import os

    import uvicorn

    os.environ.setdefault("POLICY_ENGINE_ENV", "dev")
    from graphql_api.app import create_app
    from graphql_api.observability import configure_logging
    from services.config import Settings

    settings = Settings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    if settings.gc_complete_seconds > 0:
        from graphql_api import collector

        collector.install(settings.gc_complete_seconds)
    print(f"policy-engine: serving on http://{args.host}:{args.port}/graphql "
          f"(env {settings.env}, database {_safe_url(settings.database_url)})", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                timeout_graceful_shutdown=10, access_log=False)
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_token_create(args: argparse.Namespace) -> int:
    from services.application import Application, Tokens
    from services.auth import ROLES
    from services.config import Settings

    if args.role not in ROLES:
        return _fail(f"error: unknown role {args.role!r}; roles: {', '.join(ROLES)}")
    if args.role == "caseworker" and not args.region:
        return _fail("error: a caseworker needs at least one --region")
    if args.role == "policy_editor" and not args.department:
        return _fail("error: a policy_editor needs a --department (e.g. 县教体局)")
    app = Application(Settings())
    app.start()
    token = Tokens(app).create(role=args.role, name=args.name, regions=args.region or [],
                               department=args.department)
    print(token)
    return 0


def cmd_export_schema(args: argparse.Namespace) -> int:
    from graphql_api.schema import export_schema

    sys.stdout.write(export_schema())
    return 0


def cmd_screen(args: argparse.Namespace) -> int:
    """Batch screening of a register (CSV, JSON Lines or Parquet) with the vectorised backend
    (or on Apache Spark with ``--backend spark``)."""
    from engine.batch.console import print_summary, progress_bar
    from engine.batch.evaluate import ALL_STATUSES
    from engine.batch.layout import LayoutError
    from engine.batch.sources import detect_format
    from engine.batch.writers import output_format
    from policy.catalog import UnknownProgram
    from services.rulesets import load_catalog

    statuses = ALL_STATUSES
    if args.status and "all" not in args.status:
        statuses = frozenset(s.upper() for s in args.status)
        unknown = sorted(statuses - ALL_STATUSES)
        if unknown:
            return _fail(f"error: unknown status {', '.join(unknown)}; one of GRANTED, "
                         "NOT_GRANTED, UNDETERMINED or all [BAD_ARGUMENT]")
    if args.chunk_size is None:
        # Every outcome is about 67 rows a household: smaller chunks keep memory bounded.
        args.chunk_size = 100_000 if "NOT_GRANTED" in statuses else 400_000
    if args.chunk_size < 1:
        return _fail("error: --chunk-size must be at least 1 [BAD_ARGUMENT]")
    try:
        input_format = detect_format(args.input, args.format)
        out_format = output_format(args.out, args.out_format)
    except ValueError as exc:
        return _fail(f"error: {exc} [BAD_ARGUMENT]")
    try:
        catalog = load_catalog(Path(args.rulesets))
        versions = catalog.in_force(args.as_of, args.program or None)
    except UnknownProgram as exc:
        return _fail(f"error: {exc} [UNKNOWN_PROGRAM]")
    except (OSError, DocumentInvalid) as exc:
        return _fail(f"error: cannot load the rule sets in {args.rulesets}: {exc}")
    if not versions:
        return _fail(f"error: no program has a version in force on {args.as_of.isoformat()} "
                     "[NO_VERSION_IN_FORCE]")
    if args.backend == "spark":
        if args.order:
            return _fail("error: --order is for the local backend; Spark writes each "
                         "household's rows together [BAD_ARGUMENT]")
        from engine.batch.spark import SparkUnavailable, screen_with_spark

        try:
            summary = screen_with_spark(
                args.input, args.out, args.as_of, versions, statuses=statuses,
                terms=args.terms, input_format=input_format, master=args.spark_master,
                partitions=args.partitions, compression=args.compression)
        except SparkUnavailable as exc:
            return _fail(f"error: {exc} [SPARK_UNAVAILABLE]")
        except LayoutError as exc:
            return _fail(f"error: {args.input}: {exc} [BAD_LAYOUT]")
        print_summary(summary)
        return 0

    from engine.batch.runner import screen_file
    from engine.batch.sources import open_source

    try:
        source = open_source(args.input, input_format, args.chunk_size)
    except LayoutError as exc:
        return _fail(f"error: {args.input}: {exc} [BAD_LAYOUT]")
    except OSError as exc:
        return _fail(f"error: cannot read {args.input}: {exc.strerror or exc} [CANNOT_READ]")
    except Exception as exc:  # an unreadable file, reported without a traceback
        return _fail(f"error: cannot read {args.input}: {exc} [CANNOT_READ]")
    hook, stop = progress_bar(source, enabled=not args.no_progress)
    try:
        summary = screen_file(
            args.input, args.out, args.as_of, versions, statuses=statuses,
            errors_path=args.errors, output_format_=out_format, source=source,
            on_progress=hook, terms=args.terms, compression=args.compression,
            order=args.order)
    except OSError as exc:
        return _fail(f"error: {exc.filename or ''}: {exc.strerror or exc} [IO_ERROR]")
    except LayoutError as exc:
        return _fail(f"error: {args.input}: {exc} [BAD_LAYOUT]")
    finally:
        stop()
    print_summary(summary)
    return 0


def cmd_rescreen(args: argparse.Namespace) -> int:
    """Screen every stored household (DATABASE_URL) with the batch backend."""
    from engine.batch.console import print_summary
    from engine.batch.evaluate import ALL_STATUSES
    from policy.catalog import UnknownProgram
    from services.application import Application
    from services.config import Settings
    from services.errors import ServiceError
    from services.rescreen import rescreen_stored

    statuses = ALL_STATUSES
    if args.status and "all" not in args.status:
        statuses = frozenset(s.upper() for s in args.status)
        if statuses - ALL_STATUSES:
            return _fail(f"error: unknown status {', '.join(sorted(statuses - ALL_STATUSES))}"
                         " [BAD_ARGUMENT]")
    app = Application(Settings())
    app.start()
    try:
        summary = rescreen_stored(app, args.as_of, args.out, programs=args.program or None,
                                  statuses=statuses, region_codes=args.region or None)
    except UnknownProgram as exc:
        return _fail(f"error: {exc} [UNKNOWN_PROGRAM]")
    except ServiceError as exc:
        return _fail(f"error: {exc.message} [{exc.code}]")
    except OSError as exc:
        return _fail(f"error: {exc.filename or ''}: {exc.strerror or exc} [IO_ERROR]")
    print_summary(summary)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policy-engine",
        description="Rules-as-code eligibility engine (防止返贫监测与帮扶政策引擎).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("evaluate", help="evaluate a household JSON file: a summary table per "
                       "program, one item's explanation (--explain), or the Determination as "
                       "JSON (--format json)")
    p.add_argument("file")
    p.add_argument("--as-of", required=True, type=_date, dest="as_of")
    p.add_argument("--program", action="append", help="restrict to a program (repeatable)")
    p.add_argument("--lang", choices=["ZH", "EN"], default="ZH")
    p.add_argument("--format", choices=["text", "json"], default="text",
                   help="text: a table per program (default); json: the Determination with "
                   "every field, as data.evaluate of a GraphQL query selecting every field")
    p.add_argument("--status", action="append", metavar="STATUS",
                   help="show only items with this status (GRANTED, NOT_GRANTED, "
                   "UNDETERMINED; repeatable)")
    p.add_argument("--explain", metavar="CODE",
                   help="one item's explanation: its conditions as a tree and what would "
                   "change the answer, e.g. --explain education.compulsory_living_subsidy")
    p.add_argument("--member", help="with --explain: only this member's outcome")
    p.add_argument("--depth", type=int, default=1,
                   help="with --explain: levels of derived facts opened into their "
                   "definitions (default 1; -1 for all)")
    p.add_argument("--rulesets", default=str(RULESETS), help="directory of rule-set documents")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("validate", help="check rule-set documents and run their test cases")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "screen", help="screen a register (CSV, JSON Lines or Parquet) of households against "
        "every program as of a date, with a progress bar; writes one row per household and "
        "outcome (CSV or Parquet), an errors file and a summary")
    p.add_argument("input", help="register: .csv or .parquet (one row per member, see "
                   "docs/screening.md) or .jsonl (one household JSON per line)")
    p.add_argument("--as-of", required=True, type=_date, dest="as_of")
    p.add_argument("--out", required=True, help="outcome table: .csv or .parquet")
    p.add_argument("--program", action="append", help="restrict to a program (repeatable)")
    p.add_argument("--status", action="append", metavar="STATUS",
                   help="write only outcomes with this status (GRANTED, NOT_GRANTED, "
                   "UNDETERMINED; repeatable; default all); the summary counts all")
    p.add_argument("--terms", action="store_true",
                   help="add the terms column (e.g. medical tiers' estimatedRelief, as JSON)")
    p.add_argument("--errors", help="errors file (default: OUT with .errors.csv)")
    p.add_argument("--format", choices=["csv", "jsonl", "parquet"],
                   help="input format (default: from the file name)")
    p.add_argument("--out-format", choices=["csv", "parquet"], dest="out_format",
                   help="output format (default: from the file name)")
    p.add_argument("--compression", choices=["lz4", "zstd", "snappy", "none"], default="lz4",
                   help="Parquet output compression (default lz4; zstd writes smaller files "
                   "more slowly, none larger ones a little faster)")
    p.add_argument("--order", choices=["outcome", "household"],
                   help="order of the outcome rows: outcome (each chunk's rows grouped by "
                   "program and outcome code; the default for Parquet) or household (the "
                   "API's order: household, program, code, member; the default for CSV); "
                   "local backend")
    p.add_argument("--chunk-size", type=int, dest="chunk_size",
                   help="rows read at a time (default 400000; 100000 when NOT_GRANTED "
                   "outcomes are written)")
    p.add_argument("--no-progress", action="store_true", dest="no_progress")
    p.add_argument("--backend", choices=["local", "spark"], default="local",
                   help="local (default) or spark (pyspark; see docs/screening.md)")
    p.add_argument("--spark-master", dest="spark_master",
                   help="Spark master for --backend spark (default: spark-submit's, or local[*])")
    p.add_argument("--partitions", type=int, help="Spark partitions (default: Spark's)")
    p.add_argument("--rulesets", default=str(RULESETS), help="directory of rule-set documents")
    p.set_defaults(func=cmd_screen)

    p = sub.add_parser("diff", help="what changed from rule-set document A to document B "
                       "(parameters, definitions, rules, test cases)")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("--lang", choices=["ZH", "EN"], default="ZH")
    p.add_argument("--json", action="store_true", help="print the structured diff as JSON")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("serve", help="run the API (GraphiQL in dev) on SQLite by default; "
                       "DATABASE_URL selects PostgreSQL")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("token", help="API tokens")
    tsub = p.add_subparsers(dest="token_command", required=True)
    t = tsub.add_parser("create", help="print a new bearer token")
    t.add_argument("--role", required=True)
    t.add_argument("--name", required=True)
    t.add_argument("--region", action="append", help="region code (repeatable)")
    t.add_argument("--department")
    t.set_defaults(func=cmd_token_create)

    p = sub.add_parser("rescreen", help="screen every stored household (DATABASE_URL) with the "
                       "batch backend, under the versions in force in the database")
    p.add_argument("--as-of", required=True, type=_date, dest="as_of")
    p.add_argument("--out", required=True, help="output file (.csv or .parquet)")
    p.add_argument("--program", action="append", help="restrict to a program (repeatable)")
    p.add_argument("--status", action="append", help="only these statuses in the output")
    p.add_argument("--region", action="append", help="only these region codes (repeatable)")
    p.set_defaults(func=cmd_rescreen)

    p = sub.add_parser("export-schema", help="print the GraphQL schema (SDL) as served")
    p.set_defaults(func=cmd_export_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly. Python would report the failed
        # flush at exit, so stdout is pointed at /dev/null first.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
