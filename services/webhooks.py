"""Outgoing webhooks: alerts pushed to the systems of api_clients that hold no socket open.

An api_client's token may have one webhook (a URL and a shared secret). When an alert of the
webhook's regions is raised, a delivery is queued in the same transaction that raises it, so an
alert is never raised without its deliveries (at-least-once). A worker POSTs each delivery's
JSON body with ``X-Signature-256: sha256=<HMAC-SHA256 of the body with the secret, hex>``; a
receiver that does not answer 2xx is tried again after 1, 2, 4 ... times the backoff, up to
``webhook_max_attempts`` attempts, and every attempt is logged on the delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import select

from policy.errors import FieldError
from services.auth import in_region
from services.errors import InvalidInput, NotFoundError
from store.models import DeliveryStatus, Role, Webhook, WebhookDelivery, new_id

if TYPE_CHECKING:
    from services.application import Application
    from services.early_warning import AlertView
    from store.uow import UnitOfWork

SIGNATURE_HEADER = "X-Signature-256"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for a body: ``sha256=`` and the hex HMAC-SHA256.

    >>> sign("s", b"{}")
    'sha256=143ca8d517ba1b181025d732b1cf275d90104fca57bb02a565542978aa18c4b6'
    """
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class DeliveryView:
    id: str
    webhook_id: str
    alert_id: str
    status: str
    attempts: int
    log: tuple[dict[str, Any], ...]
    created_at: datetime
    delivered_at: datetime | None


class Webhooks:
    """Webhook registration, the delivery queue and its worker."""

    def __init__(self, app: Application):
        self.app = app
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- registration (the command line's ``webhook set``) ---------------------------------

    def register(self, token: str, url: str, *, actor: str = "system:cli") -> tuple[str, str]:
        """Set the webhook of an api_client token (by id or name): (webhook id, secret). The
        secret is shown once; the receiver checks each body's signature with it."""
        if not url.startswith(("http://", "https://")) or len(url) > 500:
            msg = "the URL must be http(s) and at most 500 characters"
            raise InvalidInput(msg, [FieldError("url", "INVALID_VALUE", msg)])
        with self.app.uow() as uow:
            record = next((t for t, _ in uow.tokens.list_tokens()
                           if t.id == token or t.name == token), None)
            if record is None:
                raise NotFoundError(f"no active token {token!r}")
            if record.role != Role.API_CLIENT:
                msg = "only an api_client token has a webhook"
                raise InvalidInput(msg, [FieldError("token", "INVALID_VALUE", msg)])
            secret = secrets.token_urlsafe(32)
            hook = uow.session.scalars(
                select(Webhook).where(Webhook.token_id == record.id)).one_or_none()
            if hook is None:
                hook = Webhook(id=new_id(), token_id=record.id, url=url, secret=secret,
                               regions=list(record.regions), created_at=uow.now())
                uow.session.add(hook)
            else:
                hook.url, hook.secret, hook.regions = url, secret, list(record.regions)
            uow.audit.append(actor=actor, action="webhook.set", object_type="webhook",
                             object_id=hook.id, details={"token": record.id})
            uow.commit()
            return hook.id, secret

    # -- the queue -------------------------------------------------------------------------

    def enqueue(self, uow: UnitOfWork, alerts: Sequence[AlertView]) -> int:
        """Queue each alert for every webhook whose regions cover it (in the caller's unit of
        work, so it commits with the alerts); the number of deliveries queued."""
        if not alerts:
            return 0
        all_hooks = self._hooks(uow)
        queued = 0
        for alert in alerts:
            queued += self._enqueue(uow, alert, all_hooks)
        return queued

    def _enqueue(self, uow: UnitOfWork, alert: AlertView, all_hooks: list[Webhook]) -> int:
        hooks = [h for h in all_hooks if in_region(alert.region_code, h.regions)]
        for hook in hooks:
            delivery_id = new_id()
            body = json.dumps({
                "type": "alert.raised", "deliveryId": delivery_id,
                "alert": {
                    "id": alert.id, "rule": alert.rule, "status": alert.status,
                    "householdId": alert.household_id, "regionCode": alert.region_code,
                    "memberId": alert.member_id, "title": alert.title_zh,
                    "raisedAt": alert.raised_at.isoformat(),
                    "suggestedFacts": [{"fact": f.fact, "value": f.value}
                                       for f in alert.suggested_facts],
                },
            }, ensure_ascii=False, sort_keys=True)
            uow.session.add(WebhookDelivery(
                id=delivery_id, webhook_id=hook.id, alert_id=alert.id, body=body,
                status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=uow.now(), log=[],
                created_at=uow.now()))
        return len(hooks)

    def _hooks(self, uow: UnitOfWork) -> list[Webhook]:
        # Few rows (one per api_client); read per correlation so a new webhook counts at once.
        return list(uow.session.scalars(select(Webhook)))

    def deliveries(self, alert_id: str | None = None) -> list[DeliveryView]:
        """The delivery log (of one alert, or all), oldest first."""
        with self.app.uow() as uow:
            query = select(WebhookDelivery)
            if alert_id is not None:
                query = query.where(WebhookDelivery.alert_id == alert_id)
            rows = uow.session.scalars(query.order_by(WebhookDelivery.created_at,
                                                      WebhookDelivery.id))
            return [DeliveryView(d.id, d.webhook_id, d.alert_id, DeliveryStatus(d.status).value,
                                 d.attempts, tuple(d.log), d.created_at, d.delivered_at)
                    for d in rows]

    def deliver_due(self, client: httpx.Client, limit: int = 100) -> int:
        """Try every delivery that is due once; the number tried."""
        settings = self.app.settings
        with self.app.uow() as uow:
            due = list(uow.session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.status == DeliveryStatus.PENDING,
                       WebhookDelivery.next_attempt_at <= uow.now())
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(limit)))
            hooks = {h.id: h for h in self._hooks(uow)}
            for d in due:
                hook = hooks[d.webhook_id]
                body = d.body.encode()
                d.attempts += 1
                started = time.perf_counter()
                entry: dict[str, Any] = {"attempt": d.attempts, "at": uow.now().isoformat()}
                try:
                    response = client.post(hook.url, content=body, headers={
                        "content-type": "application/json",
                        SIGNATURE_HEADER: sign(hook.secret, body),
                        "X-Delivery-Id": d.id, "X-Delivery-Attempt": str(d.attempts)},
                        timeout=settings.webhook_timeout_seconds)
                    entry["status"] = response.status_code
                    ok = 200 <= response.status_code < 300
                except httpx.HTTPError as exc:
                    entry["error"] = type(exc).__name__
                    ok = False
                entry["ms"] = round((time.perf_counter() - started) * 1000, 1)
                d.log = [*d.log, entry]
                if ok:
                    d.status = DeliveryStatus.DELIVERED
                    d.delivered_at = uow.now()
                elif d.attempts >= settings.webhook_max_attempts:
                    d.status = DeliveryStatus.FAILED
                else:
                    delay = settings.webhook_backoff_seconds * 2 ** (d.attempts - 1)
                    d.next_attempt_at = uow.now() + timedelta(seconds=delay)
            uow.commit()
            return len(due)

    def next_due_in(self) -> float | None:
        """Seconds until the next pending delivery is due (None: none pending)."""
        with self.app.uow() as uow:
            first = uow.session.scalars(
                select(WebhookDelivery.next_attempt_at)
                .where(WebhookDelivery.status == DeliveryStatus.PENDING)
                .order_by(WebhookDelivery.next_attempt_at).limit(1)).first()
            if first is None:
                return None
            return max(0.0, (first - uow.now()).total_seconds())

    # -- the worker ------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        """Run the delivery worker in a background thread (the server does, on start)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self.app.warning.on_deliveries = self.wake
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        with httpx.Client() as client:
            while not self._stop.is_set():
                try:
                    while self.deliver_due(client) and not self._stop.is_set():
                        pass
                    wait = self.next_due_in()
                except Exception:  # the worker outlives a database hiccup
                    wait = 1.0
                self._wake.wait(timeout=min(wait if wait is not None else 5.0, 5.0))
                self._wake.clear()
