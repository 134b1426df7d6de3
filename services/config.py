"""Configuration from the environment (pydantic-settings); nothing else reads os.environ."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POLICY_ENGINE_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "prod"
    database_url: str = Field(
        "sqlite:///./var/policy-engine.sqlite3",
        validation_alias=AliasChoices("DATABASE_URL", "POLICY_ENGINE_DATABASE_URL"),
    )
    seed_fixtures: bool = True  # load fixtures/ into an empty database on start
    # evaluate > programs > outcomes > reasons > condition is five levels, and a shipped rule's
    # condition tree is up to 15 levels deep with every derived fact opened (13 at the default
    # depth): a client must be able to select it whole.
    max_depth: int = 24
    max_aliases: int = 30
    max_tokens: int = 4000
    # field selections once fragments are expanded, and fragment spreads as written
    max_fields: int = 2000
    max_fragment_spreads: int = 100
    max_string_length: int = 10_000  # any string a request brings (none may hold a NUL)
    validation_seconds: float = 0.5  # graphql-core's validation of one document, at most
    max_page_size: int = 100
    max_batch_items: int = 500  # evaluateMany: households a call, at most
    # households a request may have whatWouldChange computed for, at most (evaluateMany's
    # items counted before it runs, every route while it runs): about 40 ms of CPU a household
    # when every outcome asks it
    max_what_if_items: int = 20
    determination_cache_size: int = 4096  # recent evaluate results kept (0: none)
    # serve: seconds between complete garbage collections (graphql_api/collector.py); 0: the
    # interpreter's default collector policy
    gc_complete_seconds: float = 600.0
    log_level: str = "INFO"
    # serve: threads that run GraphQL operations (per worker process); a request's head and
    # body must arrive within read_timeout_seconds; an idle connection closes after
    # idle_timeout_seconds
    threads: int = 8
    # serve: a query of one evaluate (no whatWouldChange) whose text was validated before runs
    # in the worker's event loop, in turn, not in a thread (graphql_api/turns.py)
    loop_queries: bool = True
    # Impact preview jobs (services/impact_jobs.py) finished more than this many days ago are
    # deleted with their reports when a new one starts (and by `policy-engine jobs purge`).
    impact_job_retention_days: float = 7.0
    # serve: start each worker's impact preview process with the worker when more households
    # are stored than a preview evaluates in-process (services/impact_pool.py), so that an
    # editor's first preview does not wait for it to start
    impact_process_at_start: bool = True
    read_timeout_seconds: float = 10.0
    idle_timeout_seconds: int = 5
    # Outgoing webhooks (services/webhooks.py): attempts per delivery, the first retry's delay
    # (doubled for each later one) and each request's timeout, in seconds.
    webhook_max_attempts: int = 8
    webhook_backoff_seconds: float = 2.0
    webhook_timeout_seconds: float = 10.0
    # Correlate events stored but not correlated (after a crash) when the service starts.
    correlate_on_start: bool = True
    # Monitoring cases' working days: a YAML file of public holidays and weekend days worked
    # (policy/workdays.py); unset: fixtures/procedure/calendar.yaml.
    holiday_calendar: str | None = None
    # Browsers on these origins may call /graphql (CORS); none by default. A JSON list, e.g. POLICY_ENGINE_CORS_ORIGINS='["https://console.example.gov.cn"]'.
    cors_origins: list[str] = Field(default_factory=list)
    # Requests a minute per token (anonymous callers: per client address), across the workers
    # of one server; 0: no limit. Over it: 429 with Retry-After.
    rate_limit_per_minute: int = 0
    # The file in which the workers of one server share their rate limits (memory-mapped);
    # `serve --workers N` (N > 1) makes one for its workers when this is unset. Unset with one
    # worker: the limits are kept in its memory.
    rate_limit_file: str | None = None
    # The file in which the workers of one server publish how many connections each holds, so
    # that a worker holding more than its share hands some back (graphql_api/balance.py);
    # `serve --workers N` (N > 1) makes one. Unset: connections stay where they were accepted.
    worker_balance_file: str | None = None
    # A JSON file {"<sha256 of the document>": "<document>", ...}: the registered (trusted)
    # operations. In prod, api_client tokens may then run only these (by text, or by hash as
    # extensions.persistedQuery.sha256Hash); other roles and dev are not restricted.
    trusted_operations_file: str | None = None
    # OpenTelemetry spans: "none" (the default: no spans), "console" (printed) or "otlp"
    # (needs opentelemetry-exporter-otlp; its own OTEL_EXPORTER_OTLP_* variables apply).
    # The traceparent header of a request is honoured whenever spans are made.
    tracing: Literal["none", "console", "otlp"] = "none"
    # With tracing on: the share of requests without a sampled traceparent's parent that get
    # a root span (chosen at random; 1: every request). A caller's sampled traceparent is
    # always honoured.
    tracing_root_ratio: float = Field(0.1, ge=0.0, le=1.0)
    # /metrics needs "Authorization: Bearer <metrics_token>" when set.
    metrics_token: str | None = None

    @property
    def dev(self) -> bool:
        return self.env == "dev"
