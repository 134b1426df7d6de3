"""``policy-engine``: evaluate, validate, serve, screen, diff, tokens.

Exit codes: 0 success, 1 a check failed (e.g. a rule set's own tests), 2 bad input.
"""

from __future__ import annotations

import argparse
import codecs
import json
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.bilingual import Parser, add_lang
from policy.errors import DocumentInvalid, FactsInvalid
from services.rulesets import RULESETS

if TYPE_CHECKING:
    from policy.catalog import Catalog


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"应为日期，例如 2024-03-01，实为 {text!r}。 expected a date such as 2024-03-01, "
            f"got {text!r}") from None


# What a command's error codes mean, in Chinese: printed before the English line that carries
# the code (``[CODE]`` at its end). Codes of the facts' and documents' checks have their texts in
# ``policy.messages``.
CLI_ZH = {
    "BAD_ARGUMENT": "命令参数有误",
    "BAD_DATABASE": "数据库无法打开，或尚未建表（迁移）",
    "BAD_ENCODING": "文件的文字编码不对（可用 --encoding 指定，例如 gb18030）",
    "BAD_LAYOUT": "文件的列或格式不符合登记表的布局",
    "BAD_RULESETS": "规则集目录无法读取，或其中的文档有误",
    "CANNOT_READ": "无法读取文件",
    "INVALID_DOCUMENT": "规则集文档无效",
    "INVALID_JSON": "文件不是有效的 JSON",
    "IO_ERROR": "无法读写文件",
    "NOT_FOUND": "未找到",
    "NO_VERSION_IN_FORCE": "评估日期没有生效的版本",
    "SPARK_UNAVAILABLE": "Spark 不可用",
    "UNKNOWN_ITEM": "本次评估中没有该项",
    "UNKNOWN_MEMBER": "该项没有所指成员的结果",
    "UNKNOWN_PROGRAM": "未知项目",
    "VERSION_INTEGRITY": "版本未通过完整性校验，不能使用",
}
_CODE_AT_END = re.compile(r"\[([A-Z][A-Z0-9_]*)\]\s*$")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def _chinese_line(line: str) -> str | None:
    """The Chinese line for an error line that ends with its code, if the code has a text and
    the line does not already say it in Chinese."""
    found = _CODE_AT_END.search(line)
    if found is None or _HAN.search(line):
        return None
    code = found.group(1)
    if code in CLI_ZH:
        return f"错误：{CLI_ZH[code]}（{code}）"
    from policy.messages import ZH, chinese

    return f"错误：{chinese(code)}（{code}）" if code in ZH else None


def _fail(message: str) -> int:
    """Print the error (each line with a code preceded by its Chinese text) and return the
    exit status of bad input, 2."""
    lines: list[str] = []
    for line in message.splitlines():
        zh = _chinese_line(line)
        # (none where the line before is this line in Chinese already)
        if zh is not None and not (lines and _HAN.search(lines[-1])):
            lines.append(zh)
        lines.append(line)
    print("\n".join(lines), file=sys.stderr)
    return 2


class BadInput(Exception):
    """An input the command cannot use: printed as its message, exit 2 (never a traceback)."""


# Byte-order marks say the encoding whatever --encoding says (longest first: UTF-32's LE mark
# begins with UTF-16's).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def _bom_encoding(raw: bytes) -> str | None:
    """The encoding a byte-order mark at the start of ``raw`` says, if there is one."""
    return next((enc for bom, enc in _BOMS if raw.startswith(bom)), None)


def read_text(name: str, encoding: str | None = None) -> str:
    """A text file's contents: UTF-8 (with or without a BOM), UTF-16 or UTF-32 with a BOM,
    or ``encoding`` (e.g. gb18030, which Chinese spreadsheets export; GBK is part of it)."""
    try:
        raw = Path(name).read_bytes()
    except OSError as exc:
        raise BadInput(f"error: cannot read {name}: {exc.strerror or exc} [CANNOT_READ]") \
            from None
    chosen = _bom_encoding(raw) or encoding or "utf-8"
    try:
        return raw.decode(chosen)
    except LookupError:
        raise BadInput(f"error: unknown encoding {chosen!r} [BAD_ENCODING]") from None
    except UnicodeDecodeError as exc:
        hint = "" if encoding else (
            "; if it was saved as GB18030/GBK (as Chinese spreadsheets do), give "
            "--encoding gb18030")
        raise BadInput(f"error: {name} is not valid {chosen} at byte {exc.start}{hint} "
                       "[BAD_ENCODING]") from None


def read_json(name: str, encoding: str | None = None) -> Any:
    """A JSON file, with every way it can be unusable reported as ``BadInput``."""
    text = read_text(name, encoding)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"error: {name} is not valid JSON: {exc.msg} (line {exc.lineno}, "
                       f"column {exc.colno}) [INVALID_JSON]") from None
    except RecursionError:
        raise BadInput(f"error: {name} is nested too deeply to be a household or a rule set "
                       "[INVALID_JSON]") from None
    except ValueError as exc:  # an integer of more than 4,300 digits
        what = "an integer with more than 4,300 digits" if "digits" in str(exc) else str(exc)
        raise BadInput(f"error: {name} is not usable JSON: {what} [INVALID_JSON]") from None


def load_rulesets(directory: str) -> Catalog:
    """The rule-set documents of ``directory`` as a catalog; a directory that is missing,
    empty of documents, or holds a document that does not load is ``BadInput`` naming it."""
    from policy.catalog import Catalog, VersionRecord
    from services.rulesets import document_files, load_file, version_id

    folder = Path(directory)
    if not folder.is_dir():
        raise BadInput(f"error: --rulesets {directory} is not a directory [BAD_RULESETS]")
    records = []
    try:
        paths = list(document_files(folder))
    except OSError as exc:
        raise BadInput(f"error: cannot read {directory}: {exc.strerror or exc} "
                       "[BAD_RULESETS]") from None
    for path in paths:
        try:
            program = load_file(path)
        except DocumentInvalid as exc:
            lines = [f"error: {path}: not a valid rule-set document [BAD_RULESETS]"]
            lines += [f"  {e.field}: {e.message} [{e.code}]" for e in exc.errors[:20]]
            raise BadInput("\n".join(lines)) from None
        except (OSError, UnicodeError, ValueError, RecursionError) as exc:
            raise BadInput(f"error: {path}: cannot be loaded ({type(exc).__name__}) "
                           "[BAD_RULESETS]") from None
        effective = program.document.effectiveFrom
        records.append(VersionRecord(version_id(program.code, program.document.version),
                                     program, "PUBLISHED" if effective else "DRAFT",
                                     effective))
    if not records:
        raise BadInput(f"error: --rulesets {directory} holds no rule-set document "
                       "[BAD_RULESETS]")
    return Catalog(records)


def database_catalog(url: str) -> Catalog:
    """The versions published in the database at ``url`` (as the API serves them); a
    database that cannot be read is ``BadInput`` naming it (never its password)."""
    from sqlalchemy.exc import SQLAlchemyError

    from services.application import Application
    from services.config import Settings

    try:
        app = Application(Settings(database_url=url))
        try:
            return app.catalog()
        finally:
            app.engine.dispose()
    except (SQLAlchemyError, OSError) as exc:
        raise BadInput(f"error: cannot read the rule sets of {_safe_url(url)}: "
                       f"{type(exc).__name__} (is it a policy-engine database, migrated?) "
                       "[BAD_DATABASE]") from None


def _catalog(args: argparse.Namespace) -> Catalog:
    """``--database [URL]``: the versions published in the database (URL, or DATABASE_URL
    without one); otherwise the rule-set documents of ``--rulesets``."""
    if args.database is not None:
        return database_catalog(args.database or _database_url(argparse.Namespace(
            database_url=None)))
    return load_rulesets(args.rulesets)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from engine.determine import determine
    from engine.results import determination_json
    from policy.catalog import UnknownProgram

    data = read_json(args.file, args.encoding)
    catalog = _catalog(args)
    try:
        versions = catalog.in_force(args.as_of, args.program or None)
        det = determine(data, args.as_of, versions)
    except UnknownProgram as exc:
        return _fail(f"error: {exc} [UNKNOWN_PROGRAM]")
    except FactsInvalid as exc:
        from policy.messages import chinese

        # Chinese first (the API's text for the code), then the English message's details;
        # _fail puts the header's Chinese line before it.
        lines = [f"error: {args.file}: invalid household facts [INVALID_FACTS]"]
        lines += [f"  {e.field}: {chinese(e.code, e.params)} / {e.message} [{e.code}]"
                  for e in exc.errors]
        return _fail("\n".join(lines))
    if args.explain is None and (args.member is not None or args.depth is not None):
        return _fail("error: --member and --depth apply to one item's explanation; give "
                     "--explain CODE with them [BAD_ARGUMENT]")
    if args.explain is not None and args.format == "json":
        return _fail("error: --explain prints one item's explanation as text; --format json "
                     "prints the whole Determination, trees included: give one of them "
                     "[BAD_ARGUMENT]")
    if args.format == "json":
        json.dump(determination_json(det, args.lang, what_would_change=True,
                                     term_labels=True), sys.stdout,
                  ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    return _print_readable(args, det, versions)


def _print_readable(args: argparse.Namespace, det: Any, versions: Any) -> int:
    from cli.summary import explain, explained, outcome_codes, summary
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
        if args.member is not None and not explained(det, args.explain, args.member):
            # The member's id is not repeated: ids stay out of error messages.
            per_member = any(o.member_id for o in explained(det, args.explain))
            return _fail(f"error: item {args.explain!r} has no outcome for the member given "
                         "with --member; " + (
                             "check the member's id in the household file" if per_member
                             else "the item is about the household: leave --member out")
                         + " [UNKNOWN_MEMBER]")
        depth = 1 if args.depth is None else (None if args.depth < 0 else args.depth)
        sys.stdout.write(explain(det, args.explain, args.lang, depth, args.member, statuses))
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
        except (UnicodeError, ValueError, RecursionError) as exc:
            status = max(status, _fail(f"error: {name} cannot be loaded: "
                                       f"{type(exc).__name__} (a rule-set document is UTF-8 "
                                       "YAML or JSON) [INVALID_DOCUMENT]"))
            continue
        except DocumentInvalid as exc:
            from policy.messages import chinese

            lines = [f"error: {name}: invalid rule-set document [INVALID_DOCUMENT]"]
            lines += [f"  {e.field}: {chinese(e.code)} / {e.message} [{e.code}]"
                      for e in _every_problem(path, exc.errors)]
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


def _every_problem(path: Path, found: list[Any]) -> list[Any]:
    """Every error of an invalid document, in one pass: static validation checks the
    conditions even when the document's shape is wrong somewhere else (a missing citation),
    and names an unknown name once."""
    import yaml

    from policy.validation import errors, validate_data

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, yaml.YAMLError):
        return found
    if not isinstance(data, dict):
        return found
    issues = errors(validate_data(data))
    return issues or found


def cmd_diff(args: argparse.Namespace) -> int:
    from policy.diff import diff_documents
    from policy.document import load_document

    docs = []
    for name in (args.a, args.b):
        try:
            docs.append(load_document(read_text(name, args.encoding)))
        except DocumentInvalid as exc:
            from policy.messages import chinese

            lines = [f"error: {name}: invalid rule-set document [INVALID_DOCUMENT]"]
            lines += [f"  {e.field}: {chinese(e.code)} / {e.message} [{e.code}]"
                      for e in exc.errors]
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
    from graphql_api.observability import configure_logging
    from services.application import Application
    from services.config import Settings

    if args.workers < 1:
        return _fail("error: --workers must be at least 1 [BAD_ARGUMENT]")
    settings = Settings()
    configure_logging(settings.log_level)
    # Migrations and the first seeding run once, here, before any worker starts: workers
    # started together must not race to create the same tables and rows.
    application = Application(settings)
    application.start()
    application.engine.dispose()
    shared = None
    if args.workers > 1:
        import shutil
        import tempfile

        from graphql_api import balance

        shared = tempfile.mkdtemp(prefix="policy-engine-workers-")
        # The workers spread kept-alive connections evenly, by counts in a file they all map.
        board = settings.worker_balance_file or os.path.join(shared, "connections")
        try:
            balance.create(board, args.workers)
        except OSError as exc:
            shutil.rmtree(shared, ignore_errors=True)
            return _fail(f"error: cannot write the workers' file {board} "
                         f"(POLICY_ENGINE_WORKER_BALANCE_FILE): {exc.strerror or exc} "
                         "[IO_ERROR]")
        os.environ["POLICY_ENGINE_WORKER_BALANCE_FILE"] = board
        # The workers count each token's requests together, in a file they all map.
        if settings.rate_limit_per_minute > 0 and not settings.rate_limit_file:
            os.environ["POLICY_ENGINE_RATE_LIMIT_FILE"] = os.path.join(shared, "rate-limits")
    print(f"policy-engine: serving on http://{args.host}:{args.port}/graphql "
          f"(env {settings.env}, {args.workers} worker(s), database "
          f"{_safe_url(settings.database_url)})", file=sys.stderr)
    # Each worker process builds its app (graphql_api.app.served_app) from the environment.
    try:
        uvicorn.run("graphql_api.app:served_app", factory=True, host=args.host, port=args.port,
                    workers=args.workers, http="graphql_api.protocol:TimedHttpToolsProtocol",
                    timeout_keep_alive=settings.idle_timeout_seconds, log_level="warning",
                    timeout_graceful_shutdown=10, access_log=False)
    finally:
        if shared is not None:
            shutil.rmtree(shared, ignore_errors=True)
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _app() -> Any:
    """The application on ``DATABASE_URL``, migrated (and seeded when empty)."""
    from services.application import Application
    from services.config import Settings

    app = Application(Settings())
    app.start()
    return app


def _expiry(text: str) -> datetime:
    """``--expires``: a date (the token stops working at 00:00 UTC that day) or an ISO date
    and time with a zone."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"应为日期（2027-01-01）或带时区的日期时间（2027-01-01T08:00:00+08:00），实为 "
            f"{text!r}。 expected a date (2027-01-01) or a date and time with a zone "
            f"(2027-01-01T08:00:00+08:00), got {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} 没有时区（请加上 Z 或 +08:00）。 {text!r} has "
                                         "no time zone (add Z or +08:00)")
    return moment


def cmd_token_create(args: argparse.Namespace) -> int:
    from services.errors import InvalidInput
    from services.tokens import Tokens

    app = _app()
    try:
        token = Tokens(app).create(role=args.role, name=args.name, regions=args.region or [],
                                   department=args.department, expires_at=args.expires)
    except InvalidInput as exc:
        return _fail("\n".join(f"error: --{e.field}: {e.message} [{e.code}]"
                                for e in exc.errors))
    print(token)
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    from services.tokens import Tokens

    views = Tokens(_app()).list(include_inactive=args.all)
    if args.json:
        json.dump([{"id": v.id, "userId": v.user_id, "login": v.login, "role": v.role,
                    "regions": list(v.regions), "department": v.department,
                    "createdAt": v.created_at.isoformat(),
                    "expiresAt": v.expires_at.isoformat() if v.expires_at else None,
                    "revokedAt": v.revoked_at.isoformat() if v.revoked_at else None}
                   for v in views], sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    print("id\tlogin\trole\tdepartment\tregions\tcreated\texpires\trevoked")
    for v in views:
        print("\t".join([v.id, v.login, v.role, v.department or "-",
                         ",".join(v.regions) or "-", v.created_at.isoformat(timespec="seconds"),
                         v.expires_at.isoformat(timespec="seconds") if v.expires_at else "-",
                         v.revoked_at.isoformat(timespec="seconds") if v.revoked_at else "-"]))
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from services.errors import NotFoundError
    from services.tokens import Tokens

    try:
        view = Tokens(_app()).revoke(args.id, reason=args.reason)
    except NotFoundError as exc:
        return _fail(f"error: {exc.message} [NOT_FOUND]")
    print(f"revoked {view.id} ({view.login}, {view.role}) at "
          f"{view.revoked_at.isoformat() if view.revoked_at else '?'}")
    return 0


def cmd_jobs_purge(args: argparse.Namespace) -> int:
    """Delete impact preview jobs (and their reports) finished more than N days ago."""
    from services.impact_jobs import purge_jobs

    if not args.older_than >= 0:
        return _fail("error: --older-than must be a number of days, 0 or more [BAD_ARGUMENT]")
    count = purge_jobs(_app(), args.older_than)
    print(f"deleted {count} impact preview job(s) finished more than {args.older_than:g} "
          "day(s) ago")
    return 0


def _database_url(args: argparse.Namespace) -> str:
    from services.config import Settings

    return str(args.database_url or Settings().database_url)


def _anchor(text: str) -> tuple[int, str]:
    entry, _, digest = text.partition(":")
    if not entry.isdigit() or len(digest) != 64:
        raise argparse.ArgumentTypeError(
            f"应为 ENTRY_ID:SHA256（即 verify 输出的链头），实为 {text!r}。 expected "
            f"ENTRY_ID:SHA256 (as verify prints the head), got {text!r}")
    return int(entry), digest.lower()


def cmd_verify(args: argparse.Namespace) -> int:
    """Check the whole store for tampering; exit 1 when anything is found."""
    from store.db import make_engine
    from store.verify import verify_store

    engine = make_engine(_database_url(args))
    try:
        report = verify_store(engine, args.anchor or ())
    finally:
        engine.dispose()
    if args.json:
        json.dump({"ok": report.ok, "auditEntries": report.audit_entries,
                   "head": {"id": report.head_id, "hash": report.head_hash},
                   "versions": report.versions, "determinations": report.determinations,
                   "households": report.households,
                   "findings": [{"kind": f.kind, "object": f.object, "message": f.message}
                                for f in report.findings]},
                  sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"audit log: {report.audit_entries} entries, head {report.head_id}:"
              f"{report.head_hash} (keep it; check it later with --anchor)")
        print(f"checked {report.versions} rule-set versions, {report.determinations} "
              f"determinations, {report.households} households")
        for f in report.findings:
            print(f"TAMPERED {f.kind}: {f.object}: {f.message}")
        print("ok: no sign of tampering" if report.ok
              else f"FAILED: {len(report.findings)} finding(s)")
    return 0 if report.ok else 1


def cmd_migrate(args: argparse.Namespace) -> int:
    """Upgrade the database (as the tables' owner) and, on PostgreSQL, grant the service's
    role what it needs."""
    from store.db import make_engine, migrate
    from store.protections import grant_service_role

    engine = make_engine(_database_url(args))
    try:
        if args.grant_to and engine.dialect.name != "postgresql":
            return _fail("error: --grant-to is for PostgreSQL (SQLite has no roles)")
        migrate(engine)
        print(f"migrated {_safe_url(_database_url(args))} to the newest revision")
        if args.grant_to:
            try:
                with engine.begin() as connection:
                    grant_service_role(connection, args.grant_to)
            except ValueError as exc:
                return _fail(f"error: {exc}")
            print(f"granted the service role {args.grant_to}")
    finally:
        engine.dispose()
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """Print the audit log, newest first, filtered (an operator's read: no token needed,
    only the database)."""
    from services.audit import AuditFilter, AuditReader
    from services.errors import InvalidInput

    object_type, _, object_id = (args.object or "").rpartition(":")
    where = AuditFilter(actor=args.actor, object_type=object_type or None,
                        object_id=object_id or None, action=args.action, since=args.since,
                        until=args.until)
    reader = AuditReader(_app())
    rows, after, left = [], None, args.limit
    try:
        while left > 0:
            page = reader.page(None, min(left, 500), after, where)
            rows.extend(page.entries)
            left -= len(page.entries)
            if not page.has_next_page:
                break
            after = page.end_cursor
    except InvalidInput as exc:
        return _fail("\n".join(f"error: {e.field}: {e.message} [{e.code}]" for e in exc.errors))
    if args.json:
        json.dump([{"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                    "objectType": e.object_type, "objectId": e.object_id,
                    "details": e.details, "entryHash": e.entry_hash} for e in rows],
                  sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    for e in rows:
        details = json.dumps(e.details, ensure_ascii=False, sort_keys=True)
        print(f"{e.id}\t{e.at.isoformat(timespec='seconds')}\t{e.actor}\t{e.action}\t"
              f"{e.object_type}:{e.object_id}\t{details}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """A stored version as a YAML document that ``validate`` accepts and that hashes to the
    version's contentHash."""
    from sqlalchemy.exc import SQLAlchemyError

    from policy.document import content_hash, document_yaml, load_document
    from services.application import Application
    from services.config import Settings
    from store.errors import RowNotFound

    url = _database_url(args)
    app = Application(Settings(database_url=url))
    try:
        with app.uow() as uow:
            version = uow.rule_sets.get_version(args.version_id)
            document = load_document(dict(version.document))
            effective = version.effective_from
            stored_hash = version.content_hash
    except RowNotFound:
        return _fail(f"error: no rule-set version {args.version_id!r} in {_safe_url(url)} "
                     "[NOT_FOUND]")
    except (SQLAlchemyError, OSError) as exc:
        return _fail(f"error: cannot read {_safe_url(url)}: {type(exc).__name__} "
                     "[BAD_DATABASE]")
    finally:
        app.engine.dispose()
    if content_hash(document) != stored_hash:
        return _fail(f"error: {args.version_id}'s stored document no longer hashes to its "
                     f"contentHash {stored_hash}; run policy-engine verify [VERSION_INTEGRITY]")
    text = document_yaml(document, effective)
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            return _fail(f"error: cannot write {args.out}: {exc.strerror or exc} [IO_ERROR]")
        print(f"{args.out}: {args.version_id}, contentHash {stored_hash}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_export_schema(args: argparse.Namespace) -> int:
    from graphql_api.schema import export_schema

    sys.stdout.write(export_schema())
    return 0


def cmd_export_docs(args: argparse.Namespace) -> int:
    from services.reference import fact_reference, policy_reference
    from services.rulesets import load_catalog

    render = fact_reference if args.document == "facts" else policy_reference
    sys.stdout.write(render(load_catalog()))
    return 0


def cmd_screen(args: argparse.Namespace) -> int:
    """Batch screening of a register (CSV, JSON Lines or Parquet) with the vectorised backend
    (or on Apache Spark with ``--backend spark``)."""
    from screening.allocator import (
        collections_paused,
        keep_freed_memory,
        skip_final_collection,
    )

    keep_freed_memory()  # before polars and pyarrow are loaded
    skip_final_collection()
    with collections_paused() as started:  # the start's objects live to the end
        return _screen(args, started)


def _screen(args: argparse.Namespace, started: Callable[[], None]) -> int:
    from engine.batch.layout import LayoutError
    from engine.batch.table import ALL_STATUSES, DEFAULT_STATUSES
    from policy.catalog import UnknownProgram
    from policy.document import outcome_titles
    from screening.console import print_summary, progress_bar
    from screening.sources import detect_format
    from screening.writers import output_format

    # GRANTED and UNDETERMINED rows unless asked (docs/decisions/0010-screening-output.md)
    statuses = DEFAULT_STATUSES
    if args.status and "all" in args.status:
        statuses = ALL_STATUSES
    elif args.status:
        statuses = frozenset(s.upper() for s in args.status)
        unknown = sorted(statuses - ALL_STATUSES)
        if unknown:
            return _fail(f"error: unknown status {', '.join(unknown)}; one of GRANTED, "
                         "NOT_GRANTED, UNDETERMINED or all [BAD_ARGUMENT]")
    if args.chunk_size is not None and args.chunk_size < 1:
        return _fail("error: --chunk-size must be at least 1 [BAD_ARGUMENT]")
    try:
        input_format = detect_format(args.input, args.format)
        out_format = output_format(args.out, args.out_format)
    except ValueError as exc:
        return _fail(f"error: {exc} [BAD_ARGUMENT]")
    # Every outcome to CSV or a workbook is wide unless asked
    # (docs/decisions/0012-wide-outcome-layout.md).
    from screening.runner import check_layout, default_chunk_rows, default_layout

    layout = args.layout or ("long" if args.backend == "spark"
                             else default_layout(out_format, statuses))
    try:
        check_layout(layout, statuses)
    except ValueError as exc:
        return _fail(f"error: {exc} [BAD_ARGUMENT]")
    if layout == "wide" and args.order:
        return _fail("error: --order is for the long layout; the wide layout has a row per "
                     "household and per member, in the register's order [BAD_ARGUMENT]")
    if args.chunk_size is None:
        args.chunk_size = default_chunk_rows(statuses, layout)
    try:
        catalog = _catalog(args)
        versions = catalog.in_force(args.as_of, args.program or None)
    except UnknownProgram as exc:
        return _fail(f"error: {exc} [UNKNOWN_PROGRAM]")
    if not versions:
        return _fail(f"error: no program has a version in force on {args.as_of.isoformat()} "
                     "[NO_VERSION_IN_FORCE]")
    if args.backend == "spark":
        if layout == "wide":
            return _fail("error: the wide layout is written by the local backend; give "
                         "--layout long (Spark writes a row per outcome) [BAD_ARGUMENT]")
        if args.order:
            return _fail("error: --order is for the local backend; Spark writes each "
                         "household's rows together [BAD_ARGUMENT]")
        from screening.spark import SparkUnavailable, screen_with_spark

        started()
        try:
            summary = screen_with_spark(
                args.input, args.out, args.as_of, versions, statuses=statuses,
                terms=args.terms, input_format=input_format, master=args.spark_master,
                partitions=args.partitions, compression=args.compression)
        except SparkUnavailable as exc:
            return _fail(f"error: {exc} [SPARK_UNAVAILABLE]")
        except LayoutError as exc:
            return _fail(f"error: {args.input}: {exc} [BAD_LAYOUT]")
        print_summary(summary, outcome_titles(p for p, _ in versions))
        return 0

    from pyarrow.lib import ArrowInvalid  # type: ignore[import-untyped]

    from screening.runner import screen_file
    from screening.sources import RegisterEncodingError, open_source

    try:
        source = open_source(args.input, input_format, args.chunk_size, args.encoding)
    except LayoutError as exc:
        return _fail(f"error: {args.input}: {exc} [BAD_LAYOUT]")
    except LookupError:
        return _fail(f"error: unknown encoding {args.encoding!r} [BAD_ENCODING]")
    except UnicodeDecodeError:
        wide = _wide_unicode(args.input)
        if wide is not None:  # a register is read a line at a time, as bytes ending in 0x0A
            return _fail(f"错误：登记表保存为 {wide} 编码，请另存为 CSV UTF-8（或 GB18030）后"
                         "重新筛查（BAD_ENCODING）\n"
                         f"error: {args.input} is saved as {wide}: save the register as CSV "
                         "UTF-8 (or GB18030) and screen it again [BAD_ENCODING]")
        return _fail(f"error: {args.input}'s header is not valid {args.encoding or 'UTF-8'}"
                     f"{_GB_HINT if not args.encoding else ''} [BAD_ENCODING]")
    except OSError as exc:
        return _fail(f"error: cannot read {args.input}: {exc.strerror or exc} [CANNOT_READ]")
    except Exception as exc:  # an unreadable file, reported without a traceback
        return _fail(f"error: cannot read {args.input}: {exc} [CANNOT_READ]")
    hook, stop = progress_bar(source, enabled=not args.no_progress)
    started()
    try:
        summary = screen_file(
            args.input, args.out, args.as_of, versions, statuses=statuses,
            errors_path=args.errors, output_format_=out_format, source=source,
            on_progress=hook, terms=args.terms, compression=args.compression,
            order=args.order, layout=layout)
    except OSError as exc:
        return _fail(f"error: {exc.filename or ''}: {exc.strerror or exc} [IO_ERROR]")
    except LayoutError as exc:
        return _fail(f"error: {args.input}: {exc} [BAD_LAYOUT]")
    except ArrowInvalid as exc:  # a cell that is not in the encoding, mid-file
        hint = _GB_HINT if "UTF8" in str(exc) and not args.encoding else ""
        return _cut_short(args.input, f"{exc}{hint}")
    except RegisterEncodingError as exc:  # a GB18030/GBK register's line, mid-file
        return _cut_short(args.input, str(exc))
    except UnicodeDecodeError as exc:  # another encoding's, as Arrow's reader decodes it
        return _cut_short(args.input, f"it is not valid {(args.encoding or 'UTF-8').upper()} "
                          f"(byte 0x{bytes(exc.object[exc.start:exc.start + 1]).hex().upper()})")
    finally:
        stop()
    print_summary(summary, outcome_titles(p for p, _ in versions))
    return 0


def _cut_short(path: str, why: str) -> int:
    """A register that cannot be read past a point, mid-run: exit 2, saying why."""
    return _fail(f"error: {path} cannot be read past a point: {why}; the outcomes written so "
                 "far are incomplete [CANNOT_READ]")


_GB_HINT = ("; if it was saved as GB18030/GBK (as Chinese spreadsheets do), give "
            "--encoding gb18030")


def _wide_unicode(name: str) -> str | None:
    """"UTF-16" or "UTF-32" when the file begins with one of their byte-order marks."""
    try:
        with open(name, "rb") as f:
            head = f.read(4)
    except OSError:
        return None
    found = _bom_encoding(head)
    return found.upper() if found in ("utf-16", "utf-32") else None


def cmd_rescreen(args: argparse.Namespace) -> int:
    """Screen every stored household (DATABASE_URL) with the batch backend."""
    from screening.allocator import keep_freed_memory, skip_final_collection

    keep_freed_memory()  # before polars and pyarrow are loaded
    skip_final_collection()
    from engine.batch.table import ALL_STATUSES, DEFAULT_STATUSES
    from policy.catalog import UnknownProgram
    from screening.console import print_summary
    from services.application import Application
    from services.config import Settings
    from services.errors import ServiceError
    from services.rescreen import rescreen_stored

    statuses = DEFAULT_STATUSES
    if args.status and "all" in args.status:
        statuses = ALL_STATUSES
    elif args.status:
        statuses = frozenset(s.upper() for s in args.status)
        if statuses - ALL_STATUSES:
            return _fail(f"error: unknown status {', '.join(sorted(statuses - ALL_STATUSES))}"
                         " [BAD_ARGUMENT]")
    from screening.runner import check_layout, default_layout
    from screening.writers import output_format

    try:
        layout = args.layout or default_layout(output_format(args.out), statuses)
        check_layout(layout, statuses)
    except ValueError as exc:
        return _fail(f"error: {exc} [BAD_ARGUMENT]")
    app = Application(Settings())
    app.start()
    try:
        summary = rescreen_stored(app, args.as_of, args.out, programs=args.program or None,
                                  statuses=statuses, region_codes=args.region or None,
                                  layout=layout)
    except UnknownProgram as exc:
        return _fail(f"error: {exc} [UNKNOWN_PROGRAM]")
    except ServiceError as exc:
        return _fail(f"error: {exc.message} [{exc.code}]")
    except OSError as exc:
        return _fail(f"error: {exc.filename or ''}: {exc.strerror or exc} [IO_ERROR]")
    # The titles of the versions screened, as the summary names them.
    print_summary(summary, app.catalog().outcome_titles(
        v["contentHash"] for v in summary["versions"]))
    return 0


# Help texts: Chinese ending with "。", a space, then the English (cli.bilingual).
ENCODING_HELP = ("输入文件没有字节顺序标记（BOM）时的文字编码，例如中文电子表格导出的 gb18030（含 "
                 "GBK）；默认 UTF-8。 the input's encoding when it has no byte-order mark, e.g. "
                 "gb18030 (GBK included) as Chinese spreadsheets export; default UTF-8")
AS_OF_HELP = "评估日期（YYYY-MM-DD）。 the date to evaluate on (YYYY-MM-DD)"
PROGRAM_HELP = "只评估该项目（可重复）。 restrict to a program (repeatable)"
RULESETS_HELP = "规则集文档所在目录。 directory of rule-set documents"
OUT_HELP = "结果表：.csv、.parquet 或 .xlsx。 outcome table: .csv, .parquet or .xlsx"
JSON_HELP = "以 JSON 输出。 print as JSON"
SUBCOMMAND_HELP = "子命令。 the subcommand"


def _database_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database", nargs="?", const="", metavar="URL",
                   help="使用该数据库中已发布的版本（URL；未给出时用 DATABASE_URL）代替 "
                   "--rulesets，与 API 相同。 use the versions published in this database (URL; "
                   "DATABASE_URL when none is given) instead of --rulesets, as the API does")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every ``policy-engine`` command (each help text in Chinese and
    English)."""
    parser = Parser(
        prog="policy-engine",
        description="防止返贫监测与帮扶政策引擎：以规则即代码判定帮扶政策资格。 Rules-as-code "
        "eligibility engine.",
    )
    sub = parser.add_subparsers(dest="command", required=True,
                                help="要执行的命令。 the command to run")

    p = sub.add_parser("evaluate", help="评估一个家庭 JSON 文件：按项目输出汇总表，输出某一项的解释"
                       "（--explain），或以 JSON 输出评估结果 Determination（--format json）。 "
                       "evaluate a household JSON file: a summary table per program, one item's "
                       "explanation (--explain), or the Determination as JSON (--format json)")
    p.add_argument("file", help="家庭 JSON 文件。 the household JSON file")
    p.add_argument("--as-of", required=True, type=_date, dest="as_of", help=AS_OF_HELP)
    p.add_argument("--program", action="append", help=PROGRAM_HELP)
    add_lang(p)
    p.add_argument("--format", choices=["text", "json"], default="text",
                   help="text：每个项目一张表（默认）；json：含全部字段的评估结果 Determination，"
                   "与选择全部字段的 GraphQL 查询的 data.evaluate 相同。 text: a table per program "
                   "(default); json: the Determination with every field, as data.evaluate of a "
                   "GraphQL query selecting every field")
    p.add_argument("--status", action="append", metavar="STATUS",
                   help="只显示该状态的项（GRANTED 符合、NOT_GRANTED 不符合、UNDETERMINED 待定；"
                   "可重复），用于汇总表或 --explain。 show only items with this status (GRANTED, "
                   "NOT_GRANTED, UNDETERMINED; repeatable), in the table or with --explain")
    p.add_argument("--explain", metavar="CODE",
                   help="某一项的解释：以树形列出其条件，以及哪些变化会改变结果，例如 --explain "
                   "education.compulsory_living_subsidy。 one item's explanation: its conditions "
                   "as a tree and what would change the answer, e.g. --explain "
                   "education.compulsory_living_subsidy")
    p.add_argument("--member", help="与 --explain 同用：只看该成员的结果。 with --explain: only "
                   "this member's outcome")
    p.add_argument("--depth", type=int, default=None,
                   help="与 --explain 同用：派生事实展开为其定义的层数（默认 1；-1 为全部展开）。 "
                   "with --explain: levels of derived facts opened into their definitions "
                   "(default 1; -1 for all)")
    p.add_argument("--rulesets", default=str(RULESETS), help=RULESETS_HELP)
    _database_option(p)
    p.add_argument("--encoding", help=ENCODING_HELP)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("validate", help="检查规则集文档并运行其测试用例。 check rule-set documents "
                       "and run their test cases")
    p.add_argument("files", nargs="+", help="要检查的规则集文档（一个或多个）。 the rule-set "
                   "documents to check (one or more)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "screen", help="按评估日期对照全部项目筛查一份家庭登记表（CSV、JSON Lines 或 Parquet），"
        "显示进度条；写出结果表（CSV、Parquet 或 .xlsx：每户每项结果一行；全部结果写为 CSV 或 "
        ".xlsx 时也可每户一行、每名成员一行）、错误文件和汇总。 screen a register (CSV, JSON "
        "Lines or Parquet) of households against every program as of a date, with a progress "
        "bar; writes the outcomes (CSV, Parquet or .xlsx: a row per household and outcome, or "
        "for every outcome to CSV or .xlsx a row per household and per member), an errors file "
        "and a summary")
    p.add_argument("input", help="登记表：.csv、.parquet 或 .xlsx（每名成员一行，见 "
                   "docs/screening.md），或 .jsonl（每行一个家庭 JSON）；.csv 和 .jsonl 可用 gzip "
                   "压缩（.csv.gz、.jsonl.gz）。 register: .csv, .parquet or .xlsx (one row per "
                   "member, see docs/screening.md) or .jsonl (one household JSON per line); a "
                   ".csv or .jsonl may be gzip-compressed (.csv.gz, .jsonl.gz)")
    p.add_argument("--as-of", required=True, type=_date, dest="as_of", help=AS_OF_HELP)
    p.add_argument("--out", required=True, help=OUT_HELP)
    p.add_argument("--program", action="append", help=PROGRAM_HELP)
    p.add_argument("--status", action="append", metavar="STATUS",
                   help="只写出该状态的结果（GRANTED、NOT_GRANTED、UNDETERMINED 或 all；可重复；"
                   "默认 GRANTED 和 UNDETERMINED）；汇总统计全部结果。 write only outcomes with "
                   "this status (GRANTED, NOT_GRANTED, UNDETERMINED, or all; repeatable; default "
                   "GRANTED and UNDETERMINED); the summary counts every outcome")
    p.add_argument("--terms", action="store_true",
                   help="增加条款列（例如医疗救助各档的 estimatedRelief，JSON 格式）。 "
                   "add the terms column (e.g. medical tiers' estimatedRelief, as JSON)")
    p.add_argument("--errors", help="错误文件（默认：OUT 改用 .errors.csv 后缀）。 errors file "
                   "(default: OUT with .errors.csv)")
    p.add_argument("--format", choices=["csv", "jsonl", "parquet", "xlsx"],
                   help="输入格式（默认：按文件名判断）。 input format (default: from the file "
                   "name)")
    p.add_argument("--out-format", choices=["csv", "parquet", "xlsx"], dest="out_format",
                   help="输出格式（默认：按文件名判断）。 output format (default: from the file "
                   "name)")
    p.add_argument("--compression", choices=["lz4", "zstd", "snappy", "none"], default="lz4",
                   help="Parquet 输出的压缩方式（默认 lz4；zstd 文件更小但写得较慢，none 文件更大"
                   "但稍快）。 Parquet output compression (default lz4; zstd writes smaller files "
                   "more slowly, none larger ones a little faster)")
    p.add_argument("--order", choices=["outcome", "household"],
                   help="结果行的顺序：outcome（每批的行按项目和结果代码分组；Parquet 的默认）或 "
                   "household（与 API 相同：家庭、项目、结果代码、成员；CSV 的默认）；仅限本地"
                   "后端。 order of the outcome rows: outcome (each chunk's rows grouped by "
                   "program and outcome code; the default for Parquet) or household (the "
                   "API's order: household, program, code, member; the default for CSV); "
                   "local backend")
    p.add_argument("--layout", choices=["long", "wide"],
                   help="结果表布局：long（每户每项结果一行）或 wide（全部结果：每户一行、每名成员"
                   "一行，每个结果代码一列）；--status all 写出 .csv 或 .xlsx 时默认 wide，否则"
                   "默认 long。 outcome table layout: long (a row per household and outcome) or "
                   "wide (every outcome: a row per household and per member, a column per "
                   "outcome code); default wide for --status all to .csv or .xlsx, else long")
    p.add_argument("--chunk-size", type=int, dest="chunk_size",
                   help="每次读取的行数（默认 400000；以 long 布局写出 NOT_GRANTED 结果时为 "
                   "100000）。 rows read at a time (default 400000; 100000 when NOT_GRANTED "
                   "outcomes are written in the long layout)")
    p.add_argument("--no-progress", action="store_true", dest="no_progress",
                   help="不显示进度条。 do not show the progress bar")
    p.add_argument("--backend", choices=["local", "spark"], default="local",
                   help="运行后端：local 本机（默认）或 spark（pyspark；见 docs/screening.md）。 "
                   "local (default) or spark (pyspark; see docs/screening.md)")
    p.add_argument("--spark-master", dest="spark_master",
                   help="--backend spark 时的 Spark master（默认：spark-submit 所设，否则 "
                   "local[*]）。 Spark master for --backend spark (default: spark-submit's, or "
                   "local[*])")
    p.add_argument("--partitions", type=int, help="Spark 分区数（默认：由 Spark 决定）。 Spark "
                   "partitions (default: Spark's)")
    p.add_argument("--rulesets", default=str(RULESETS), help=RULESETS_HELP)
    _database_option(p)
    p.add_argument("--encoding", help="输入文件没有字节顺序标记（BOM）时的文字编码，例如中文"
                   "电子表格导出的 gb18030（含 GBK）；默认 UTF-8（CSV 登记表）。 the input's "
                   "encoding when it has no byte-order mark, e.g. gb18030 (GBK included) as "
                   "Chinese spreadsheets export; default UTF-8 (CSV registers)")
    p.set_defaults(func=cmd_screen)

    p = sub.add_parser("diff", help="规则集文档 A 到文档 B 的变化（参数、定义、规则、测试用例）。 "
                       "what changed from rule-set document A to document B (parameters, "
                       "definitions, rules, test cases)")
    p.add_argument("a", metavar="A", help="规则集文档 A（变化前）。 rule-set document A (before)")
    p.add_argument("b", metavar="B", help="规则集文档 B（变化后）。 rule-set document B (after)")
    add_lang(p)
    p.add_argument("--json", action="store_true", help="以 JSON 输出结构化的差异。 print the "
                   "structured diff as JSON")
    p.add_argument("--encoding", help=ENCODING_HELP)
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("serve", help="运行 API（开发环境带 GraphiQL），默认使用 SQLite；设置 "
                       "DATABASE_URL 则使用 PostgreSQL。 run the API (GraphiQL in dev) on SQLite "
                       "by default; DATABASE_URL selects PostgreSQL")
    p.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1）。 the address "
                   "to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="监听端口（默认 8000）。 the port to "
                   "listen on (default 8000)")
    p.add_argument("--workers", type=int, default=1,
                   help="工作进程数（默认 1；例如每个 CPU 核一个）。 worker processes (default 1; "
                   "e.g. one per CPU core)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("token", help="API 令牌。 API tokens")
    tsub = p.add_subparsers(dest="token_command", required=True, help=SUBCOMMAND_HELP)
    t = tsub.add_parser("create", help="输出一个新的 bearer 令牌。 print a new bearer token")
    t.add_argument("--role", required=True, help="令牌的角色（例如 caseworker、policy_editor、"
                   "policy_approver、auditor、api_client）。 the token's role (e.g. caseworker, "
                   "policy_editor, policy_approver, auditor, api_client)")
    t.add_argument("--name", required=True, help="令牌的名称（使用者或客户端）。 the token's name "
                   "(its user or client)")
    t.add_argument("--region", action="append", help="行政区划代码（可重复）。 region code "
                   "(repeatable)")
    t.add_argument("--department", help="政策编辑所编辑、政策审批人所审批的规则集所属部门"
                   "（二者必填）。 the department whose rule sets a policy_editor edits or a "
                   "policy_approver approves (required for both)")
    t.add_argument("--expires", type=_expiry, help="到期时间：日期（当日 00:00 UTC）或带时区的 ISO "
                   "日期时间；默认不过期。 expiry: a date (00:00 UTC that day) or an ISO date and "
                   "time with a zone; default: none")
    t.set_defaults(func=cmd_token_create)
    t = tsub.add_parser("list", help="列出令牌（从不显示令牌本身）。 list tokens (never the tokens "
                        "themselves)")
    t.add_argument("--all", action="store_true", help="包括已吊销和已过期的令牌。 include revoked "
                   "and expired tokens")
    t.add_argument("--json", action="store_true", help=JSON_HELP)
    t.set_defaults(func=cmd_token_list)
    t = tsub.add_parser("revoke", help="吊销令牌：自其下一次请求起即被拒绝。 revoke a token: "
                        "refused from its next request on")
    t.add_argument("id", help="令牌编号（见 token list）。 the token's id (see token list)")
    t.add_argument("--reason", help="吊销原因（记入审计日志）。 why (kept in the audit log)")
    t.set_defaults(func=cmd_token_revoke)

    p = sub.add_parser("jobs", help="影响预览任务。 impact preview jobs")
    jsub = p.add_subparsers(dest="jobs_command", required=True, help=SUBCOMMAND_HELP)
    j = jsub.add_parser("purge", help="删除完成已超过 --older-than 天的任务及其报告（服务每次新建"
                        "任务时也会按 POLICY_ENGINE_IMPACT_JOB_RETENTION_DAYS 删除）。 delete the "
                        "jobs (and their reports) finished more than --older-than days ago (the "
                        "service also does on every new job, after "
                        "POLICY_ENGINE_IMPACT_JOB_RETENTION_DAYS)")
    j.add_argument("--older-than", type=float, required=True, metavar="DAYS",
                   help="删除完成已超过这么多天的任务。 delete the jobs finished more than this "
                   "many days ago")
    j.set_defaults(func=cmd_jobs_purge)

    p = sub.add_parser("rescreen", help="用批处理后端，按数据库中生效的版本重新筛查全部已存储的家庭"
                       "（DATABASE_URL）。 screen every stored household (DATABASE_URL) with the "
                       "batch backend, under the versions in force in the database")
    p.add_argument("--as-of", required=True, type=_date, dest="as_of", help=AS_OF_HELP)
    p.add_argument("--out", required=True, help=OUT_HELP)
    p.add_argument("--program", action="append", help=PROGRAM_HELP)
    p.add_argument("--status", action="append",
                   help="输出中只含这些状态（GRANTED、NOT_GRANTED、UNDETERMINED 或 all；默认 "
                   "GRANTED 和 UNDETERMINED）。 only these statuses in the output (GRANTED, "
                   "NOT_GRANTED, UNDETERMINED, or all; default GRANTED and UNDETERMINED)")
    p.add_argument("--region", action="append",
                   help="只含这些行政区划及其下辖村的家庭（371300 包括 371300-001；可重复）。 "
                   "only the households of these regions and of the villages below them "
                   "(371300 covers 371300-001; repeatable)")
    p.add_argument("--layout", choices=["long", "wide"],
                   help="结果表布局，同 screen（--status all 写出 .csv 或 .xlsx 时默认 wide，否则"
                   "默认 long）。 outcome table layout, as for screen (default wide for --status "
                   "all to .csv or .xlsx, else long)")
    p.set_defaults(func=cmd_rescreen)

    p = sub.add_parser("verify", help="检查整个存储是否被篡改（审计哈希链、内容哈希、已发布版本、"
                       "评估结果、事实历史、数据库触发器）；发现问题时退出码为 1。 check the whole "
                       "store for tampering (audit hash chain, content hashes, published "
                       "versions, determinations, fact history, the database's triggers); exit 1 "
                       "when anything is found")
    p.add_argument("--database-url", dest="database_url",
                   help="数据库 URL（默认：DATABASE_URL）。 the database's URL (default: "
                   "DATABASE_URL)")
    p.add_argument("--anchor", action="append", type=_anchor, metavar="ENTRY_ID:SHA256",
                   help="此前运行时保存的审计条目及其哈希（当时的链头）；可重复。 an audit entry "
                   "and hash kept from an earlier run (its head); repeatable")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("audit", help="输出审计日志，最新的在前（DATABASE_URL）。 print the audit "
                       "log, newest first (DATABASE_URL)")
    p.add_argument("--actor", help="登录名（该用户以任一角色所做的操作）或确切的操作者，例如 "
                   "policy_approver:ap-1。 a login (every role the user acted in) or an exact "
                   "actor such as policy_approver:ap-1")
    p.add_argument("--object", help="对象编号，或 类型:编号（例如 "
                   "rule_set_version:education-v4）。 ID, or TYPE:ID (e.g. "
                   "rule_set_version:education-v4)")
    p.add_argument("--action", help="操作，例如 ruleset.version.publish。 the action, e.g. "
                   "ruleset.version.publish")
    p.add_argument("--since", type=_date, help="自该日起（UTC）。 from this day (UTC)")
    p.add_argument("--until", type=_date, help="截至该日，含当日（UTC）。 up to and including "
                   "this day (UTC)")
    p.add_argument("--limit", type=int, default=100, help="最多列出的条目数（默认 100）。 entries "
                   "at most (default 100)")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("migrate", help="将数据库升级到最新的表结构（以表的所有者身份运行）；"
                       "--grant-to 授予服务的 PostgreSQL 角色所需的权限。 upgrade the database to "
                       "the newest schema (run as the tables' owner); --grant-to gives the "
                       "service's PostgreSQL role what it needs")
    p.add_argument("--database-url", dest="database_url",
                   help="表所有者的数据库 URL（默认：DATABASE_URL）。 the owner's URL (default: "
                   "DATABASE_URL)")
    p.add_argument("--grant-to", dest="grant_to", metavar="ROLE",
                   help="要授予所需权限的服务 PostgreSQL 角色。 the service's PostgreSQL role to "
                   "give what it needs")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("export", help="将已存储的规则集版本（DATABASE_URL）写为 validate 接受的 "
                       "YAML 文档，contentHash 不变。 write a stored rule-set version "
                       "(DATABASE_URL) as a YAML document that validate accepts, with the same "
                       "contentHash")
    p.add_argument("version_id", metavar="VERSION_ID", help="版本编号，例如 education-v4。 the "
                   "version's id, e.g. education-v4")
    p.add_argument("--database-url", "--database", dest="database_url",
                   help="数据库（默认：DATABASE_URL）。 the database (default: DATABASE_URL)")
    p.add_argument("--out", help="写入的文件（默认：标准输出）。 file to write (default: standard "
                   "output)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("export-schema", help="输出对外提供的 GraphQL 模式（SDL）。 print the "
                       "GraphQL schema (SDL) as served")
    p.set_defaults(func=cmd_export_schema)
    p = sub.add_parser("export-docs", help="输出由随附数据生成的参考文档：facts（docs/facts.md）或 "
                       "policy（docs/policy.md）。 print a reference generated from the shipped "
                       "data: facts (docs/facts.md) or policy (docs/policy.md)")
    p.add_argument("document", choices=("facts", "policy"),
                   help="要输出的参考文档：facts 事实目录或 policy 政策参考。 the "
                   "reference to print: facts or policy")
    p.set_defaults(func=cmd_export_docs)

    from cli.warning import add_commands

    add_commands(sub)  # events ingest / recorrelate, alerts list, webhook set
    from cli.cases import add_commands as add_case_commands

    add_case_commands(sub)  # cases list
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
    except BadInput as exc:
        return _fail(str(exc))
    return code


if __name__ == "__main__":
    sys.exit(main())
